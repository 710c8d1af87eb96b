"""JSON-RPC over HTTP and WebSocket (one port, 127.0.0.1 only) in front of `DevChain`."""
from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from aiohttp import WSMsgType, web

from .chain import (
    BlockRecord,
    ChainIndex,
    DevChain,
    LogFilter,
    hx,
    parse_hex_bytes,
    q,
)
from .traffic import Contracts, Traffic

log = logging.getLogger("devnet")

CLIENT_VERSION = "tributary-devnet/0.1.0/py-evm-0.12.1b1/eth-tester-0.14.0b1"
NEVER = 3600.0  # "never answer": held until the client gives up or the server stops


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def invalid_arg(i: int, msg: str) -> RpcError:
    return RpcError(-32602, f"invalid argument {i}: {msg}")


def hexint(s: Any, i: int = 0) -> int:
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    if not isinstance(s, str) or not s.startswith(("0x", "0X")):
        raise invalid_arg(i, "hex string without 0x prefix")
    try:
        return int(s[2:], 16)
    except ValueError:
        raise invalid_arg(i, "invalid hex string") from None


def hex_upper(n: int) -> str:
    """Infura writes suggested ranges as 0x + upper-case digits."""
    return "0x" + format(n, "X")


# ---------------------------------------------------------------------------------------------
# failure injection

TRANSPORT_KINDS = {"http429", "timeout", "malformed", "dropWebSockets"}
CALL_KINDS = {"limitExceeded", "error"}
FAILURE_KINDS = TRANSPORT_KINDS | CALL_KINDS


@dataclass
class Failure:
    id: int
    kind: str
    method: str = "*"
    count: Optional[int] = 1  # None = until cleared
    transport: str = "any"  # any | http | ws
    retry_after: int = 1
    delay_ms: Optional[int] = None  # timeout: None = never answer
    code: int = -32000
    message: str = "injected failure"
    limit: int = 10000

    def matches(self, method: str, transport: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.transport not in ("any", transport):
            return False
        if self.method == "*":
            return not method.startswith("devnet_")
        return self.method == method

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "method": self.method, "count": self.count,
                "transport": self.transport}


# ---------------------------------------------------------------------------------------------
# WebSocket connections

@dataclass
class Subscription:
    id: str
    kind: str  # newHeads | logs
    filter: Optional[LogFilter] = None


@dataclass(eq=False)
class Conn:
    ws: web.WebSocketResponse
    transport: Any
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    subs: dict = field(default_factory=dict)
    closed: bool = False

    def send(self, obj: Any) -> None:
        if not self.closed:
            self.queue.put_nowait(obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":")))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


# ---------------------------------------------------------------------------------------------

class DevnetServer:
    def __init__(self, args) -> None:
        self.args = args
        self.finality_lag = args.finality_lag
        self.block_time = args.block_time
        self.traffic_rate = args.traffic
        self.max_logs_range = args.max_logs_range or None
        self.max_logs_results = args.max_logs_results or None
        self.index = ChainIndex()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="evm")
        self.lock: Optional[asyncio.Lock] = None
        self.pending: list = []
        # Blocks built before READY and published one per block time (--staged-blocks).
        self.staged: list[BlockRecord] = []
        self.failures: list[Failure] = []
        self.failure_ids = itertools.count(1)
        self.conns: set[Conn] = set()
        self.stopping: Optional[asyncio.Event] = None
        self.wake: Optional[asyncio.Event] = None
        self.contracts_info: dict = {}
        self.port = 0
        self.startup = {}
        self.methods = {
            "web3_clientVersion": lambda p: CLIENT_VERSION,
            "net_version": lambda p: str(self.chain.chain_id),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: "0x0",
            "eth_chainId": lambda p: q(self.chain.chain_id),
            "eth_syncing": lambda p: False,
            "eth_mining": lambda p: False,
            "eth_accounts": lambda p: [hx(a) for a in self.chain.accounts],
            "eth_blockNumber": lambda p: q(self.index.head.number),
            "eth_gasPrice": lambda p: q(int(self.index.head.block["baseFeePerGas"], 16) + 10**9),
            "eth_maxPriorityFeePerGas": lambda p: q(10**9),
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.get_tx_count_by_number,
            "eth_getBlockTransactionCountByHash": self.get_tx_count_by_hash,
            "eth_getTransactionByHash": self.get_transaction,
            "eth_getTransactionByBlockNumberAndIndex": self.get_tx_by_number_and_index,
            "eth_getTransactionByBlockHashAndIndex": self.get_tx_by_hash_and_index,
            "eth_getTransactionReceipt": self.get_receipt,
            "eth_getBlockReceipts": self.get_block_receipts,
            "eth_getLogs": self.get_logs,
            "eth_call": self.eth_call,
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_nonce,
            "eth_getCode": self.get_code,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_subscribe": None,  # WebSocket only, handled in call()
            "eth_unsubscribe": None,
            # test controls
            "devnet_info": self.ctl_info,
            "devnet_mine": self.ctl_mine,
            "devnet_reorg": self.ctl_reorg,
            "devnet_setFinalityLag": self.ctl_set_finality_lag,
            "devnet_setBlockTime": self.ctl_set_block_time,
            "devnet_setTraffic": self.ctl_set_traffic,
            "devnet_setLogsLimits": self.ctl_set_logs_limits,
            "devnet_injectFailure": self.ctl_inject_failure,
            "devnet_clearFailures": self.ctl_clear_failures,
            "devnet_dropWebSockets": self.ctl_drop_websockets,
            "evm_mine": lambda p: self.ctl_mine([{"blocks": 1}]),
            "anvil_mine": lambda p: self.ctl_mine([{"blocks": hexint(p[0]) if p else 1}]),
        }

    # -- lifecycle -------------------------------------------------------------------------------

    async def run_evm(self, fn, *a):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *a)

    async def setup_chain(self) -> None:
        args = self.args
        t0 = time.monotonic()
        self.lock = asyncio.Lock()
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        synthetic = args.prebuild_blocks > 0 or args.staged_blocks > 0
        spacing = 12
        extra = args.prebuild_blocks + args.staged_blocks + (1 if args.deploy else 0)
        genesis_ts = int(time.time()) - spacing * (extra + 1) if synthetic else None

        def init():
            chain = DevChain(args.chain_id, genesis_ts)
            return chain, chain.genesis_record()

        self.chain, genesis = await self.run_evm(init)
        self.index.extend(genesis)
        self.contracts = Contracts(self.chain)
        self.traffic = Traffic(self.chain, self.contracts, seed=args.seed)
        ts_step = spacing if synthetic else None
        if args.deploy:
            rec = await self._build(self.contracts.deploy_txs(self.chain), 0, ts_step)
            bad = [r for r in rec.receipts if r["status"] != "0x1"]
            if bad:
                raise RuntimeError(f"contract deployment failed: {bad}")
            self.contracts_info = self.contracts.describe(rec.number)
        t1 = time.monotonic()
        per_block = args.prebuild_txs_per_block if args.deploy else 0
        for _ in range(args.prebuild_blocks):
            await self._build([], per_block, ts_step)
        parent = self.index.head
        for _ in range(args.staged_blocks):
            parent = await self._build([], per_block, ts_step, parent=parent)
            self.staged.append(parent)
        t2 = time.monotonic()
        self.startup = {"chainInitSeconds": round(t1 - t0, 3), "prebuildSeconds": round(t2 - t1, 3)}

    async def _build(
        self, txs: list, traffic_count: int, ts_step: Optional[int] = None, parent: Optional[BlockRecord] = None
    ) -> BlockRecord:
        """Builds one block on the head and commits it. Caller holds the lock (or is setup).
        With `parent`, builds on that block and keeps it unpublished (staged blocks)."""
        publish = parent is None
        parent = parent or self.index.head
        traffic_count = traffic_count if self.contracts_info else 0

        def work():
            gen = (lambda nn: self.traffic.generate(traffic_count, nn)) if traffic_count else None
            ts = parent.timestamp + ts_step if ts_step else None
            rec, dropped = self.chain.build_block(parent, txs, gen, ts)
            self.traffic.observe(rec)
            return rec, dropped

        rec, dropped = await self.run_evm(work)
        if dropped:
            log.warning("dropped %d transactions with stale nonces", len(dropped))
        if publish:
            self.index.extend(rec)
            self.notify([], [rec])
        return rec

    async def mine(self, blocks: int, traffic_per_block: int = 0) -> list[BlockRecord]:
        out = []
        async with self.lock:
            if self.staged:
                raise RpcError(-32000, f"{len(self.staged)} staged blocks are still to be published; mine after them")
            for _ in range(blocks):
                txs, self.pending = self.pending, []
                out.append(await self._build(txs, traffic_per_block))
        return out

    async def producer(self) -> None:
        """Auto-mining: one block every --block-time seconds; with traffic on and block time 0,
        one block per second carrying that second's transactions."""
        carry = 0.0
        while not self.stopping.is_set():
            interval = self.block_time if self.block_time > 0 else (1.0 if self.traffic_rate > 0 else None)
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
                continue  # settings changed: recompute
            except asyncio.TimeoutError:
                pass
            if self.stopping.is_set():
                break
            if self.staged:
                async with self.lock:
                    rec = self.staged.pop(0)
                    self.index.extend(rec)
                    self.notify([], [rec])
                continue
            want = carry + self.traffic_rate * interval
            n = int(want)
            carry = want - n
            if self.block_time > 0 or n > 0:
                try:
                    await self.mine(1, n)
                except Exception:
                    log.exception("auto-mining failed")

    # -- notifications -----------------------------------------------------------------------------

    def notify(self, removed: list[BlockRecord], added: list[BlockRecord]) -> None:
        for conn in list(self.conns):
            for sub in list(conn.subs.values()):
                if sub.kind == "newHeads":
                    for rec in added:
                        self._push(conn, sub, rec.head_json())
                else:
                    for rec in reversed(removed):
                        for entry in reversed(rec.logs):
                            if sub.filter.matches(entry):
                                self._push(conn, sub, {**entry, "removed": True})
                    for rec in added:
                        for entry in rec.logs:
                            if sub.filter.matches(entry):
                                self._push(conn, sub, entry)

    @staticmethod
    def _push(conn: Conn, sub: Subscription, result: dict) -> None:
        conn.send({"jsonrpc": "2.0", "method": "eth_subscription",
                   "params": {"subscription": sub.id, "result": result}})

    # -- block resolution ---------------------------------------------------------------------------

    def resolve_number(self, tag: Any, i: int = 0) -> int:
        head = self.index.head.number
        if tag is None or tag == "latest" or tag == "pending":
            return head
        if tag == "earliest":
            return 0
        if tag == "safe":
            return max(0, head - self.finality_lag // 2)
        if tag == "finalized":
            return max(0, head - self.finality_lag)
        if isinstance(tag, dict):
            if "blockHash" in tag:
                rec = self.index.by_hash.get(str(tag["blockHash"]).lower())
                if rec is None:
                    raise RpcError(-32000, f"header for hash not found")
                return rec.number
            return self.resolve_number(tag.get("blockNumber"), i)
        n = hexint(tag, i)
        return n

    def block_at(self, tag: Any, i: int = 0) -> Optional[BlockRecord]:
        n = self.resolve_number(tag, i)
        if 0 <= n < len(self.index.canonical):
            return self.index.canonical[n]
        return None

    def block_by_hash(self, h: Any, i: int = 0) -> Optional[BlockRecord]:
        if not isinstance(h, str) or not h.startswith("0x") or len(h) != 66:
            raise invalid_arg(i, "hex string has length %d, want 64 for common.Hash" % (len(h) - 2 if isinstance(h, str) else 0))
        return self.index.by_hash.get(h.lower())

    def state_block(self, params: list, i: int) -> BlockRecord:
        tag = params[i] if len(params) > i else "latest"
        if isinstance(tag, str) and len(tag) == 66:
            rec = self.block_by_hash(tag, i)
        else:
            rec = self.block_at(tag, i)
        if rec is None:
            raise RpcError(-32000, "header not found")
        return rec

    # -- eth_ methods ---------------------------------------------------------------------------------

    def get_block_by_number(self, p):
        rec = self.block_at(p[0] if p else "latest")
        return rec.rendered(bool(p[1]) if len(p) > 1 else False) if rec else None

    def get_block_by_hash(self, p):
        rec = self.block_by_hash(p[0] if p else None)
        return rec.rendered(bool(p[1]) if len(p) > 1 else False) if rec else None

    def get_tx_count_by_number(self, p):
        rec = self.block_at(p[0] if p else "latest")
        return q(len(rec.txs)) if rec else None

    def get_tx_count_by_hash(self, p):
        rec = self.block_by_hash(p[0] if p else None)
        return q(len(rec.txs)) if rec else None

    def get_transaction(self, p):
        loc = self.index.tx_loc.get(str(p[0]).lower()) if p else None
        return loc[0].txs[loc[1]] if loc else None

    def get_tx_by_number_and_index(self, p):
        rec = self.block_at(p[0])
        i = hexint(p[1], 1)
        return rec.txs[i] if rec and i < len(rec.txs) else None

    def get_tx_by_hash_and_index(self, p):
        rec = self.block_by_hash(p[0])
        i = hexint(p[1], 1)
        return rec.txs[i] if rec and i < len(rec.txs) else None

    def get_receipt(self, p):
        loc = self.index.tx_loc.get(str(p[0]).lower()) if p else None
        return loc[0].receipts[loc[1]] if loc else None

    def get_block_receipts(self, p):
        tag = p[0] if p else "latest"
        if isinstance(tag, dict) and "blockHash" in tag:
            rec = self.block_by_hash(tag["blockHash"])
        elif isinstance(tag, str) and len(tag) == 66:
            rec = self.block_by_hash(tag)
        else:
            rec = self.block_at(tag)
        return list(rec.receipts) if rec else None

    def get_logs(self, p):
        if not p or not isinstance(p[0], dict):
            raise invalid_arg(0, "json: cannot unmarshal into Go value of type filters.FilterCriteria")
        crit = p[0]
        try:
            flt = LogFilter(crit.get("address"), crit.get("topics"))
        except ValueError as e:
            raise invalid_arg(0, str(e)) from None
        block_hash = crit.get("blockHash")
        if block_hash is not None:
            if crit.get("fromBlock") is not None or crit.get("toBlock") is not None:
                raise RpcError(-32602, "invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
            rec = self.block_by_hash(block_hash)
            if rec is None:
                raise RpcError(-32000, "unknown block")
            logs = flt.filter(rec.logs)
            self._check_result_cap(logs, rec.number, rec.number, flt)
            return logs
        head = self.index.head.number
        begin = self.resolve_number(crit.get("fromBlock"), 0)
        end = self.resolve_number(crit.get("toBlock"), 0)
        if begin > end:
            raise RpcError(-32602, "invalid block range params")
        if end > head:
            raise RpcError(-32602, "block range extends beyond current head block")
        if self.max_logs_range and end - begin + 1 > self.max_logs_range:
            raise RpcError(-32000, f"exceed maximum block range: {self.max_logs_range}")
        out = []
        for rec in self.index.canonical[begin:end + 1]:
            if rec.logs:
                out.extend(flt.filter(rec.logs))
        self._check_result_cap(out, begin, end, flt)
        return out

    def _check_result_cap(self, logs: list, begin: int, end: int, flt: LogFilter) -> None:
        cap = self.max_logs_results
        if not cap or len(logs) <= cap:
            return
        # the widest range starting at `begin` whose result fits (at least one block)
        count, to = 0, begin
        for n in range(begin, end + 1):
            count += len(flt.filter(self.index.canonical[n].logs))
            if count > cap:
                break
            to = n
        raise limit_exceeded(cap, begin, to)

    async def eth_call(self, p):
        rec = self.state_block(p, 1)
        tx = p[0] if p else {}
        try:
            out = await self.run_evm(self.chain.call, rec.header_obj, tx)
        except RpcError:
            raise
        except Exception as e:
            revert = getattr(e, "args", [b""])
            data = revert[0] if revert and isinstance(revert[0], bytes) else b""
            raise RpcError(3 if data else -32000, "execution reverted", hx(data) if data else None) from None
        return hx(out)

    async def get_balance(self, p):
        rec = self.state_block(p, 1)
        addr = parse_hex_bytes(p[0])
        return q(await self.run_evm(lambda: self.chain.state_at(rec.header_obj).get_balance(addr)))

    async def get_nonce(self, p):
        rec = self.state_block(p, 1)
        addr = parse_hex_bytes(p[0])
        return q(await self.run_evm(lambda: self.chain.state_at(rec.header_obj).get_nonce(addr)))

    async def get_code(self, p):
        rec = self.state_block(p, 1)
        addr = parse_hex_bytes(p[0])
        return hx(await self.run_evm(lambda: self.chain.state_at(rec.header_obj).get_code(addr)))

    async def send_raw_transaction(self, p):
        try:
            raw = parse_hex_bytes(p[0])
            tx = await self.run_evm(self.chain.decode_raw, raw)
            sender = tx.sender
        except Exception as e:
            raise RpcError(-32000, f"invalid transaction: {e}") from None
        head = self.index.head
        nonce = await self.run_evm(lambda: self.chain.state_at(head.header_obj).get_nonce(sender))
        queued = sum(1 for t in self.pending if t.sender == sender)
        if tx.nonce < nonce + queued:
            raise RpcError(-32000, "nonce too low")
        if tx.nonce > nonce + queued:
            raise RpcError(-32000, "nonce too high (this devnet has no queue for future nonces)")
        self.pending.append(tx)
        if self.block_time <= 0:
            await self.mine(1)
        return hx(tx.hash)

    # -- controls ---------------------------------------------------------------------------------------

    def ready_info(self) -> dict:
        return {
            "http": f"http://127.0.0.1:{self.port}",
            "ws": f"ws://127.0.0.1:{self.port}",
            "port": self.port,
            "chainId": self.chain.chain_id,
            "contracts": self.contracts_info,
            "accounts": [hx(a) for a in self.chain.accounts],
            "head": self.index.head.number,
            "finalityLag": self.finality_lag,
            "blockTime": self.block_time,
            "traffic": self.traffic_rate,
            "staged": len(self.staged),
            **self.startup,
        }

    def ctl_info(self, p):
        head = self.index.head.number
        return {
            **self.ready_info(),
            "head": head,
            "headHash": self.index.head.hash,
            "safe": self.resolve_number("safe"),
            "finalized": self.resolve_number("finalized"),
            "maxLogsRange": self.max_logs_range,
            "maxLogsResults": self.max_logs_results,
            "pendingTransactions": len(self.pending),
            "failures": [f.to_json() for f in self.failures if f.count is None or f.count > 0],
            "trafficCounts": dict(self.traffic.counts),
            "webSockets": len(self.conns),
        }

    @staticmethod
    def _opts(p, key: str) -> dict:
        if not p:
            return {}
        if isinstance(p[0], dict):
            return p[0]
        return {key: p[0]}

    async def ctl_mine(self, p):
        o = self._opts(p, "blocks")
        blocks = int(o.get("blocks", 1))
        per = int(o.get("txsPerBlock", 0))
        if blocks < 1 or blocks > 100000 or per < 0 or per > 1000:
            raise RpcError(-32602, "blocks must be 1..100000 and txsPerBlock 0..1000")
        if per and not self.contracts_info:
            raise RpcError(-32000, "traffic needs the contracts (run without --no-deploy)")
        recs = await self.mine(blocks, per)
        return {"from": recs[0].number, "to": recs[-1].number, "head": self.index.head.number,
                "hashes": [r.hash for r in recs],
                "transactions": sum(len(r.txs) for r in recs), "logs": sum(len(r.logs) for r in recs)}

    async def ctl_reorg(self, p):
        o = self._opts(p, "depth")
        depth = int(o.get("depth", 1))
        new_blocks = int(o.get("newBlocks", depth))
        replay = bool(o.get("replay", True))
        per = int(o.get("txsPerBlock", 0))
        async with self.lock:
            head = self.index.head.number
            if depth < 1 or depth > head or new_blocks < 1:
                raise RpcError(-32602, f"depth must be 1..{head} (head) and newBlocks >= 1")
            fork = head - depth
            old = self.index.canonical[fork + 1:]
            fork_rec = self.index.canonical[fork]
            pending, self.pending = self.pending, []
            canonical_prefix = self.index.canonical[:fork + 1]
            use_traffic = per if self.contracts_info else 0

            def work():
                self.traffic.rebuild(canonical_prefix)
                replays = [list(r.tx_objs) for r in old] if replay else []
                parent, out, dropped = fork_rec, [], []
                for i in range(new_blocks):
                    txs = replays[i] if i < len(replays) else []
                    last = i == new_blocks - 1
                    if last:
                        for rest in replays[new_blocks:]:
                            txs = txs + rest
                        txs = txs + pending
                    n = use_traffic if (last or not replay) else 0
                    gen = (lambda nn, n=n: self.traffic.generate(n, nn)) if n else None
                    rec, d = self.chain.build_block(parent, txs, gen)
                    dropped.extend(d)
                    self.traffic.observe(rec)
                    out.append(rec)
                    parent = rec
                self.chain.make_canonical(out[-1])
                return out, dropped

            t0 = time.monotonic()
            new, dropped = await self.run_evm(work)
            orphaned = self.index.reorg(fork, new)
            self.notify(orphaned, new)
            seconds = time.monotonic() - t0
        return {
            "forkPoint": {"number": fork, "hash": fork_rec.hash},
            "orphaned": [r.hash for r in orphaned],
            "new": [r.hash for r in new],
            "head": self.index.head.number,
            "orphanedLogs": sum(len(r.logs) for r in orphaned),
            "newLogs": sum(len(r.logs) for r in new),
            "droppedTransactions": [hx(t.hash) for t in dropped],
            "seconds": round(seconds, 3),
        }

    def ctl_set_finality_lag(self, p):
        o = self._opts(p, "lag")
        lag = int(o.get("lag", self.finality_lag))
        if lag < 0:
            raise RpcError(-32602, "lag must be >= 0")
        self.finality_lag = lag
        return {"finalityLag": lag, "safe": self.resolve_number("safe"), "finalized": self.resolve_number("finalized")}

    def ctl_set_block_time(self, p):
        o = self._opts(p, "seconds")
        seconds = float(o.get("seconds", 0))
        if seconds < 0:
            raise RpcError(-32602, "seconds must be >= 0")
        self.block_time = seconds
        self.wake.set()
        return {"blockTime": seconds}

    def ctl_set_traffic(self, p):
        o = self._opts(p, "rate")
        rate = float(o.get("rate", 0))
        if rate < 0:
            raise RpcError(-32602, "rate must be >= 0")
        if rate and not self.contracts_info:
            raise RpcError(-32000, "traffic needs the contracts (run without --no-deploy)")
        self.traffic_rate = rate
        self.wake.set()
        return {"traffic": rate, "counts": dict(self.traffic.counts)}

    def ctl_set_logs_limits(self, p):
        o = self._opts(p, "maxRange")
        if "maxRange" in o:
            self.max_logs_range = int(o["maxRange"]) if o["maxRange"] else None
        if "maxResults" in o:
            self.max_logs_results = int(o["maxResults"]) if o["maxResults"] else None
        return {"maxLogsRange": self.max_logs_range, "maxLogsResults": self.max_logs_results}

    def ctl_inject_failure(self, p):
        o = self._opts(p, "kind")
        kind = o.get("kind")
        if kind not in FAILURE_KINDS:
            raise RpcError(-32602, f"kind must be one of {sorted(FAILURE_KINDS)}")
        count = o.get("count", 1)
        f = Failure(
            id=next(self.failure_ids),
            kind=kind,
            method=str(o.get("method", "*")),
            count=None if count is None else int(count),
            transport=str(o.get("transport", "any")),
            retry_after=int(o.get("retryAfter", 1)),
            delay_ms=None if o.get("delayMs") is None else int(o["delayMs"]),
            code=int(o.get("code", -32000)),
            message=str(o.get("message", "injected failure")),
            limit=int(o.get("limit", 10000)),
        )
        if f.transport not in ("any", "http", "ws"):
            raise RpcError(-32602, "transport must be any, http or ws")
        self.failures.append(f)
        return f.to_json()

    def ctl_clear_failures(self, p):
        n = len(self.failures)
        self.failures.clear()
        return {"cleared": n}

    def ctl_drop_websockets(self, p):
        return {"dropped": self.drop_websockets()}

    def drop_websockets(self) -> int:
        conns = list(self.conns)
        for conn in conns:
            conn.abort()
        self.conns.clear()
        return len(conns)

    # -- failure lookup ---------------------------------------------------------------------------------

    def take_failure(self, methods: list[str], transport: str, kinds: set) -> Optional[Failure]:
        for f in self.failures:
            if f.kind in kinds and any(f.matches(m, transport) for m in methods):
                if f.count is not None:
                    f.count -= 1
                return f
        return None

    def call_failure_error(self, f: Failure, method: str, params: Any) -> RpcError:
        if f.kind == "limitExceeded":
            begin, end = self._failure_range(method, params)
            return limit_exceeded(f.limit, begin, begin + (end - begin) // 2)
        if f.kind == "http429":  # over WebSocket there is no status line
            return RpcError(429, "Too Many Requests", {"retryAfter": f.retry_after})
        return RpcError(f.code, f.message)

    def _failure_range(self, method: str, params: Any) -> tuple[int, int]:
        head = self.index.head.number
        try:
            crit = params[0]
            if crit.get("blockHash"):
                rec = self.index.by_hash.get(crit["blockHash"].lower())
                n = rec.number if rec else head
                return n, n
            begin = min(self.resolve_number(crit.get("fromBlock")), head)
            end = min(self.resolve_number(crit.get("toBlock")), head)
            return min(begin, end), max(begin, end)
        except Exception:
            return head, head

    # -- JSON-RPC dispatch --------------------------------------------------------------------------------

    async def call(self, req: Any, transport: str, conn: Optional[Conn] = None) -> Optional[dict]:
        if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or not isinstance(req.get("method"), str):
            rid = req.get("id") if isinstance(req, dict) else None
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32600, "message": "invalid request"}}
        rid = req.get("id")
        method = req["method"]
        params = req.get("params")
        if params is None:
            params = []
        try:
            if not isinstance(params, list):
                raise RpcError(-32602, "non-array args")
            f = self.take_failure([method], transport, CALL_KINDS)
            if f is not None:
                raise self.call_failure_error(f, method, params)
            if method not in self.methods:
                raise RpcError(-32601, f"the method {method} does not exist/is not available")
            if method in ("eth_subscribe", "eth_unsubscribe"):
                if conn is None:
                    raise RpcError(-32601, "notifications not supported")
                result = self.subscribe(conn, params) if method == "eth_subscribe" else self.unsubscribe(conn, params)
            else:
                result = self.methods[method](params)
                if asyncio.iscoroutine(result):
                    result = await result
        except RpcError as e:
            return {"jsonrpc": "2.0", "id": rid, "error": e.to_json()}
        except (IndexError, KeyError, TypeError, ValueError) as e:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"invalid argument: {e}"}}
        except Exception as e:  # pragma: no cover - unexpected
            log.exception("internal error in %s", method)
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": f"internal error: {e}"}}
        if "id" not in req:  # a notification gets no response
            return None
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def subscribe(self, conn: Conn, params: list) -> str:
        if not params:
            raise RpcError(-32602, "invalid argument 0: expected subscription name")
        kind = params[0]
        if kind == "newHeads":
            sub = Subscription(id="0x" + secrets.token_hex(16), kind=kind)
        elif kind == "logs":
            crit = params[1] if len(params) > 1 and params[1] else {}
            try:
                flt = LogFilter(crit.get("address"), crit.get("topics"))
            except ValueError as e:
                raise invalid_arg(1, str(e)) from None
            sub = Subscription(id="0x" + secrets.token_hex(16), kind=kind, filter=flt)
        else:
            raise RpcError(-32602, f"no \"{kind}\" subscription in eth namespace")
        conn.subs[sub.id] = sub
        return sub.id

    def unsubscribe(self, conn: Conn, params: list) -> bool:
        return conn.subs.pop(params[0] if params else None, None) is not None

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.handle_ws(request)
        if request.method == "GET":
            return web.json_response({"devnet": "tributary", **self.ready_info()})
        if request.method != "POST":
            return web.Response(status=405, text="method not allowed")
        body = await request.read()
        try:
            payload = json.loads(body)
        except ValueError:
            return self._json({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
        batch = isinstance(payload, list)
        reqs = payload if batch else [payload]
        if batch and not reqs:
            return self._json({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}})
        methods = [r.get("method") for r in reqs if isinstance(r, dict) and isinstance(r.get("method"), str)]
        first_id = reqs[0].get("id") if isinstance(reqs[0], dict) else None
        f = self.take_failure(methods, "http", TRANSPORT_KINDS)
        if f is not None:
            if f.kind == "http429":
                return web.Response(
                    status=429, headers={"Retry-After": str(f.retry_after)}, content_type="application/json",
                    text=json.dumps({"jsonrpc": "2.0", "id": first_id,
                                     "error": {"code": 429, "message": "Too Many Requests"}}))
            if f.kind == "timeout":
                await self._hold(f)
            if f.kind == "dropWebSockets":
                self.drop_websockets()
        responses = [await self.call(r, "http") for r in reqs]
        responses = [r for r in responses if r is not None]
        if not responses:  # only notifications
            return web.Response(status=200, content_type="application/json", text="")
        out = responses if batch else responses[0]
        text = json.dumps(out, separators=(",", ":"))
        if f is not None and f.kind == "malformed":
            return web.Response(status=200, content_type="application/json", text=text[: max(1, len(text) // 2)])
        return web.Response(status=200, content_type="application/json", text=text)

    async def _hold(self, f: Failure) -> None:
        timeout = NEVER if f.delay_ms is None else f.delay_ms / 1000
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=timeout)
        except asyncio.TimeoutError:
            pass

    @staticmethod
    def _json(obj) -> web.Response:
        return web.Response(status=200, content_type="application/json", text=json.dumps(obj, separators=(",", ":")))

    # -- WebSocket ----------------------------------------------------------------------------------------

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=64 * 1024 * 1024, autoping=True)
        await ws.prepare(request)
        conn = Conn(ws=ws, transport=request.transport)
        self.conns.add(conn)
        writer = asyncio.create_task(self._ws_writer(conn))
        tasks: set = set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    t = asyncio.create_task(self._ws_message(conn, msg.data))
                    tasks.add(t)
                    t.add_done_callback(tasks.discard)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            conn.closed = True
            self.conns.discard(conn)
            writer.cancel()
            for t in list(tasks):
                t.cancel()
        return ws

    async def _ws_writer(self, conn: Conn) -> None:
        try:
            while True:
                text = await conn.queue.get()
                await conn.ws.send_str(text)
        except (asyncio.CancelledError, ConnectionError, RuntimeError):
            pass

    async def _ws_message(self, conn: Conn, data: str) -> None:
        try:
            payload = json.loads(data)
        except ValueError:
            conn.send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            return
        batch = isinstance(payload, list)
        reqs = payload if batch else [payload]
        if batch and not reqs:
            conn.send({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}})
            return
        methods = [r.get("method") for r in reqs if isinstance(r, dict) and isinstance(r.get("method"), str)]
        f = self.take_failure(methods, "ws", TRANSPORT_KINDS - {"http429"})
        if f is not None:
            if f.kind == "dropWebSockets":
                self.drop_websockets()
                return
            if f.kind == "timeout":
                await self._hold(f)
                if f.delay_ms is None or conn.closed:
                    return
        f429 = self.take_failure(methods, "ws", {"http429"})
        if f429 is not None:
            responses = [{"jsonrpc": "2.0", "id": r.get("id") if isinstance(r, dict) else None,
                          "error": RpcError(429, "Too Many Requests", {"retryAfter": f429.retry_after}).to_json()}
                         for r in reqs]
        else:
            responses = [r for r in [await self.call(r, "ws", conn) for r in reqs] if r is not None]
            if not responses:
                return
        out = responses if batch else responses[0]
        text = json.dumps(out, separators=(",", ":"))
        if f is not None and f.kind == "malformed":
            text = text[: max(1, len(text) // 2)]
        conn.send(text)

    # -- serving ------------------------------------------------------------------------------------------

    async def serve(self) -> None:
        await self.setup_chain()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.args.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        producer = asyncio.create_task(self.producer())
        print("READY " + json.dumps(self.ready_info(), separators=(",", ":")), flush=True)
        if self.args.ready_file:
            with open(self.args.ready_file, "w") as fh:
                json.dump(self.ready_info(), fh)
        await self.stopping.wait()
        self.wake.set()
        producer.cancel()
        for conn in list(self.conns):
            conn.closed = True
            try:
                await asyncio.wait_for(conn.ws.close(), timeout=0.5)
            except Exception:
                pass
        await runner.cleanup()
        self.executor.shutdown(wait=False, cancel_futures=True)


def limit_exceeded(limit: int, begin: int, to: int) -> RpcError:
    """Infura's wording and data for a result-count cap (Alchemy's suggested-range parsers
    accept the same bracketed range)."""
    return RpcError(
        -32005,
        f"query returned more than {limit} results. Try with this block range [{hex_upper(begin)}, {hex_upper(to)}].",
        {"from": hex_upper(begin), "limit": limit, "to": hex_upper(to)},
    )
