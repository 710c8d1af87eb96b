"""The command line: READY, auto-mining, traffic, signals, prebuild; and the contract artifacts."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from conftest import DEVNET_DIR, REPO_ROOT, Devnet


def test_block_time_and_traffic(devnet_factory):
    d = devnet_factory("--block-time", "0.25", "--traffic", "24")
    start = d.head()
    time.sleep(1.6)
    head = d.head()
    assert head - start >= 3
    blocks = [d.rpc("eth_getBlockByNumber", hex(n), False) for n in range(start + 1, head + 1)]
    txs = [len(b["transactions"]) for b in blocks]
    assert sum(txs) >= 12 and max(txs) >= 4, txs  # ~6 per 0.25 s block
    d.rpc("devnet_setTraffic", 0)
    d.rpc("devnet_setBlockTime", 0)
    time.sleep(0.3)
    h = d.head()
    time.sleep(0.6)
    assert d.head() == h  # on demand only


def test_staged_blocks_are_published_one_per_block_time(devnet_factory):
    d = devnet_factory("--staged-blocks", "4", "--prebuild-txs-per-block", "6", "--block-time", "0.2")
    start = d.info["head"]
    assert start == 1 and d.info["staged"] == 4  # at READY: the contracts only, the rest waits
    deadline = time.monotonic() + 10
    while d.head() < start + 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    staged = [d.rpc("eth_getBlockByNumber", hex(n), False) for n in range(start + 1, start + 5)]
    assert all(len(b["transactions"]) == 6 for b in staged)
    assert [int(b["number"], 16) for b in staged] == list(range(start + 1, start + 5))
    assert len(d.rpc("eth_getLogs", {"fromBlock": hex(start + 1), "toBlock": hex(start + 4)})) >= 6 * 4
    for parent, child in zip(staged, staged[1:]):
        assert child["parentHash"] == parent["hash"]


def test_traffic_with_on_demand_blocks(devnet_factory):
    d = devnet_factory("--traffic", "10")  # block time 0: one block per second carrying its traffic
    start = d.head()
    time.sleep(2.3)
    head = d.head()
    assert head - start >= 1
    assert all(len(d.rpc("eth_getBlockByNumber", hex(n), False)["transactions"]) >= 5 for n in range(start + 1, head + 1))


def test_send_raw_transaction_automines(fresh):
    from eth_account import Account
    from eth_utils import to_checksum_address

    key = "0x" + "00" * 31 + "02"
    acct = Account.from_key(key)
    assert acct.address.lower() == fresh.info["accounts"][1]
    nonce = int(fresh.rpc("eth_getTransactionCount", acct.address.lower(), "latest"), 16)
    tx = {"chainId": 31337, "nonce": nonce, "to": to_checksum_address(fresh.info["accounts"][2]), "value": 12345, "gas": 21000,
          "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "type": 2}
    signed = Account.sign_transaction(tx, key)
    head = fresh.head()
    tx_hash = fresh.rpc("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex().removeprefix("0x"))
    assert fresh.head() == head + 1
    receipt = fresh.rpc("eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["blockNumber"] == hex(head + 1)


def test_no_deploy_and_options(devnet_factory):
    d = devnet_factory("--no-deploy", "--chain-id", "1337", "--finality-lag", "4")
    assert d.info["contracts"] == {} and d.info["chainId"] == 1337 and d.info["head"] == 0
    d.rpc("devnet_mine", 6)
    assert d.rpc("eth_getBlockByNumber", "finalized", False)["number"] == "0x2"
    assert d.rpc("eth_getBlockByNumber", "safe", False)["number"] == "0x4"


def test_sigterm_and_sigint_exit_cleanly():
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = Devnet()
        d.proc.send_signal(sig)
        assert d.proc.wait(timeout=10) == 0
        assert d.proc.stdout.read() == ""  # exactly one line on stdout


def test_listens_on_loopback_only(fresh):
    out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout if _has_ss() else ""
    port = fresh.info["port"]
    lines = [l for l in out.splitlines() if f":{port} " in l]
    for l in lines:
        assert "127.0.0.1:" in l
    assert fresh.info["http"].startswith("http://127.0.0.1:")


def _has_ss() -> bool:
    try:
        subprocess.run(["ss", "-V"], capture_output=True)
        return True
    except FileNotFoundError:
        return False


def test_compile_reproduces_committed_artifacts(tmp_path):
    result = subprocess.run([sys.executable, str(DEVNET_DIR / "compile_contracts.py"), "--out", str(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for built in sorted(tmp_path.glob("*.json")):
        committed = DEVNET_DIR / "contracts" / "build" / built.name
        assert committed.read_text() == built.read_text(), built.name
    assert {p.name for p in tmp_path.glob("*.json")} == {"DevToken.json", "DevCollectible.json", "DevPair.json"}
    artifact = json.loads((DEVNET_DIR / "contracts" / "build" / "DevPair.json").read_text())
    swap = next(x for x in artifact["abi"] if x.get("name") == "Swap")
    assert [i["indexed"] for i in swap["inputs"]] == [True, False, False, False, False, True]
