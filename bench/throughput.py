"""Throughput of publish → match → handler on memory:// and sqlite://, beside a bare asyncio loop.

Each run is a fresh process, so that its peak RSS is its own. The publisher and the runtime share
the event loop: the publisher creates events and publishes them in batches of 500 while the
runtime reads, matches and delivers them; the clock stops when the handlers have seen the last
event. Scenarios:

- ``one-rule``: one rule, one async no-op handler (the project's pulse);
- ``sync``: the same with a synchronous handler (run in the thread pool);
- ``1000-rules``: 1,000 rules each with its own async handler, events spread evenly over them.

The **bare loop** does the least any in-process event loop must: encode each event with orjson,
queue it, decode it and await a no-op handler; the ``vs bare`` column is the framework's figure
over it. The **stages** table times each step of the path on its own, on the same events, so
that the total can be read against its parts; "runtime" is what the total leaves over (the
dispatcher, runners, offset tracking and commits, the event loop's scheduling).

    python bench/throughput.py                          # every scenario, N=100,000, median of 3
    python bench/throughput.py --n 100000 --repeat 3    # the pulse figures, one-rule included
    python bench/throughput.py --scenario one-rule --store memory --stages
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BATCH = 500
RULES = 1000
SCENARIOS = ("one-rule", "sync", "1000-rules")


def _events(first: int, count: int, spread: bool) -> list[Any]:
    from eventbridge_sdk import Event

    return [
        Event(
            type=f"order.created.{i % RULES}" if spread else "order.created",
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
        for i in range(first, first + count)
    ]


def _instrument(bridge: Any) -> None:
    """Tracing and metrics on, every span sampled, exported to nowhere (the SDK's own cost)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Nowhere(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Nowhere(), max_queue_size=200_000))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    bridge.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)


async def _run(store: str, n: int, scenario: str = "one-rule") -> dict[str, float]:
    from eventbridge_sdk import Event, EventBridge

    bridge = EventBridge(store)
    if os.environ.get("BENCH_TELEMETRY"):
        _instrument(bridge)
    bus = bridge.bus("orders")
    seen = 0
    finished = asyncio.Event()
    loop = asyncio.get_running_loop()

    def count() -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            finished.set()

    if scenario == "one-rule":

        @bus.rule("created", pattern={"type": ["order.created"], "source": ["/shop"]})
        async def noop(event: Event) -> None:
            count()

    elif scenario == "sync":
        lock = threading.Lock()

        @bus.rule("created", pattern={"type": ["order.created"], "source": ["/shop"]})
        def blocking(event: Event) -> None:
            nonlocal seen
            with lock:
                seen += 1
                if seen == n:
                    loop.call_soon_threadsafe(finished.set)

    else:
        for k in range(RULES):
            rule = bus.rule(f"r{k}", pattern={"type": [f"order.created.{k}"], "source": ["/shop"]})

            async def handler(event: Event) -> None:
                count()

            rule.target(name=f"t{k}")(handler)

    await bridge.start()
    started = time.perf_counter()
    for first in range(0, n, BATCH):
        await bridge.publish(
            "orders", _events(first, min(BATCH, n - first), scenario == "1000-rules")
        )
    published = time.perf_counter()
    await finished.wait()
    elapsed = time.perf_counter() - started
    await bridge.stop()
    return {
        "events_per_s": n / elapsed,
        "publish_per_s": n / (published - started),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def _bare(n: int) -> dict[str, float]:
    """Encode with orjson, queue in batches, decode, await a no-op handler: nothing else."""
    import orjson

    queue: asyncio.Queue[list[bytes] | None] = asyncio.Queue(4)
    seen = 0

    async def handler(event: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1

    async def consume() -> None:
        loads = orjson.loads
        while (bodies := await queue.get()) is not None:
            for body in bodies:
                await handler(loads(body))

    consumer = asyncio.create_task(consume())
    started = time.perf_counter()
    dumps = orjson.dumps
    for first in range(0, n, BATCH):
        await queue.put(
            [
                dumps(
                    {
                        "specversion": "1.0",
                        "id": f"id-{i}",
                        "source": "/shop",
                        "type": "order.created",
                        "subject": f"order/{i}",
                        "data": {
                            "order": i,
                            "customer": "c-17",
                            "total": 99.5,
                            "currency": "EUR",
                            "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
                        },
                    }
                )
                for i in range(first, min(first + BATCH, n))
            ]
        )
    await queue.put(None)
    await consumer
    assert seen == n
    return {"events_per_s": n / (time.perf_counter() - started)}


async def _stages(store_url: str, n: int) -> dict[str, float]:
    """Microseconds per event of each step of the path, timed on its own, batch by batch."""
    import orjson

    from eventbridge_sdk import Event
    from eventbridge_sdk.patterns import RuleIndex, compile_pattern
    from eventbridge_sdk.sinks.base import Delivery
    from eventbridge_sdk.stores import open_store

    spent = dict.fromkeys(
        ["build Event", "encode", "append", "fetch + decode", "match",
         "handler's Event + Delivery", "handler call"],
        0.0,
    )  # fmt: skip
    store = open_store(store_url)
    await store.open()
    index: RuleIndex[str] = RuleIndex()
    index.add("created", compile_pattern({"type": ["order.created"], "source": ["/shop"]}))

    async def noop(event: Event) -> None:
        return None

    clock = time.perf_counter
    for first in range(0, n, BATCH):
        t0 = clock()
        events = _events(first, min(BATCH, n - first), False)
        t1 = clock()
        bodies = [event.to_json() for event in events]
        t2 = clock()
        await store.append("orders", bodies)
        t3 = clock()
        records = await store.fetch("orders", "stages", max_count=BATCH, timeout=0.1)
        forms = [orjson.loads(record[2]) for record in records]
        t4 = clock()
        for form in forms:
            index.match(form)
        t5 = clock()
        deliveries = [
            Delivery(Event._from_trusted(form), "orders", "created", "noop", 0, i)
            for i, form in enumerate(forms)
        ]
        t6 = clock()
        for delivery in deliveries:
            await noop(delivery.event)
        t7 = clock()
        await store.commit("orders", "stages", {0: records[-1][1]})
        stamps = (t0, t1, t2, t3, t4, t5, t6, t7)
        for name, begin, end in zip(spent, stamps, stamps[1:], strict=False):
            spent[name] += end - begin
    await store.close()
    return {name: seconds / n * 1e6 for name, seconds in spent.items()}


def _child(store: str, n: int, scenario: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'events.db'}" if store == "sqlite" else "memory://"
        if scenario == "bare":
            result = asyncio.run(_bare(n))
        elif scenario == "stages":
            result = asyncio.run(_stages(url, n))
        else:
            result = asyncio.run(_run(url, n, scenario))
    print(json.dumps(result))


def _spawn(store: str, n: int, scenario: str, telemetry: bool = False) -> dict[str, float]:
    env = {**os.environ, "BENCH_TELEMETRY": "1"} if telemetry else None
    out = subprocess.run(
        [sys.executable, __file__, "--child", store, str(n), scenario],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[100_000])
    parser.add_argument("--store", choices=["memory", "sqlite", "all"], default="all")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stages", action="store_true", help="print the cost of each stage")
    parser.add_argument(
        "--telemetry",
        action="store_true",
        help="run each scenario also with OpenTelemetry tracing and metrics on (every span "
        "sampled, exported nowhere) and print on against off",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), args.child[2])
        return
    stores = ["memory", "sqlite"] if args.store == "all" else [args.store]
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    print(
        f"{'store':8} {'scenario':11} {'N':>9} {'events/s (median)':>18} {'best':>9} "
        f"{'µs/event':>9} {'vs bare':>8} {'publish/s':>10} {'peak RSS MB':>12}"
    )
    for n in args.n:
        results: dict[tuple[str, str], float] = {}
        bare = _median([_spawn("memory", n, "bare")["events_per_s"] for _ in range(args.repeat)])
        print(
            f"{'-':8} {'bare loop':11} {n:>9,} {bare:>18,.0f} {'':>9} {1e6 / bare:>9.2f} "
            f"{'1.00':>8}"
        )
        for store in stores:
            for scenario in scenarios:
                runs = [_spawn(store, n, scenario) for _ in range(args.repeat)]
                rates = sorted(r["events_per_s"] for r in runs)
                median = _median(rates)
                results[store, scenario] = median
                publish = _median([r["publish_per_s"] for r in runs])
                rss = max(r["peak_rss_mb"] for r in runs)
                print(
                    f"{store:8} {scenario:11} {n:>9,} {median:>18,.0f} {rates[-1]:>9,.0f} "
                    f"{1e6 / median:>9.2f} {bare / median:>7.1f}x {publish:>10,.0f} {rss:>12.1f}"
                )
                if args.telemetry:
                    runs = [_spawn(store, n, scenario, True) for _ in range(args.repeat)]
                    rates = sorted(r["events_per_s"] for r in runs)
                    on = _median(rates)
                    print(
                        f"{store:8} {'+ otel':11} {n:>9,} {on:>18,.0f} {rates[-1]:>9,.0f} "
                        f"{1e6 / on:>9.2f} {bare / on:>7.1f}x   telemetry on: {on / median:.0%} "
                        "of off (target ≥ 60%)"
                    )
        for store in stores:
            one = results.get((store, "one-rule"))
            if one is None:
                continue
            for scenario, target in (("1000-rules", 0.70), ("sync", 0.60)):
                other = results.get((store, scenario))
                if other is not None:
                    verdict = "met" if other / one >= target else "NOT met"
                    print(
                        f"{store}: {scenario} runs at {other / one:.0%} of one-rule "
                        f"(target ≥ {target:.0%}: {verdict})"
                    )
        if args.stages:
            for store in stores:
                stages = [_spawn(store, n, "stages") for _ in range(args.repeat)]
                total = 1e6 / results[store, "one-rule"] if (store, "one-rule") in results else 0
                print(f"\nstages on {store}, µs per event (median of {args.repeat}):")
                parts = 0.0
                for name in stages[0]:
                    cost = _median([s[name] for s in stages])
                    parts += cost
                    print(f"  {name:28} {cost:6.2f}")
                if total:
                    print(f"  {'runtime (the rest)':28} {total - parts:6.2f}")
                    print(f"  {'total (one-rule)':28} {total:6.2f}")


if __name__ == "__main__":
    main()
