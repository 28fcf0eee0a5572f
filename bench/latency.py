"""Latency of publish → async handler, one rule, on memory:// and sqlite://, idle and at half load.

Every event carries its send time (``time.perf_counter()`` just before ``publish`` is called) in
its data; the handler reads it, so a figure covers the whole way: encoding, the append (durable
on SQLite), the listener's wake-up and read, matching, delivery. The ``publish`` call's own
latency is measured beside it.

- **idle**: one event at a time, the next published once the handler has seen the previous one
  (after a warm-up of 200 events).
- **half load**: one event per ``publish`` call, each in a task of its own, started on a steady
  schedule (every millisecond, the publishes due by then) at half the store's maximum
  throughput for a few seconds. The maximum is measured
  first, in a process of its own, by a burst of the same publishes started as fast as the event
  loop takes them; ``--rate`` skips that and sets the rate. "cpu" is the process's CPU time over
  the load's wall time: near 100% the event loop itself is the bottleneck.

Each configuration runs in a fresh process, on a fresh SQLite file.

    python bench/latency.py                          # both stores, idle and half load
    python bench/latency.py --store sqlite --mode load --rate 4000 --seconds 10
    python bench/latency.py --store sqlite --query synchronous=FULL --repeat 3

Targets: p99 publish → handler ≤ 1 ms on memory and ≤ 2 ms on SQLite at idle; on SQLite at half
load p99 ≤ 5 ms and no delivery slower than 50 ms.
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
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

WARMUP = 200
BURST_STEP = 64
"""Publishes the burst starts per turn of the event loop."""
TICK = 0.001
"""Seconds between two looks of the load's schedule, which starts every publish due by then."""

Publish = Callable[[int], Coroutine[Any, Any, float]]
Body = Callable[[dict[str, Any], Publish], Awaitable[dict[str, Any]]]


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(latencies: list[float], publishes: list[float]) -> dict[str, Any]:
    latencies, publishes = sorted(latencies), sorted(publishes)
    return {
        "n": len(latencies),
        "p50_us": _quantile(latencies, 0.50) * 1e6,
        "p99_us": _quantile(latencies, 0.99) * 1e6,
        "max_us": latencies[-1] * 1e6,
        "publish_p50_us": _quantile(publishes, 0.50) * 1e6,
        "publish_p99_us": _quantile(publishes, 0.99) * 1e6,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _with_bridge(url: str, body: Body) -> dict[str, Any]:
    """Start a bridge with one rule whose async handler records latencies; run ``body``.

    ``body(state, publish)`` sets ``state["expect"]`` (events the handler must see before
    ``state["done"]`` is set) and calls ``publish(i)``, which publishes event ``i`` stamped with
    its send time and returns how long the ``publish`` call took.
    """
    from eventbridge_sdk import Event, EventBridge

    bridge = EventBridge(url)
    bus = bridge.bus("orders")
    state: dict[str, Any] = {"latencies": [], "seen": 0, "expect": 0, "done": asyncio.Event()}

    @bus.rule("created", pattern={"type": ["order.created"], "source": ["/shop"]})
    async def handler(event: Event) -> None:
        state["latencies"].append(time.perf_counter() - event.data["sent"])
        state["seen"] += 1
        if state["seen"] >= state["expect"]:
            state["done"].set()

    async def publish(i: int) -> float:
        sent = time.perf_counter()
        await bridge.publish(
            "orders",
            Event(
                type="order.created",
                source="/shop",
                subject=f"order/{i}",
                data={"order": i, "customer": "c-17", "total": 99.5, "sent": sent},
            ),
        )
        return time.perf_counter() - sent

    await bridge.start()
    try:
        return await body(state, publish)
    finally:
        await bridge.stop()


async def _idle(url: str, n: int) -> dict[str, Any]:
    async def body(state: dict[str, Any], publish: Publish) -> dict[str, Any]:
        publishes: list[float] = []
        for i in range(WARMUP + n):
            state["expect"] = i + 1
            state["done"].clear()
            took = await publish(i)
            await state["done"].wait()
            if i >= WARMUP:
                publishes.append(took)
        return _summary(state["latencies"][WARMUP:], publishes)

    return await _with_bridge(url, body)


def _start(publish: Publish, i: int, tasks: set[asyncio.Task[float]]) -> asyncio.Task[float]:
    task = asyncio.create_task(publish(i))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def _max_rate(url: str, n: int) -> dict[str, Any]:
    """Publishes as at load, started as fast as the event loop takes them."""

    async def body(state: dict[str, Any], publish: Publish) -> dict[str, Any]:
        state["expect"] = n
        tasks: set[asyncio.Task[float]] = set()
        started = time.perf_counter()
        for first in range(0, n, BURST_STEP):
            for i in range(first, min(n, first + BURST_STEP)):
                _start(publish, i, tasks)
            await asyncio.sleep(0)
        await state["done"].wait()
        return {"max_per_s": n / (time.perf_counter() - started)}

    return await _with_bridge(url, body)


async def _load(url: str, rate: float, seconds: float) -> dict[str, Any]:
    """Publishes started on a steady schedule of ``rate`` per second."""

    async def body(state: dict[str, Any], publish: Publish) -> dict[str, Any]:
        n = int(rate * seconds)
        state["expect"] = n
        tasks: set[asyncio.Task[float]] = set()
        publishes: list[float] = []
        cpu = _cpu_seconds()
        started = time.perf_counter()
        sent = 0
        while sent < n:
            due = min(n, int((time.perf_counter() - started) * rate) + 1)
            while sent < due:
                task = _start(publish, sent, tasks)
                task.add_done_callback(lambda t: publishes.append(t.result()))
                sent += 1
            await asyncio.sleep(TICK)
        await state["done"].wait()
        elapsed = time.perf_counter() - started
        result = _summary(state["latencies"], publishes)
        result["rate"] = rate
        result["achieved_per_s"] = n / elapsed
        result["cpu"] = (_cpu_seconds() - cpu) / elapsed
        return result

    return await _with_bridge(url, body)


def _child(store: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = "memory://"
        if store == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'events.db'}" + (f"?{args.query}" if args.query else "")
        if mode == "idle":
            return asyncio.run(_idle(url, args.n))
        if mode == "max":
            return asyncio.run(_max_rate(url, args.burst))
        return asyncio.run(_load(url, args.rate, args.seconds))


def _spawn(store: str, mode: str, args: argparse.Namespace, rate: float = 0.0) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", store, mode, "--n", str(args.n)]
    command += ["--burst", str(args.burst), "--seconds", str(args.seconds), "--rate", str(rate)]
    command += ["--query", args.query]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


TARGETS = {
    ("memory", "idle"): [("p99_us", 1_000.0)],
    ("sqlite", "idle"): [("p99_us", 2_000.0)],
    ("sqlite", "load"): [("p99_us", 5_000.0), ("max_us", 50_000.0)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["memory", "sqlite", "all"], default="all")
    parser.add_argument("--mode", choices=["idle", "load", "all"], default="all")
    parser.add_argument("--n", type=int, default=3000, help="events at idle (after a warm-up)")
    parser.add_argument("--burst", type=int, default=20_000, help="events to measure the max")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the half load")
    parser.add_argument("--rate", type=float, default=0.0, help="events/s at load (skip max)")
    parser.add_argument("--query", default="", help="options for the sqlite:// URL")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args)))
        return
    stores = ["memory", "sqlite"] if args.store == "all" else [args.store]
    modes = ["idle", "load"] if args.mode == "all" else [args.mode]
    print(
        f"{'store':7} {'mode':5} {'events/s':>9} {'cpu':>5} {'p50 µs':>8} {'p99 µs':>8} "
        f"{'max µs':>9} {'publish p50':>12} {'publish p99':>12}"
    )
    verdicts: list[str] = []
    for store in stores:
        for mode in modes:
            for _ in range(args.repeat):
                rate, cpu = args.rate, f"{'-':>5}"
                if mode == "load" and not rate:
                    peak = _spawn(store, "max", args)["max_per_s"]
                    rate = peak / 2
                    print(f"{store:7} max   {peak:>9,.0f}   (a burst of {args.burst:,} publishes)")
                r = _spawn(store, mode, args, rate)
                label = f"{rate:>9,.0f}" if mode == "load" else f"{'-':>9}"
                if mode == "load":
                    cpu = f"{r['cpu']:>5.0%}"
                print(
                    f"{store:7} {mode:5} {label} {cpu} {r['p50_us']:>8,.0f} {r['p99_us']:>8,.0f} "
                    f"{r['max_us']:>9,.0f} {r['publish_p50_us']:>12,.0f} "
                    f"{r['publish_p99_us']:>12,.0f}"
                )
                if mode == "load" and r["achieved_per_s"] < 0.95 * rate:
                    print(f"        (the schedule kept only {r['achieved_per_s']:,.0f} events/s)")
                for key, bound in TARGETS.get((store, mode), []):
                    met = "met" if r[key] <= bound else "NOT met"
                    what = key.removesuffix("_us")
                    verdicts.append(
                        f"{store} {mode}: {what} {r[key]:,.0f} µs ≤ {bound:,.0f} µs: {met}"
                    )
    print()
    for line in verdicts:
        print(f"target  {line}")


if __name__ == "__main__":
    main()
