"""A small synchronous WebSocket JSON-RPC client for the tests (websockets' sync client)."""
from __future__ import annotations

import json
import time

from websockets.sync.client import connect


class WsClient:
    def __init__(self, url: str) -> None:
        self.conn = connect(url, max_size=None, open_timeout=10).__enter__()
        self._id = 0
        self.notifications: list = []  # (subscription id, result)

    def send(self, method: str, *params) -> int:
        self._id += 1
        self.conn.send(json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}))
        return self._id

    def recv_raw(self, timeout: float = 10.0) -> str:
        return self.conn.recv(timeout=timeout)

    def response(self, rid: int, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.recv_raw(max(0.01, deadline - time.monotonic())))
            if isinstance(msg, dict) and msg.get("method") == "eth_subscription":
                self.notifications.append((msg["params"]["subscription"], msg["params"]["result"]))
                continue
            if isinstance(msg, dict) and msg.get("id") == rid:
                return msg

    def call(self, method: str, *params, timeout: float = 10.0):
        msg = self.response(self.send(method, *params), timeout)
        if "error" in msg:
            raise AssertionError(msg["error"])
        return msg["result"]

    def subscribe(self, *params) -> str:
        return self.call("eth_subscribe", *params)

    def collect(self, sub: str, count: int, timeout: float = 10.0) -> list:
        """Waits until `count` notifications for `sub` arrived; returns them (and removes them)."""
        deadline = time.monotonic() + timeout
        while sum(1 for s, _ in self.notifications if s == sub) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"got {sum(1 for s, _ in self.notifications if s == sub)} of {count}")
            msg = json.loads(self.recv_raw(remaining))
            if isinstance(msg, dict) and msg.get("method") == "eth_subscription":
                self.notifications.append((msg["params"]["subscription"], msg["params"]["result"]))
        mine = [r for s, r in self.notifications if s == sub][:count]
        rest, taken = [], 0
        for s, r in self.notifications:
            if s == sub and taken < count:
                taken += 1
            else:
                rest.append((s, r))
        self.notifications = rest
        return mine

    def quiet(self, seconds: float = 0.3) -> list:
        """Everything that arrives within `seconds` (to check nothing extra was sent)."""
        out = []
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            try:
                out.append(json.loads(self.recv_raw(remaining)))
            except TimeoutError:
                return out

    def close(self) -> None:
        self.conn.close()
