"""Contract deployment and the traffic generator.

Deployment is deterministic: account 0 (private key 0x…01) deploys DevToken (nonce 0),
DevCollectible (nonce 1) and DevPair (nonce 2) in block 1, then hands 10^28 token units to
accounts 1..9 with one batchTransfer (nonce 3).

The generator signs transactions from the ten funded accounts with a seeded RNG, so the same
sequence of calls yields the same transactions (and transaction hashes).
"""
from __future__ import annotations

import random
from typing import Callable, Iterable, Optional

from eth._utils.address import generate_contract_address
from eth_abi import encode

from .chain import TRANSFER_TOPIC, DevChain, BlockRecord, hx, load_artifact, parse_hex_bytes, selector

TOKEN_SUPPLY = 10**30
ACCOUNT_TOKENS = 10**28
PAIR_RESERVE = 10**24
TOKEN1_PLACEHOLDER = bytes.fromhex("ee" * 20)

SEL_TRANSFER = selector("transfer(address,uint256)")
SEL_BATCH = selector("batchTransfer(address[],uint256)")
SEL_MINT_NFT = selector("mint(address)")
SEL_NFT_TRANSFER = selector("transferFrom(address,address,uint256)")
SEL_SWAP = selector("swap(uint256,uint256,uint256,uint256,address)")

# kind -> weight
MIX = {
    "transfer": 30,
    "largeTransfer": 8,
    "batchTransfer": 17,
    "nftMint": 15,
    "nftTransfer": 12,
    "swap": 18,
}


class Contracts:
    def __init__(self, chain: DevChain) -> None:
        deployer = chain.accounts[0]
        self.token = generate_contract_address(deployer, 0)
        self.collectible = generate_contract_address(deployer, 1)
        self.pair = generate_contract_address(deployer, 2)

    def deploy_txs(self, chain: DevChain) -> list:
        token = load_artifact("DevToken")
        nft = load_artifact("DevCollectible")
        pair = load_artifact("DevPair")
        txs = [
            chain.sign(0, 0, b"", parse_hex_bytes(token["bytecode"]) + encode(["uint256"], [TOKEN_SUPPLY]), 2_000_000),
            chain.sign(0, 1, b"", parse_hex_bytes(nft["bytecode"]), 2_000_000),
            chain.sign(0, 2, b"", parse_hex_bytes(pair["bytecode"]) + encode(
                ["address", "address", "uint112", "uint112"],
                [self.token, TOKEN1_PLACEHOLDER, PAIR_RESERVE, PAIR_RESERVE]), 2_000_000),
            chain.sign(0, 3, self.token, SEL_BATCH + encode(
                ["address[]", "uint256"], [chain.accounts[1:], ACCOUNT_TOKENS]), 1_000_000),
        ]
        return txs

    def describe(self, deploy_block: int) -> dict:
        return {
            "erc20": {"address": hx(self.token), "name": "DevToken", "block": deploy_block,
                      "artifact": "devnet/contracts/build/DevToken.json"},
            "erc721": {"address": hx(self.collectible), "name": "DevCollectible", "block": deploy_block,
                       "artifact": "devnet/contracts/build/DevCollectible.json"},
            "pair": {"address": hx(self.pair), "name": "DevPair", "block": deploy_block,
                     "artifact": "devnet/contracts/build/DevPair.json"},
        }


class Traffic:
    def __init__(self, chain: DevChain, contracts: Contracts, seed: int = 20261124) -> None:
        self.chain = chain
        self.contracts = contracts
        self.rng = random.Random(seed)
        self.kinds = list(MIX)
        self.weights = [MIX[k] for k in self.kinds]
        self.account_index = {a: i for i, a in enumerate(chain.accounts)}
        self.nft_owned: dict[int, list[int]] = {i: [] for i in range(len(chain.accounts))}
        self.counts: dict[str, int] = {k: 0 for k in self.kinds}
        self._nft_hex = hx(contracts.collectible)

    # -- the ERC-721 ownership model (only what the generator needs to transfer tokens) ---

    def rebuild(self, records: Iterable[BlockRecord]) -> None:
        self.nft_owned = {i: [] for i in range(len(self.chain.accounts))}
        owners: dict[int, int] = {}
        for rec in records:
            self._apply(rec, owners)
        for token_id, idx in owners.items():
            self.nft_owned[idx].append(token_id)
        for tokens in self.nft_owned.values():
            tokens.sort()

    def observe(self, rec: BlockRecord) -> None:
        owners: dict[int, int] = {}
        removed = self._apply(rec, owners)
        for token_id in removed:
            for tokens in self.nft_owned.values():
                if token_id in tokens:
                    tokens.remove(token_id)
        for token_id, idx in owners.items():
            for tokens in self.nft_owned.values():
                if token_id in tokens:
                    tokens.remove(token_id)
            self.nft_owned[idx].append(token_id)

    def _apply(self, rec: BlockRecord, owners: dict) -> set:
        removed = set()
        for log in rec.logs:
            if log["address"] != self._nft_hex or len(log["topics"]) != 4 or log["topics"][0] != TRANSFER_TOPIC:
                continue
            token_id = int(log["topics"][3], 16)
            receiver = bytes.fromhex(log["topics"][2][-40:])
            idx = self.account_index.get(receiver)
            if idx is None:
                owners.pop(token_id, None)
                removed.add(token_id)
            else:
                owners[token_id] = idx
        return removed

    # -- generation --------------------------------------------------------------------------

    def _recipient(self, exclude: int) -> bytes:
        if self.rng.random() < 0.7:
            idx = self.rng.randrange(len(self.chain.accounts) - 1)
            if idx >= exclude:
                idx += 1
            return self.chain.accounts[idx]
        return self.rng.getrandbits(160).to_bytes(20, "big")

    def generate(self, count: int, next_nonce: Callable[[bytes], int]) -> list:
        """Signs `count` transactions; nonces come from next_nonce(sender) (state + in-block)."""
        txs = []
        used: dict[int, int] = {}
        c = self.contracts
        for _ in range(count):
            kind = self.rng.choices(self.kinds, self.weights)[0]
            sender = self.rng.randrange(len(self.chain.accounts))
            if kind == "nftTransfer":
                holders = [i for i, toks in self.nft_owned.items() if toks]
                if holders:
                    sender = self.rng.choice(holders)
                else:
                    kind = "nftMint"
            addr = self.chain.accounts[sender]
            nonce = next_nonce(addr) + used.get(sender, 0)
            used[sender] = used.get(sender, 0) + 1
            if kind == "transfer":
                data = SEL_TRANSFER + encode(["address", "uint256"], [self._recipient(sender), self.rng.randint(1, 10**20)])
                to, gas = c.token, 90_000
            elif kind == "largeTransfer":
                data = SEL_TRANSFER + encode(["address", "uint256"], [self._recipient(sender), self.rng.randint(10**21 + 1, 5 * 10**22)])
                to, gas = c.token, 90_000
            elif kind == "batchTransfer":
                n = self.rng.randint(3, 8)
                recipients = [self._recipient(sender) for _ in range(n)]
                data = SEL_BATCH + encode(["address[]", "uint256"], [recipients, self.rng.randint(10**15, 10**18)])
                to, gas = c.token, 80_000 + 40_000 * n
            elif kind == "nftMint":
                receiver = self.rng.randrange(len(self.chain.accounts))
                data = SEL_MINT_NFT + encode(["address"], [self.chain.accounts[receiver]])
                to, gas = c.collectible, 150_000
            elif kind == "nftTransfer":
                tokens = self.nft_owned[sender]
                token_id = tokens.pop(self.rng.randrange(len(tokens)))
                data = SEL_NFT_TRANSFER + encode(["address", "address", "uint256"], [addr, self._recipient(sender), token_id])
                to, gas = c.collectible, 120_000
            else:  # swap
                amount_in = self.rng.randint(10**15, 10**20)
                amount_out = amount_in * 997 // 1000
                if self.rng.random() < 0.5:
                    args = [amount_in, 0, 0, amount_out]
                else:
                    args = [0, amount_in, amount_out, 0]
                data = SEL_SWAP + encode(["uint256"] * 4 + ["address"], args + [self._recipient(sender)])
                to, gas = c.pair, 120_000
            self.counts[kind] += 1
            txs.append(self.chain.sign(sender, nonce, to, data, gas))
        return txs
