# pragma version ==0.4.3
"""
@title DevCollectible
@notice Minimal ERC-721 for the Tributary devnet. Anyone may mint. Transfer has three
        indexed parameters, so its logs carry four topics.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    tokenId: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    tokenId: indexed(uint256)

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

name: public(String[32])
symbol: public(String[8])
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
getApproved: public(HashMap[uint256, address])
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])
owners: HashMap[uint256, address]


@deploy
def __init__():
    self.name = "Devnet Collectible"
    self.symbol = "DEVC"


@view
@external
def supportsInterface(interface_id: bytes4) -> bool:
    return interface_id in [0x01ffc9a7, 0x80ac58cd]


@view
@external
def ownerOf(tokenId: uint256) -> address:
    owner: address = self.owners[tokenId]
    assert owner != empty(address), "nonexistent token"
    return owner


@external
def mint(receiver: address) -> uint256:
    """
    @notice Mints the next token id (ids start at 1) to `receiver`.
    """
    assert receiver != empty(address), "mint to the zero address"
    tokenId: uint256 = self.totalSupply + 1
    self.totalSupply = tokenId
    self.owners[tokenId] = receiver
    self.balanceOf[receiver] += 1
    log Transfer(sender=empty(address), receiver=receiver, tokenId=tokenId)
    return tokenId


@external
def approve(approved: address, tokenId: uint256):
    owner: address = self.owners[tokenId]
    assert owner == msg.sender or self.isApprovedForAll[owner][msg.sender], "not allowed"
    self.getApproved[tokenId] = approved
    log Approval(owner=owner, approved=approved, tokenId=tokenId)


@external
def setApprovalForAll(operator: address, approved: bool):
    self.isApprovedForAll[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def transferFrom(owner: address, receiver: address, tokenId: uint256):
    assert self.owners[tokenId] == owner, "wrong owner"
    assert receiver != empty(address), "transfer to the zero address"
    assert (msg.sender == owner or self.getApproved[tokenId] == msg.sender
            or self.isApprovedForAll[owner][msg.sender]), "not allowed"
    self.getApproved[tokenId] = empty(address)
    self.owners[tokenId] = receiver
    self.balanceOf[owner] -= 1
    self.balanceOf[receiver] += 1
    log Transfer(sender=owner, receiver=receiver, tokenId=tokenId)
