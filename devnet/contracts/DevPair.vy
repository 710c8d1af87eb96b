# pragma version ==0.4.3
"""
@title DevPair
@notice Emits Uniswap-V2-shaped events (Sync, then Swap, as a V2 pair does) without moving
        real tokens: `swap` only updates the virtual reserves.
"""

event Swap:
    sender: indexed(address)
    amount0In: uint256
    amount1In: uint256
    amount0Out: uint256
    amount1Out: uint256
    to: indexed(address)

event Sync:
    reserve0: uint112
    reserve1: uint112

token0: public(address)
token1: public(address)
reserve0: public(uint112)
reserve1: public(uint112)


@deploy
def __init__(token0: address, token1: address, reserve0: uint112, reserve1: uint112):
    self.token0 = token0
    self.token1 = token1
    self.reserve0 = reserve0
    self.reserve1 = reserve1


@external
def swap(amount0In: uint256, amount1In: uint256, amount0Out: uint256, amount1Out: uint256, to: address):
    assert amount0Out > 0 or amount1Out > 0, "insufficient output amount"
    r0: uint256 = convert(self.reserve0, uint256) + amount0In
    r1: uint256 = convert(self.reserve1, uint256) + amount1In
    assert amount0Out < r0 and amount1Out < r1, "insufficient liquidity"
    self.reserve0 = convert(r0 - amount0Out, uint112)
    self.reserve1 = convert(r1 - amount1Out, uint112)
    log Sync(reserve0=self.reserve0, reserve1=self.reserve1)
    log Swap(sender=msg.sender, amount0In=amount0In, amount1In=amount1In, amount0Out=amount0Out, amount1Out=amount1Out, to=to)
