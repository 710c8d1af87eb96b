# pragma version ==0.4.3
"""
@title DevToken
@notice ERC-20 for the Tributary devnet. Anyone may mint (it is a test chain).
        `batchTransfer` and `batchTransferN` emit many Transfer logs in one transaction.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

MAX_BATCH: constant(uint256) = 256

name: public(String[32])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__(supply: uint256):
    self.name = "Devnet Token"
    self.symbol = "DEV"
    self.decimals = 18
    self.totalSupply = supply
    self.balanceOf[msg.sender] = supply
    log Transfer(sender=empty(address), receiver=msg.sender, value=supply)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to the zero address"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert receiver != empty(address), "mint to the zero address"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def batchTransfer(recipients: DynArray[address, MAX_BATCH], amount: uint256) -> bool:
    """
    @notice Sends `amount` to each recipient: one Transfer log per recipient.
    """
    for receiver: address in recipients:
        self._transfer(msg.sender, receiver, amount)
    return True


@external
def batchTransferN(receiver: address, amount: uint256, n: uint256) -> bool:
    """
    @notice Sends `amount` to `receiver` `n` times: n Transfer logs in one transaction.
    """
    assert n <= MAX_BATCH, "n too large"
    for i: uint256 in range(n, bound=MAX_BATCH):
        self._transfer(msg.sender, receiver, amount)
    return True
