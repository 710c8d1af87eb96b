"""python -m devnet: the Tributary development chain (see devnet/README.md)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m devnet", description="Local EVM JSON-RPC devnet (HTTP + WebSocket on one port, 127.0.0.1 only).")
    p.add_argument("--port", type=int, default=8545, help="port on 127.0.0.1; 0 picks a free one (default 8545)")
    p.add_argument("--chain-id", type=int, default=31337)
    p.add_argument("--finality-lag", type=int, default=16, help="finalized = head - lag, safe = head - lag/2 (default 16)")
    p.add_argument("--block-time", type=float, default=0.0, help="seconds between auto-mined blocks; 0 = mine on demand (default)")
    p.add_argument("--traffic", type=float, default=0.0, metavar="RATE", help="transactions per second from the traffic generator (default 0 = off)")
    deploy = p.add_mutually_exclusive_group()
    deploy.add_argument("--deploy", dest="deploy", action="store_true", default=True, help="deploy the three contracts in block 1 (default)")
    deploy.add_argument("--no-deploy", dest="deploy", action="store_false", help="start with genesis only")
    p.add_argument("--max-logs-range", type=int, default=0, metavar="N", help="reject eth_getLogs ranges wider than N blocks (default off)")
    p.add_argument("--max-logs-results", type=int, default=0, metavar="N", help="reject eth_getLogs results over N logs with -32005 and a suggested range (default off)")
    p.add_argument("--prebuild-blocks", type=int, default=0, metavar="N", help="build N blocks of traffic before READY (12 s apart, ending now)")
    p.add_argument("--prebuild-txs-per-block", type=int, default=4, metavar="K", help="traffic transactions per prebuilt block (default 4: about 8 logs)")
    p.add_argument("--staged-blocks", type=int, default=0, metavar="N", help="build N more blocks of traffic before READY and publish one per --block-time (a paced chain faster than live execution)")
    p.add_argument("--seed", type=int, default=20261124, help="traffic generator seed")
    p.add_argument("--ready-file", help="also write the READY JSON to this file")
    p.add_argument("--verbose", action="store_true", help="log to stderr")
    p.add_argument("--exit-with-parent", action="store_true", help="stop when the process that started it dies (tributary dev)")
    args = p.parse_args(argv)
    if args.port < 0 or args.port > 65535:
        p.error("--port must be 0..65535")
    if args.traffic and not args.deploy:
        p.error("--traffic needs the contracts (drop --no-deploy)")
    if args.staged_blocks and args.block_time <= 0:
        p.error("--staged-blocks needs --block-time (one staged block is published per block time)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="devnet %(levelname)s %(message)s")
    from .server import DevnetServer

    async def run() -> None:
        server = DevnetServer(args)
        loop = asyncio.get_running_loop()
        server_task = asyncio.ensure_future(server.serve())
        # stopping exists once setup starts; install handlers that work before that too
        stop_requested = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_requested.set)
        stopper = asyncio.ensure_future(stop_requested.wait())
        if args.exit_with_parent:
            parent = os.getppid()

            async def watch_parent() -> None:
                # A parent killed with SIGKILL cannot stop us: notice being re-parented instead.
                while os.getppid() == parent:
                    await asyncio.sleep(0.5)
                stop_requested.set()

            asyncio.ensure_future(watch_parent())
        done, _ = await asyncio.wait({server_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if server_task in done:
            server_task.result()
            return
        if server.stopping is not None and server.port:
            server.stopping.set()
            await server_task
        else:  # still starting up
            server_task.cancel()
            server.executor.shutdown(wait=False, cancel_futures=True)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
