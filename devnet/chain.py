"""The EVM side of the devnet: py-evm (set up through eth-tester) plus an in-memory index of
rendered blocks, transactions, receipts and logs.

Threading model: `DevChain` (the py-evm chain) is only touched by the server's single EVM worker
thread. It returns fully rendered `BlockRecord`s; the event-loop thread commits them to the
`ChainIndex` in one step (no awaits in between), so readers never see a half-applied reorg.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import rlp
from eth._utils.address import generate_contract_address
from eth.vm.spoof import SpoofTransaction
from eth_keys import keys as eth_keys
from eth_tester.backends.pyevm.main import (
    generate_genesis_state_for_keys,
    get_default_genesis_params,
    setup_tester_chain,
)
from eth_utils import function_signature_to_4byte_selector, keccak

ZERO_HASH = "0x" + "00" * 32
CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts" / "build"
GWEI = 10**9
ACCOUNT_COUNT = 10
MAX_FEE_PER_GAS = 100 * GWEI
MAX_PRIORITY_FEE_PER_GAS = 1 * GWEI


# ---------------------------------------------------------------------------------------------
# hex rendering (quantities without leading zeros, everything lowercase)

def q(n: int) -> str:
    return hex(n)


def hx(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def h32(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def bloom_hex(n: int) -> str:
    return "0x" + n.to_bytes(256, "big").hex()


def parse_hex_bytes(s: str) -> bytes:
    if not isinstance(s, str) or not s.startswith(("0x", "0X")):
        raise ValueError("hex string without 0x prefix")
    body = s[2:]
    if len(body) % 2:
        raise ValueError("hex string of odd length")
    return bytes.fromhex(body)


# ---------------------------------------------------------------------------------------------
# contracts

def load_artifact(name: str) -> dict:
    return json.loads((CONTRACTS_DIR / f"{name}.json").read_text())


def selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


def event_topic(signature: str) -> str:
    return hx(keccak(text=signature))


TRANSFER_TOPIC = event_topic("Transfer(address,address,uint256)")
APPROVAL_TOPIC = event_topic("Approval(address,address,uint256)")
SWAP_TOPIC = event_topic("Swap(address,uint256,uint256,uint256,uint256,address)")
SYNC_TOPIC = event_topic("Sync(uint112,uint112)")


# ---------------------------------------------------------------------------------------------
# records

@dataclass
class BlockRecord:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    block: dict  # rendered block without "transactions"
    txs: list  # rendered full transactions
    receipts: list
    logs: list  # block-wide, in order; each log dict has removed=False
    header_obj: Any = field(repr=False)  # py-evm header
    tx_objs: list = field(repr=False)  # py-evm signed transactions

    def rendered(self, full: bool) -> dict:
        out = dict(self.block)
        out["transactions"] = list(self.txs) if full else [t["hash"] for t in self.txs]
        return out

    def head_json(self) -> dict:
        """The header as geth sends it in newHeads notifications."""
        out = {k: v for k, v in self.block.items() if k not in ("size", "uncles", "withdrawals")}
        return out


class ChainIndex:
    """Canonical chain plus every block ever built (orphans stay reachable by hash)."""

    def __init__(self) -> None:
        self.canonical: list[BlockRecord] = []
        self.by_hash: dict[str, BlockRecord] = {}
        self.tx_loc: dict[str, tuple[BlockRecord, int]] = {}

    @property
    def head(self) -> BlockRecord:
        return self.canonical[-1]

    def extend(self, rec: BlockRecord) -> None:
        assert rec.number == len(self.canonical), (rec.number, len(self.canonical))
        assert rec.number == 0 or rec.parent_hash == self.head.hash
        self.canonical.append(rec)
        self.by_hash[rec.hash] = rec
        for i, tx in enumerate(rec.txs):
            self.tx_loc[tx["hash"]] = (rec, i)

    def reorg(self, fork_number: int, new_records: list[BlockRecord]) -> list[BlockRecord]:
        """Replaces canonical blocks above `fork_number`; returns the orphaned ones (old order)."""
        orphaned = self.canonical[fork_number + 1:]
        for rec in orphaned:
            for tx in rec.txs:
                loc = self.tx_loc.get(tx["hash"])
                if loc is not None and loc[0] is rec:
                    del self.tx_loc[tx["hash"]]
        del self.canonical[fork_number + 1:]
        for rec in new_records:
            self.extend(rec)
        return orphaned


# ---------------------------------------------------------------------------------------------
# the py-evm chain

class NonceError(Exception):
    pass


class DevChain:
    def __init__(self, chain_id: int, genesis_timestamp: Optional[int] = None) -> None:
        self.chain_id = chain_id
        self.keys = [eth_keys.PrivateKey(i.to_bytes(32, "big")) for i in range(1, ACCOUNT_COUNT + 1)]
        self.accounts = [k.public_key.to_canonical_address() for k in self.keys]
        self.key_by_address = dict(zip(self.accounts, self.keys))
        params = get_default_genesis_params(
            {"timestamp": int(genesis_timestamp if genesis_timestamp is not None else time.time())}
        )
        _, self.evm = setup_tester_chain(params, generate_genesis_state_for_keys(self.keys))
        # chain_id is read from the class whenever py-evm builds a VM (ChainContext per get_vm).
        type(self.evm).chain_id = chain_id

    # -- transactions ------------------------------------------------------------------------

    def sign(self, sender_index: int, nonce: int, to: bytes, data: bytes, gas: int, value: int = 0):
        builder = self.evm.get_vm().get_transaction_builder()
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=self.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=MAX_PRIORITY_FEE_PER_GAS,
            max_fee_per_gas=MAX_FEE_PER_GAS,
            gas=gas,
            to=to,
            value=value,
            data=data,
            access_list=(),
        )
        return unsigned.as_signed_transaction(self.keys[sender_index], chain_id=self.chain_id)

    def decode_raw(self, raw: bytes):
        return self.evm.get_vm().get_transaction_builder().decode(raw)

    def state_at(self, header):
        """py-evm state after block `header`."""
        return self.evm.get_vm(self.evm.create_header_from_parent(header)).state

    # -- building blocks -----------------------------------------------------------------------

    def build_block(
        self,
        parent: BlockRecord,
        txs: list,
        traffic: Optional[Callable[[Callable[[bytes], int]], list]] = None,
        timestamp: Optional[int] = None,
    ) -> tuple[BlockRecord, list]:
        """Builds one block on `parent` holding `txs` (invalid nonces dropped) and then the
        transactions `traffic(next_nonce)` returns. Returns (record, dropped txs)."""
        parent_header = parent.header_obj
        params = {} if timestamp is None else {"timestamp": max(timestamp, parent_header.timestamp + 1)}
        self.evm.header = self.evm.create_header_from_parent(parent_header, **params)
        state = self.evm.get_vm(self.evm.header).state
        expected: dict[bytes, int] = {}

        def next_nonce(sender: bytes) -> int:
            if sender not in expected:
                expected[sender] = state.get_nonce(sender)
            return expected[sender]

        included, dropped = [], []
        for tx in txs:
            if next_nonce(tx.sender) == tx.nonce:
                expected[tx.sender] += 1
                included.append(tx)
            else:
                dropped.append(tx)
        if traffic is not None:
            for tx in traffic(next_nonce):
                # traffic() asks next_nonce for each sender and builds in order
                expected[tx.sender] = tx.nonce + 1
                included.append(tx)
        result, receipts, computations = self.evm.mine_all(included, mix_hash=os.urandom(32))
        block = result.imported_block
        return self.render(block, receipts, computations), dropped

    def make_canonical(self, rec: BlockRecord) -> None:
        chaindb = self.evm.chaindb
        chaindb._set_as_canonical_chain_head(chaindb.db, rec.header_obj, b"\x00" * 32)
        self.evm.header = self.evm.create_header_from_parent(rec.header_obj)

    def genesis_record(self) -> BlockRecord:
        block = self.evm.get_canonical_block_by_number(0)
        return self.render(block, [], [])

    # -- rendering -----------------------------------------------------------------------------

    def render(self, block, receipts, computations) -> BlockRecord:
        header = block.header
        bhash = hx(header.hash)
        number = header.block_number
        base_fee = getattr(header, "base_fee_per_gas", 0) or 0
        ts = header.timestamp
        txs, rendered_receipts, logs = [], [], []
        prev_cumulative = 0
        for i, tx in enumerate(block.transactions):
            rtx = render_tx(tx, bhash, number, i, base_fee)
            txs.append(rtx)
            if i < len(receipts):
                receipt = receipts[i]
                comp = computations[i] if i < len(computations) else None
            else:  # genesis or re-read blocks: not produced here
                receipt, comp = None, None
            if receipt is None:
                continue
            cumulative = receipt.gas_used
            contract = None
            if not tx.to:
                contract = hx(generate_contract_address(tx.sender, tx.nonce))
            tx_logs = []
            for log in receipt.logs:
                entry = {
                    "address": hx(log.address),
                    "topics": [h32(t) for t in log.topics],
                    "data": hx(log.data),
                    "blockNumber": q(number),
                    "transactionHash": rtx["hash"],
                    "transactionIndex": q(i),
                    "blockHash": bhash,
                    "blockTimestamp": q(ts),
                    "logIndex": q(len(logs)),
                    "removed": False,
                }
                logs.append(entry)
                tx_logs.append(entry)
            status = 1 if receipt.state_root == b"\x01" else 0
            rendered_receipts.append({
                "blockHash": bhash,
                "blockNumber": q(number),
                "contractAddress": contract,
                "cumulativeGasUsed": q(cumulative),
                "effectiveGasPrice": rtx["gasPrice"],
                "from": rtx["from"],
                "gasUsed": q(cumulative - prev_cumulative),
                "logs": tx_logs,
                "logsBloom": bloom_hex(receipt.bloom),
                "status": q(status),
                "to": rtx["to"],
                "transactionHash": rtx["hash"],
                "transactionIndex": q(i),
                "type": rtx["type"],
            })
            prev_cumulative = cumulative
        rendered = {
            "baseFeePerGas": q(base_fee),
            "blobGasUsed": q(getattr(header, "blob_gas_used", 0) or 0),
            "difficulty": q(header.difficulty),
            "excessBlobGas": q(getattr(header, "excess_blob_gas", 0) or 0),
            "extraData": hx(header.extra_data),
            "gasLimit": q(header.gas_limit),
            "gasUsed": q(header.gas_used),
            "hash": bhash,
            "logsBloom": bloom_hex(header.bloom),
            "miner": hx(header.coinbase),
            "mixHash": hx(header.mix_hash),
            "nonce": hx(header.nonce),
            "number": q(number),
            "parentBeaconBlockRoot": hx(header.parent_beacon_block_root),
            "parentHash": hx(header.parent_hash),
            "receiptsRoot": hx(header.receipt_root),
            "requestsHash": hx(header.requests_hash),
            "sha3Uncles": hx(header.uncles_hash),
            "size": q(block_size(block)),
            "stateRoot": hx(header.state_root),
            "timestamp": q(ts),
            "transactionsRoot": hx(header.transaction_root),
            "uncles": [],
            "withdrawals": [],
            "withdrawalsRoot": hx(header.withdrawals_root),
        }
        return BlockRecord(
            number=number,
            hash=bhash,
            parent_hash=hx(header.parent_hash),
            timestamp=ts,
            block=rendered,
            txs=txs,
            receipts=rendered_receipts,
            logs=logs,
            header_obj=header,
            tx_objs=list(block.transactions),
        )

    # -- reads -----------------------------------------------------------------------------------

    def call(self, header, tx: dict) -> bytes:
        sender = parse_hex_bytes(tx["from"]) if tx.get("from") else b"\x00" * 20
        to = parse_hex_bytes(tx["to"]) if tx.get("to") else b""
        data = parse_hex_bytes(tx.get("input") or tx.get("data") or "0x")
        gas = int(tx["gas"], 16) if tx.get("gas") else header.gas_limit
        value = int(tx["value"], 16) if tx.get("value") else 0
        state = self.state_at(header)
        unsigned = self.evm.create_unsigned_transaction(
            nonce=state.get_nonce(sender), gas_price=0, gas=gas, to=to, value=value, data=data,
        )
        spoofed = SpoofTransaction(unsigned, from_=sender)
        return self.evm.get_transaction_result(spoofed, self.evm.create_header_from_parent(header))


def _rlp_list(encoded_items: list) -> bytes:
    body = b"".join(encoded_items)
    if len(body) < 56:
        return bytes([0xC0 + len(body)]) + body
    n = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(n)]) + n + body


def block_size(block) -> int:
    """Length of the block's RLP: [header, transactions, uncles, withdrawals]."""
    txs = []
    for tx in block.transactions:
        if getattr(tx, "type_id", None):
            txs.append(rlp.encode(tx.encode()))  # typed: an RLP string type||payload
        else:
            txs.append(rlp.encode(tx))
    withdrawals = [rlp.encode(w) for w in getattr(block, "withdrawals", ()) or ()]
    parts = [rlp.encode(block.header), _rlp_list(txs), _rlp_list([]), _rlp_list(withdrawals)]
    return len(_rlp_list(parts))


def render_tx(tx, block_hash: str, number: int, index: int, base_fee: int) -> dict:
    type_id = getattr(tx, "type_id", None) or 0
    out = {
        "blockHash": block_hash,
        "blockNumber": q(number),
        "from": hx(tx.sender),
        "gas": q(tx.gas),
    }
    if type_id >= 2:
        out["gasPrice"] = q(min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas))
        out["maxFeePerGas"] = q(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = q(tx.max_priority_fee_per_gas)
    else:
        out["gasPrice"] = q(tx.gas_price)
    out.update({
        "hash": hx(tx.hash),
        "input": hx(tx.data),
        "nonce": q(tx.nonce),
        "to": hx(tx.to) if tx.to else None,
        "transactionIndex": q(index),
        "value": q(tx.value),
        "type": q(type_id),
    })
    if type_id >= 1:
        out["accessList"] = [
            {"address": hx(a), "storageKeys": [h32(k) for k in ks]} for a, ks in tx.access_list
        ]
        out["chainId"] = q(tx.chain_id)
        out["v"] = q(tx.y_parity)
        out["r"] = q(tx.r)
        out["s"] = q(tx.s)
        out["yParity"] = q(tx.y_parity)
    else:
        if tx.chain_id is not None:
            out["chainId"] = q(tx.chain_id)
        out["v"] = q(tx.v)
        out["r"] = q(tx.r)
        out["s"] = q(tx.s)
    return out


# ---------------------------------------------------------------------------------------------
# log filtering (shared by eth_getLogs and subscriptions)

class LogFilter:
    """address: None | set of lowercase addresses; topics: list of (None | set of topics)."""

    def __init__(self, address=None, topics=None) -> None:
        self.addresses: Optional[set] = None
        if address is not None:
            items = [address] if isinstance(address, str) else list(address)
            if not all(isinstance(a, str) for a in items):
                raise ValueError("invalid address")
            for a in items:
                if len(parse_hex_bytes(a)) != 20:
                    raise ValueError("invalid address")
            self.addresses = {a.lower() for a in items} if items else None
        self.topics: list = []
        for pos in topics or []:
            if pos is None:
                self.topics.append(None)
            elif isinstance(pos, str):
                if len(parse_hex_bytes(pos)) != 32:
                    raise ValueError("invalid topic")
                self.topics.append({pos.lower()})
            elif isinstance(pos, list):
                alts = set()
                for t in pos:
                    if t is None:
                        alts = None
                        break
                    if len(parse_hex_bytes(t)) != 32:
                        raise ValueError("invalid topic")
                    alts.add(t.lower())
                self.topics.append(alts if alts else None)
            else:
                raise ValueError("invalid topic")
        if len(self.topics) > 4:
            raise ValueError("exceed max topics")
        while self.topics and self.topics[-1] is None:
            self.topics.pop()

    def matches(self, log: dict) -> bool:
        if self.addresses is not None and log["address"] not in self.addresses:
            return False
        topics = log["topics"]
        if len(self.topics) > len(topics):
            return False
        for want, have in zip(self.topics, topics):
            if want is not None and have not in want:
                return False
        return True

    def filter(self, logs: Iterable[dict]) -> list:
        if self.addresses is None and not self.topics:
            return list(logs)
        return [log for log in logs if self.matches(log)]
