"""eth_subscribe over WebSocket: newHeads, logs (filtered), unsubscribe, and reorgs."""
from __future__ import annotations

import pytest

from wsclient import WsClient

TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SWAP = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"


def test_new_heads_and_logs_subscriptions(fresh):
    ws = WsClient(fresh.ws)
    try:
        heads = ws.subscribe("newHeads")
        all_logs = ws.subscribe("logs", {})
        pair = fresh.info["contracts"]["pair"]["address"]
        swaps = ws.subscribe("logs", {"address": pair, "topics": [SWAP]})
        mined = fresh.rpc("devnet_mine", {"blocks": 3, "txsPerBlock": 6})
        got_heads = ws.collect(heads, 3)
        assert [h["hash"] for h in got_heads] == mined["hashes"]
        assert all("transactions" not in h and h["logsBloom"].startswith("0x") for h in got_heads)
        expected = fresh.rpc("eth_getLogs", {"fromBlock": hex(mined["from"]), "toBlock": hex(mined["to"])})
        assert ws.collect(all_logs, len(expected)) == expected
        expected_swaps = [x for x in expected if x["address"] == pair and x["topics"][0] == SWAP]
        assert ws.collect(swaps, len(expected_swaps)) == expected_swaps
        assert ws.call("eth_unsubscribe", heads) is True
        assert ws.call("eth_unsubscribe", heads) is False
        fresh.rpc("devnet_mine", 1)
        extra = ws.quiet(0.4)
        assert not any(m.get("params", {}).get("subscription") == heads for m in extra)
        # requests and subscriptions share the socket
        assert ws.call("eth_chainId") == "0x7a69"
    finally:
        ws.close()


def test_subscribe_needs_websocket(fresh):
    resp = fresh.request("eth_subscribe", "newHeads")
    assert resp["error"]["code"] == -32601


def test_reorgs_depth_1_to_10(fresh):
    ws = WsClient(fresh.ws)
    try:
        logs_sub = ws.subscribe("logs", {})
        heads_sub = ws.subscribe("newHeads")
        token = fresh.info["contracts"]["erc20"]["address"]
        token_sub = ws.subscribe("logs", {"address": token, "topics": [TRANSFER]})
        for depth in range(1, 11):
            replay = depth % 3 != 0
            mined = fresh.rpc("devnet_mine", {"blocks": 12, "txsPerBlock": 3})
            ws.collect(heads_sub, 12)
            before = fresh.rpc("eth_getLogs", {"fromBlock": hex(mined["from"]), "toBlock": hex(mined["to"])})
            ws.collect(logs_sub, len(before))
            ws.collect(token_sub, sum(1 for x in before if x["address"] == token and x["topics"][0] == TRANSFER))
            head = fresh.head()
            old = [fresh.rpc("eth_getBlockByNumber", hex(n), False) for n in range(head - depth, head + 1)]
            fork = head - depth
            old_logs = fresh.rpc("eth_getLogs", {"fromBlock": hex(fork + 1), "toBlock": hex(head)})
            params = {"depth": depth} if replay else {"depth": depth, "replay": False, "txsPerBlock": 2}
            res = fresh.rpc("devnet_reorg", params)
            assert res["forkPoint"] == {"number": fork, "hash": old[0]["hash"]}
            assert res["orphaned"] == [b["hash"] for b in old[1:]]
            assert fresh.head() == head  # same heights
            new = [fresh.rpc("eth_getBlockByNumber", hex(n), False) for n in range(fork, head + 1)]
            assert new[0]["hash"] == old[0]["hash"]
            for o, n in zip(old[1:], new[1:]):
                assert o["hash"] != n["hash"] and o["number"] == n["number"]
            assert new[1]["parentHash"] == old[0]["hash"]
            assert all(new[i + 1]["parentHash"] == new[i]["hash"] for i in range(len(new) - 1))
            # orphans stay reachable by hash
            assert fresh.rpc("eth_getBlockByHash", old[-1]["hash"], False)["hash"] == old[-1]["hash"]
            new_logs = fresh.rpc("eth_getLogs", {"fromBlock": hex(fork + 1), "toBlock": hex(head)})
            expected = [{**x, "removed": True} for x in reversed(old_logs)] + new_logs
            got = ws.collect(logs_sub, len(expected))
            assert got == expected, depth
            token_expected = [x for x in expected if x["address"] == token and x["topics"][0] == TRANSFER]
            assert ws.collect(token_sub, len(token_expected)) == token_expected
            assert [h["hash"] for h in ws.collect(heads_sub, depth)] == [b["hash"] for b in new[1:]]
            if replay:  # re-included transactions keep their hashes, in new blocks
                old_txs = [t for b in old[1:] for t in b["transactions"]]
                new_txs = [t for b in new[1:] for t in b["transactions"]]
                assert old_txs == new_txs
                r = fresh.rpc("eth_getTransactionReceipt", old_txs[-1])
                assert r["blockHash"] == new[-1]["hash"]
            else:
                orphan_tx = old[-1]["transactions"][0]
                assert fresh.rpc("eth_getTransactionReceipt", orphan_tx) is None
            assert not any(m.get("method") == "eth_subscription" for m in ws.quiet(0.05))
    finally:
        ws.close()


def test_reorg_with_more_blocks_and_timing(fresh):
    fresh.rpc("devnet_mine", {"blocks": 30, "txsPerBlock": 4})
    head = fresh.head()
    res = fresh.rpc("devnet_reorg", {"depth": 10, "newBlocks": 12})
    print(f"\nreorg depth 10 -> 12 new blocks with replay: {res['seconds']} s")
    assert fresh.head() == head + 2 and len(res["new"]) == 12 and res["droppedTransactions"] == []
    with pytest.raises(Exception):
        fresh.rpc("devnet_reorg", {"depth": 10_000})
