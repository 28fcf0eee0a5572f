"""A slow target holds back nobody: a fast target's throughput beside a target held to 500/s.

One bus, one rule, two targets: ``fast`` (a no-op async handler) and ``slow`` (the same handler
held to 500 events/s by its rate limit). N events are published while the runtime runs; the clock
stops when ``fast`` has seen the last one. The slow target's backlog spills to the store's delay
queue, so it neither slows the fast one nor fills memory. Each run is a fresh process, so its
peak RSS is its own; "solo" is the same run without the slow target.

    python bench/backpressure.py                      # N=200,000 on sqlite and memory
    python bench/backpressure.py --n 50000 --store sqlite --repeat 3

Targets: the fast target keeps >= 80% of its solo throughput; peak RSS under 200 MB.
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


async def _run(store: str, n: int, with_slow: bool) -> dict[str, float]:
    from eventbridge_sdk import Event, EventBridge

    bridge = EventBridge(store)
    rule = bridge.bus("orders").rule("created", pattern={"type": ["order.created"]})
    seen = slow_seen = 0
    finished = asyncio.Event()

    @rule.target()
    async def fast(event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            finished.set()

    if with_slow:

        @rule.target(rate_limit=500)
        async def slow(event: Event) -> None:
            nonlocal slow_seen
            slow_seen += 1

    await bridge.start()
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        events = [
            Event(
                type="order.created",
                source="/shop",
                subject=f"order/{i}",
                data={"order": i, "customer": "c-17", "total": 99.5, "currency": "EUR"},
            )
            for i in range(first, min(first + BATCH, n))
        ]
        await bridge.publish("orders", events)
    await finished.wait()
    elapsed = time.perf_counter() - started
    status = await bridge.status()
    backlog = sum(t.delayed for t in status.targets)
    await bridge.stop(timeout=10)
    return {
        "fast_per_s": n / elapsed,
        "slow_done": slow_seen,
        "backlog": backlog,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(store: str, n: int, with_slow: bool) -> None:
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'events.db'}"
            print(json.dumps(asyncio.run(_run(url, n, with_slow))))
    else:
        print(json.dumps(asyncio.run(_run("memory://?capacity=1000000", n, with_slow))))


def _median_run(store: str, n: int, with_slow: bool, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--child", store, str(n), str(int(with_slow))],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    runs.sort(key=lambda r: r["fast_per_s"])
    middle = dict(runs[len(runs) // 2])
    middle["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--store", choices=["memory", "sqlite", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), args.child[2] == "1")
        return
    stores = ["sqlite", "memory"] if args.store == "all" else [args.store]
    print(
        f"{'store':8} {'N':>9} {'fast solo/s':>12} {'fast beside slow/s':>19} {'ratio':>6} "
        f"{'slow done':>10} {'slow backlog':>13} {'peak RSS MB':>12}"
    )
    for store in stores:
        solo = _median_run(store, args.n, False, args.repeat)
        mixed = _median_run(store, args.n, True, args.repeat)
        ratio = mixed["fast_per_s"] / solo["fast_per_s"]
        print(
            f"{store:8} {args.n:>9,} {solo['fast_per_s']:>12,.0f} {mixed['fast_per_s']:>19,.0f} "
            f"{ratio:>6.0%} {mixed['slow_done']:>10,} {mixed['backlog']:>13,} "
            f"{max(solo['peak_rss_mb'], mixed['peak_rss_mb']):>12.1f}"
        )


if __name__ == "__main__":
    main()
