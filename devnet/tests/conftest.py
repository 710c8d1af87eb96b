"""Spawns devnet servers as subprocesses (port 0) and talks to them over real HTTP/WS."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

DEVNET_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = DEVNET_DIR.parent
PREBUILD_BLOCKS = int(os.environ.get("DEVNET_TEST_PREBUILD", "1000"))


class RpcFailure(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data")


class Devnet:
    def __init__(self, *args: str, timeout: float = 120.0) -> None:
        self.args = list(args)
        t0 = time.monotonic()
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devnet", "--port", "0", *args],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            self.stderr.seek(0)
            raise RuntimeError(f"no READY line: {line!r} {self.stderr.read()}")
        self.startup_seconds = time.monotonic() - t0
        self.ready_line = line
        self.info = json.loads(line[len("READY "):])
        self.http = self.info["http"]
        self.ws = self.info["ws"]
        self._id = 0

    # -- HTTP helpers ------------------------------------------------------------------------

    def post(self, payload, timeout: float = 30.0):
        """Returns (status, headers, body bytes) without interpreting them."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        req = urllib.request.Request(self.http, data, {"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def request(self, method: str, *params, timeout: float = 30.0) -> dict:
        self._id += 1
        status, _, body = self.post({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}, timeout)
        assert status == 200, (status, body)
        return json.loads(body)

    def rpc(self, method: str, *params, timeout: float = 30.0):
        resp = self.request(method, *params, timeout=timeout)
        if "error" in resp:
            raise RpcFailure(resp["error"])
        return resp["result"]

    def batch(self, calls: list) -> list:
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
        status, _, body = self.post(payload)
        assert status == 200
        out = json.loads(body)
        by_id = {r["id"]: r for r in out}
        return [by_id[i] for i in range(len(calls))]

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="session")
def chain():
    """One long-lived devnet with a prebuilt backfill (read-mostly tests share it)."""
    d = Devnet("--prebuild-blocks", str(PREBUILD_BLOCKS))
    yield d
    d.stop()


@pytest.fixture
def devnet_factory():
    started = []

    def start(*args: str) -> Devnet:
        d = Devnet(*args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def fresh(devnet_factory) -> Devnet:
    return devnet_factory()
