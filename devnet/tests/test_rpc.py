"""Geth fidelity over real HTTP against the shared prebuilt chain."""
from __future__ import annotations

import json
import re

import pytest
from eth_bloom import BloomFilter
from eth_utils import keccak

from conftest import PREBUILD_BLOCKS, RpcFailure

QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
HASH = re.compile(r"^0x[0-9a-f]{64}$")
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
DATA = re.compile(r"^0x([0-9a-f]{2})*$")

TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
SWAP = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"


def receipts_of(chain, numbers):
    out = chain.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
    return [r["result"] for r in out]


def blocks_of(chain, numbers, full=False):
    out = chain.batch([("eth_getBlockByNumber", [hex(n), full]) for n in numbers])
    return [r["result"] for r in out]


@pytest.fixture(scope="module")
def all_logs(chain):
    head = chain.head()
    return head, chain.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(head)})


def test_ready_line(chain):
    assert chain.ready_line.endswith("\n") and "\n" not in chain.ready_line[:-1]
    info = chain.info
    port = info["port"]
    assert info["http"] == f"http://127.0.0.1:{port}" and info["ws"] == f"ws://127.0.0.1:{port}"
    assert info["chainId"] == 31337
    assert set(info["contracts"]) == {"erc20", "erc721", "pair"}
    for c in info["contracts"].values():
        assert ADDRESS.match(c["address"]) and c["block"] == 1
    # fixed deployer key and nonces
    assert info["contracts"]["erc20"]["address"] == "0xf2e246bb76df876cef8b38ae84130f4f55de395b"
    assert info["head"] >= PREBUILD_BLOCKS + 1
    assert chain.rpc("eth_chainId") == "0x7a69"


def test_prebuild_is_fast_and_dense(chain, all_logs):
    head, logs = all_logs
    print(f"\nprebuild of {PREBUILD_BLOCKS} blocks: {chain.info['prebuildSeconds']} s, "
          f"startup {chain.startup_seconds:.1f} s, {len(logs)} logs")
    assert chain.info["prebuildSeconds"] < 60
    assert 5 <= len(logs) / PREBUILD_BLOCKS <= 12
    # prebuilt history is 12 s apart and ends near now
    b1, b2 = blocks_of(chain, [10, 11])
    assert int(b2["timestamp"], 16) - int(b1["timestamp"], 16) == 12


def test_log_index_block_wide_and_receipts_match_getlogs(chain, all_logs):
    head, logs = all_logs
    by_block = {}
    for entry in logs:
        by_block.setdefault(int(entry["blockNumber"], 16), []).append(entry)
    numbers = list(range(0, head + 1))
    receipts = receipts_of(chain, numbers)
    multi_tx_blocks = 0
    for n, rs in zip(numbers, receipts):
        from_receipts = [log for r in rs for log in r["logs"]]
        assert [int(x["logIndex"], 16) for x in from_receipts] == list(range(len(from_receipts))), n
        assert from_receipts == by_block.get(n, []), n
        for i, r in enumerate(rs):
            assert r["transactionIndex"] == hex(i)
            assert all(x["transactionIndex"] == hex(i) and x["transactionHash"] == r["transactionHash"] for x in r["logs"])
        if len({x["transactionIndex"] for x in from_receipts}) > 1:
            multi_tx_blocks += 1
    assert multi_tx_blocks > head // 2
    sample = numbers[::97]
    by_hash = chain.batch([("eth_getLogs", [{"blockHash": b["hash"]}]) for b in blocks_of(chain, sample)])
    for n, r in zip(sample, by_hash):
        assert r["result"] == by_block.get(n, [])


def bloom_of(logs) -> int:
    b = BloomFilter()
    for entry in logs:
        b.add(bytes.fromhex(entry["address"][2:]))
        for t in entry["topics"]:
            b.add(bytes.fromhex(t[2:]))
    return int(b)


def test_blooms(chain):
    numbers = list(range(0, 120))
    blocks = blocks_of(chain, numbers)
    receipts = receipts_of(chain, numbers)
    for block, rs in zip(blocks, receipts):
        assert len(block["logsBloom"]) == 2 + 512
        logs = [x for r in rs for x in r["logs"]]
        assert int(block["logsBloom"], 16) == bloom_of(logs)
        for r in rs:
            assert len(r["logsBloom"]) == 514
            assert int(r["logsBloom"], 16) == bloom_of(r["logs"])
            b = int(r["logsBloom"], 16)
            for x in r["logs"]:  # each address/topic is in the bloom
                assert bloom_of([{"address": x["address"], "topics": x["topics"]}]) & b == bloom_of([x])
    assert blocks[0]["logsBloom"] == "0x" + "00" * 256  # genesis: no logs


def test_empty_block_has_zero_bloom(fresh):
    res = fresh.rpc("devnet_mine", {"blocks": 2})
    for h in res["hashes"]:
        block = fresh.rpc("eth_getBlockByHash", h, False)
        assert block["logsBloom"] == "0x" + "00" * 256 and block["transactions"] == []


def test_topic_filters(chain, all_logs):
    head, logs = all_logs
    c = chain.info["contracts"]
    token, nft, pair = c["erc20"]["address"], c["erc721"]["address"], c["pair"]["address"]
    rng = {"fromBlock": "0x0", "toBlock": hex(head)}

    def get(**crit):
        return chain.rpc("eth_getLogs", {**rng, **crit})

    assert get(address=token) == [x for x in logs if x["address"] == token]
    assert get(address=[token.upper().replace("0X", "0x"), pair]) == [x for x in logs if x["address"] in (token, pair)]
    assert get(topics=[TRANSFER]) == [x for x in logs if x["topics"][0] == TRANSFER]
    assert get(topics=[[TRANSFER, SWAP]]) == [x for x in logs if x["topics"][0] in (TRANSFER, SWAP)]
    zero = "0x" + "00" * 32
    mints = get(topics=[TRANSFER, zero])
    assert mints and mints == [x for x in logs if x["topics"][0] == TRANSFER and x["topics"][1] == zero]
    account1 = "0x" + "00" * 12 + chain.info["accounts"][1][2:]
    to_acct1 = get(topics=[None, None, account1])
    assert to_acct1 and to_acct1 == [x for x in logs if len(x["topics"]) > 2 and x["topics"][2] == account1]
    assert get(topics=[[], None, [account1]]) == to_acct1
    assert get(address=nft, topics=[TRANSFER, None, None, None]) == [x for x in logs if x["address"] == nft and len(x["topics"]) == 4]
    # blockHash together with topics
    some = next(x for x in logs if x["address"] == pair)
    same_block = [x for x in logs if x["blockHash"] == some["blockHash"] and x["topics"][0] == SWAP]
    assert chain.rpc("eth_getLogs", {"blockHash": some["blockHash"], "topics": [SWAP]}) == same_block
    assert chain.rpc("eth_getLogs", {"fromBlock": "0x5", "toBlock": "0x5", "address": "0x" + "11" * 20}) == []


def test_get_logs_geth_errors(chain):
    head = chain.head()

    def err(crit):
        with pytest.raises(RpcFailure) as e:
            chain.rpc("eth_getLogs", crit)
        return e.value.code, e.value.message

    assert err({"fromBlock": "0x5", "toBlock": "0x4"}) == (-32602, "invalid block range params")
    assert err({"fromBlock": hex(head + 5), "toBlock": "latest"}) == (-32602, "invalid block range params")
    assert err({"fromBlock": hex(head - 1), "toBlock": hex(head + 3)}) == (-32602, "block range extends beyond current head block")
    assert err({"fromBlock": hex(head + 3), "toBlock": hex(head + 5)}) == (-32602, "block range extends beyond current head block")
    code, message = err({"blockHash": "0x" + "ab" * 32, "fromBlock": "0x1", "toBlock": "0x2"})
    assert code == -32602 and "cannot specify both BlockHash and FromBlock/ToBlock" in message
    assert err({"blockHash": "0x" + "ab" * 32}) == (-32000, "unknown block")


def test_batches(chain):
    status, headers, body = chain.post([
        {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": "x", "method": "eth_nope"},
        {"jsonrpc": "2.0", "id": 9, "method": "eth_getBlockByNumber", "params": ["0x1", False]},
        {"jsonrpc": "2.0", "method": "eth_blockNumber"},  # notification: no response
    ])
    out = json.loads(body)
    assert status == 200 and [r["id"] for r in out] == [7, "x", 9]
    assert out[0]["result"] == "0x7a69"
    assert out[1]["error"]["code"] == -32601
    assert out[2]["result"]["number"] == "0x1"
    _, _, body = chain.post([])
    assert json.loads(body)["error"] == {"code": -32600, "message": "empty batch"}
    _, _, body = chain.post(b"{not json")
    assert json.loads(body)["error"]["code"] == -32700


def test_block_tags_follow_finality_lag(fresh):
    fresh.rpc("devnet_mine", {"blocks": 40})
    head = fresh.head()

    def num(tag):
        return int(fresh.rpc("eth_getBlockByNumber", tag, False)["number"], 16)

    assert num("latest") == head and num("pending") == head and num("earliest") == 0
    assert num("finalized") == head - 16 and num("safe") == head - 8
    fresh.rpc("devnet_setFinalityLag", 10)
    assert num("finalized") == head - 10 and num("safe") == head - 5
    fresh.rpc("devnet_mine", 3)
    assert num("finalized") == head + 3 - 10
    fresh.rpc("devnet_setFinalityLag", {"lag": 60})
    assert num("finalized") == 0 and num("safe") == head + 3 - 30
    assert fresh.rpc("eth_getBlockByNumber", hex(head + 100), False) is None


def test_block_shapes_and_quantities(chain):
    block = chain.rpc("eth_getBlockByNumber", "0x20", True)
    hashes_only = chain.rpc("eth_getBlockByNumber", "0x20", False)
    assert hashes_only["transactions"] == [t["hash"] for t in block["transactions"]]
    assert chain.rpc("eth_getBlockByHash", block["hash"], True) == block
    parent = chain.rpc("eth_getBlockByNumber", "0x1f", False)
    assert block["parentHash"] == parent["hash"]
    for k in ("number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "size", "difficulty"):
        assert QUANTITY.match(block[k]), k
    for k in ("hash", "parentHash", "stateRoot", "receiptsRoot", "transactionsRoot", "mixHash"):
        assert HASH.match(block[k]), k
    for tx in block["transactions"]:
        for k in ("nonce", "gas", "value", "type", "transactionIndex", "blockNumber", "gasPrice", "chainId"):
            assert QUANTITY.match(tx[k]), k
        assert ADDRESS.match(tx["from"]) and ADDRESS.match(tx["to"]) and DATA.match(tx["input"])
        assert chain.rpc("eth_getTransactionByHash", tx["hash"]) == tx
        receipt = chain.rpc("eth_getTransactionReceipt", tx["hash"])
        assert receipt["blockHash"] == block["hash"] and receipt["status"] == "0x1"
        for k in ("gasUsed", "cumulativeGasUsed", "effectiveGasPrice", "status", "type"):
            assert QUANTITY.match(receipt[k]), k
        for x in receipt["logs"]:
            assert all(HASH.match(t) for t in x["topics"]) and DATA.match(x["data"])
            assert x["removed"] is False
    assert chain.rpc("eth_getTransactionReceipt", "0x" + "12" * 32) is None
    deploy = chain.rpc("eth_getBlockReceipts", "0x1")
    assert deploy[0]["contractAddress"] == chain.info["contracts"]["erc20"]["address"] and deploy[0]["to"] is None


def test_contract_events(chain, all_logs):
    head, logs = all_logs
    c = chain.info["contracts"]
    token, nft, pair = (c[k]["address"] for k in ("erc20", "erc721", "pair"))
    erc20 = [x for x in logs if x["address"] == token and x["topics"][0] == TRANSFER]
    erc721 = [x for x in logs if x["address"] == nft and x["topics"][0] == TRANSFER]
    swaps = [x for x in logs if x["address"] == pair and x["topics"][0] == SWAP]
    assert erc20 and all(len(x["topics"]) == 3 and len(x["data"]) == 66 for x in erc20)
    assert erc721 and all(len(x["topics"]) == 4 and x["data"] == "0x" for x in erc721)
    assert swaps and all(len(x["topics"]) == 3 and len(x["data"]) == 2 + 4 * 64 for x in swaps)
    assert "0x" + keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").hex() == SWAP
    # one batchTransfer emits several Transfer logs in a single transaction
    per_tx = {}
    for x in erc20:
        per_tx[x["transactionHash"]] = per_tx.get(x["transactionHash"], 0) + 1
    assert max(per_tx.values()) >= 3
    # eth_call works against the deployed contracts (decimals() == 18)
    assert int(chain.rpc("eth_call", {"to": token, "data": "0x313ce567"}, "latest"), 16) == 18


def test_traffic_mix(chain, all_logs):
    head, logs = all_logs
    counts = chain.rpc("devnet_info")["trafficCounts"]
    assert all(counts[k] > 0 for k in ("transfer", "largeTransfer", "batchTransfer", "nftMint", "nftTransfer", "swap")), counts
    token = chain.info["contracts"]["erc20"]["address"]
    values = [int(x["data"], 16) for x in logs if x["address"] == token and x["topics"][0] == TRANSFER]
    assert any(v > 10**21 for v in values) and any(v < 10**21 for v in values)
    blocks = blocks_of(chain, range(2, 50))
    assert all(len(b["transactions"]) >= 2 for b in blocks)
