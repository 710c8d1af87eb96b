"""Injected failures and provider-style eth_getLogs caps."""
from __future__ import annotations

import json
import re
import socket
import time

import pytest
from websockets.exceptions import ConnectionClosed

from conftest import RpcFailure
from wsclient import WsClient

SUGGESTED = re.compile(r"^query returned more than (\d+) results\. Try with this block range \[0x([0-9A-F]+), 0x([0-9A-F]+)\]\.$")


@pytest.fixture
def net(devnet_factory):
    d = devnet_factory()
    d.rpc("devnet_mine", {"blocks": 30, "txsPerBlock": 4})
    return d


def test_http_429_with_retry_after(net):
    net.rpc("devnet_injectFailure", {"kind": "http429", "method": "eth_getLogs", "count": 2, "retryAfter": 3})
    assert net.rpc("eth_blockNumber")  # other methods unaffected
    for _ in range(2):
        status, headers, body = net.post({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{}]})
        assert status == 429 and headers["Retry-After"] == "3"
        assert json.loads(body)["error"]["code"] == 429
    assert net.rpc("eth_getLogs", {}) is not None  # count exhausted


def test_limit_exceeded_with_suggested_range(net):
    net.rpc("devnet_injectFailure", {"kind": "limitExceeded", "method": "eth_getLogs"})
    with pytest.raises(RpcFailure) as e:
        net.rpc("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x1e"})
    assert e.value.code == -32005
    m = SUGGESTED.match(e.value.message)
    assert m and m.group(1) == "10000", e.value.message
    assert (int(m.group(2), 16), int(m.group(3), 16)) == (2, 16)
    assert e.value.data == {"from": "0x2", "limit": 10000, "to": "0x10"}
    assert net.rpc("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x1e"})


def test_result_cap_suggests_a_range_that_works(net):
    all_logs = net.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    cap = len(all_logs) // 3
    net.rpc("devnet_setLogsLimits", {"maxResults": cap})
    with pytest.raises(RpcFailure) as e:
        net.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    m = SUGGESTED.match(e.value.message)
    assert e.value.code == -32005 and m and int(m.group(1)) == cap
    begin, end = int(m.group(2), 16), int(m.group(3), 16)
    part = net.rpc("eth_getLogs", {"fromBlock": hex(begin), "toBlock": hex(end)})
    assert begin == 0 and 0 < len(part) <= cap
    # one more block would have been too many
    net.rpc("devnet_setLogsLimits", {"maxResults": None})
    assert len(net.rpc("eth_getLogs", {"fromBlock": hex(begin), "toBlock": hex(end + 1)})) > cap


def test_range_cap(devnet_factory):
    d = devnet_factory("--max-logs-range", "10")
    d.rpc("devnet_mine", 20)
    assert d.rpc("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0xa"}) is not None
    with pytest.raises(RpcFailure) as e:
        d.rpc("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0xb"})
    assert (e.value.code, e.value.message) == (-32000, "exceed maximum block range: 10")
    d.rpc("devnet_setLogsLimits", {"maxRange": 5})
    with pytest.raises(RpcFailure):
        d.rpc("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x6"})
    d.rpc("devnet_setLogsLimits", {"maxRange": 0})
    assert d.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})


def test_malformed_json(net):
    net.rpc("devnet_injectFailure", {"kind": "malformed", "method": "eth_getBlockByNumber"})
    status, _, body = net.post({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["0x1", True]})
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)
    assert body.startswith(b'{"jsonrpc":"2.0"')
    assert net.rpc("eth_getBlockByNumber", "0x1", True)["number"] == "0x1"


def test_timeout_never_answers_then_recovers(net):
    net.rpc("devnet_injectFailure", {"kind": "timeout", "method": "eth_blockNumber"})
    t0 = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, OSError)):
        net.post({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}, timeout=1.0)
    assert time.monotonic() - t0 >= 0.9
    assert net.rpc("eth_blockNumber")  # next call answered
    net.rpc("devnet_injectFailure", {"kind": "timeout", "method": "*", "delayMs": 400})
    t0 = time.monotonic()
    assert net.rpc("eth_chainId") == "0x7a69"
    assert time.monotonic() - t0 >= 0.35


def test_error_kind_and_wildcard_count(net):
    net.rpc("devnet_injectFailure", {"kind": "error", "code": -32603, "message": "boom", "count": 2})
    for method in ("eth_chainId", "eth_blockNumber"):
        with pytest.raises(RpcFailure) as e:
            net.rpc(method)
        assert (e.value.code, e.value.message) == (-32603, "boom")
    assert net.rpc("eth_chainId") == "0x7a69"
    net.rpc("devnet_injectFailure", {"kind": "error", "count": None})
    with pytest.raises(RpcFailure):
        net.rpc("eth_chainId")
    assert net.rpc("devnet_info")["failures"]  # control methods are never failed by "*"
    assert net.rpc("devnet_clearFailures")["cleared"] >= 1
    assert net.rpc("eth_chainId") == "0x7a69"


def test_dropped_websockets(net):
    ws1, ws2 = WsClient(net.ws), WsClient(net.ws)
    ws1.subscribe("newHeads")
    assert ws2.call("eth_chainId") == "0x7a69"
    assert net.rpc("devnet_dropWebSockets")["dropped"] == 2
    for ws in (ws1, ws2):
        with pytest.raises(ConnectionClosed) as e:
            ws.recv_raw(5)
        assert e.value.rcvd is None  # abrupt: no close frame
    # injected: the next eth_getLogs over WS drops every WebSocket
    ws3 = WsClient(net.ws)
    net.rpc("devnet_injectFailure", {"kind": "dropWebSockets", "method": "eth_getLogs", "transport": "ws"})
    assert net.rpc("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x1"}) is not None  # http unaffected
    ws3.send("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x1"})
    with pytest.raises(ConnectionClosed):
        ws3.recv_raw(5)
    ws4 = WsClient(net.ws)  # reconnecting works
    assert ws4.call("eth_chainId") == "0x7a69"
    ws4.close()


def test_failures_over_websocket(net):
    ws = WsClient(net.ws)
    try:
        net.rpc("devnet_injectFailure", {"kind": "http429", "method": "eth_chainId", "transport": "ws", "retryAfter": 2})
        msg = ws.response(ws.send("eth_chainId"))
        assert msg["error"] == {"code": 429, "message": "Too Many Requests", "data": {"retryAfter": 2}}
        net.rpc("devnet_injectFailure", {"kind": "malformed", "method": "eth_chainId", "transport": "ws"})
        ws.send("eth_chainId")
        raw = ws.recv_raw(5)
        with pytest.raises(ValueError):
            json.loads(raw)
        net.rpc("devnet_injectFailure", {"kind": "timeout", "method": "eth_chainId", "transport": "ws"})
        lost = ws.send("eth_chainId")
        assert ws.call("eth_blockNumber")  # the socket still serves other calls
        with pytest.raises(TimeoutError):
            ws.response(lost, timeout=0.5)
        net.rpc("devnet_injectFailure", {"kind": "limitExceeded", "method": "eth_getLogs"})
        msg = ws.response(ws.send("eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x9"}))
        assert msg["error"]["code"] == -32005 and SUGGESTED.match(msg["error"]["message"])
    finally:
        ws.close()
