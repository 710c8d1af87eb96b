"""Bounded `ethereumetl stream -e log`: ethereum-etl's own EthStreamerAdapter.export_all over a
fixed block range, in one process, writing logs as JSON lines. Run by bench/peers/run-etl with
the interpreter of bench/peers/.venv-etl.

`ethereumetl stream` has no --end-block (it follows the head forever), so this calls the same
adapter the stream command builds, round by round, and stops at <last>. The RPC work is the
same as the documented export_blocks_and_transactions -> export_receipts_and_logs pipeline:
JSON-RPC batches of eth_getBlockByNumber(n, true), then batches of eth_getTransactionReceipt
for every transaction hash, on <max-workers> threads.

usage: etl_logs.py <http-url> <first> <last> <logs-out.json> <batch-size> <max-workers> <round-blocks>
Prints one JSON line with the in-process export time (imports excluded).
"""

import json
import sys
import time

from blockchainetl.jobs.exporters.composite_item_exporter import CompositeItemExporter
from ethereumetl.providers.auto import get_provider_from_uri
from ethereumetl.streaming.eth_streamer_adapter import EthStreamerAdapter
from ethereumetl.thread_local_proxy import ThreadLocalProxy


def main() -> None:
    url, out = sys.argv[1], sys.argv[4]
    first, last = int(sys.argv[2]), int(sys.argv[3])
    batch_size, max_workers, round_blocks = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])

    t0 = time.monotonic()
    # What ethereumetl/cli/stream.py builds, with only the `log` entity type.
    provider = ThreadLocalProxy(lambda: get_provider_from_uri(url, batch=True))
    adapter = EthStreamerAdapter(
        batch_web3_provider=provider,
        item_exporter=CompositeItemExporter(filename_mapping={"log": out}),
        batch_size=batch_size,
        max_workers=max_workers,
        entity_types=("log",),
    )
    adapter.open()
    start = first
    while start <= last:
        end = min(last, start + round_blocks - 1)
        adapter.export_all(start, end)
        start = end + 1
    adapter.close()
    print(json.dumps({"exportSeconds": round(time.monotonic() - t0, 3)}))


if __name__ == "__main__":
    main()
