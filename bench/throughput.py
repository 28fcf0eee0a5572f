"""Throughput of publish → match → no-op async handler, one rule, on memory:// and sqlite://.

Each configuration runs in a fresh process so that its peak RSS is its own. The publisher and
the runtime share the event loop: the publisher creates events and publishes them in batches
while the runtime reads, matches and delivers them; the clock stops when the handler has seen
the last event.

    python bench/throughput.py                 # N=100,000 and 300,000 on both stores
    python bench/throughput.py --n 50000 --store memory --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH = 500


async def _run(store: str, n: int) -> dict[str, float]:
    from eventbridge_sdk import Event, EventBridge

    bridge = EventBridge(store)
    bus = bridge.bus("orders")
    seen = 0
    finished = asyncio.Event()

    @bus.rule("created", pattern={"type": ["order.created"], "source": ["/shop"]})
    async def noop(event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            finished.set()

    await bridge.start()
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        events = [
            Event(
                type="order.created",
                source="/shop",
                subject=f"order/{i}",
                data={
                    "order": i,
                    "customer": "c-17",
                    "total": 99.5,
                    "currency": "EUR",
                    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
                },
            )
            for i in range(first, min(first + BATCH, n))
        ]
        await bridge.publish("orders", events)
    published = time.perf_counter()
    await finished.wait()
    elapsed = time.perf_counter() - started
    await bridge.stop()
    return {
        "events_per_s": n / elapsed,
        "publish_per_s": n / (published - started),
        "seconds": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(store: str, n: int) -> None:
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'events.db'}"
            print(json.dumps(asyncio.run(_run(url, n))))
    else:
        print(json.dumps(asyncio.run(_run("memory://", n))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[100_000, 300_000])
    parser.add_argument("--store", choices=["memory", "sqlite", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    stores = ["memory", "sqlite"] if args.store == "all" else [args.store]
    print(
        f"{'store':8} {'N':>9} {'events/s (median)':>18} {'best':>9} {'publish/s':>10} "
        f"{'peak RSS MB':>12}"
    )
    for store in stores:
        for n in args.n:
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", store, str(n)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            rates = sorted(r["events_per_s"] for r in runs)
            median = rates[len(rates) // 2]
            publish = sorted(r["publish_per_s"] for r in runs)[len(runs) // 2]
            rss = max(r["peak_rss_mb"] for r in runs)
            print(
                f"{store:8} {n:>9,} {median:>18,.0f} {rates[-1]:>9,.0f} {publish:>10,.0f} "
                f"{rss:>12.1f}"
            )


if __name__ == "__main__":
    main()
