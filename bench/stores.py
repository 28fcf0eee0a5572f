"""Consuming from Redis Streams and NATS JetStream: a bare client loop, FastStream, and the bridge.

For each broker the rows are, on N events of the shape bench/throughput.py publishes (a ~280-byte
CloudEvent JSON), all on the same servers:

- ``bare``: the limit: a pre-filled stream drained by the plainest loop a client library allows
  (Redis: redis-py asyncio with hiredis, ``XREADGROUP COUNT 500 BLOCK`` with the batch's ``XACK``
  pipelined in front of the next read; NATS: raw ``$JS.API.CONSUMER.MSG.NEXT`` pull requests of
  500 to one inbox, ``+ACK`` per message), decoding every event with orjson;
- ``fs-one`` / ``fs-batch``: FastStream's broker in-process on the same pre-filled stream, a no-op
  async subscriber taking one message at a time / a list of up to 500 (Redis ``StreamSub`` with
  a group, 500 records per read either way; NATS ``PullSub`` of 1 / of 500 with ``batch=True``).
  FastStream's access log is off (``logger=None``), and on Redis the entries carry FastStream's own
  envelope, as its publisher writes them, so it takes its native decoding path;
- ``eb-live``: the bridge end to end, as bench/throughput.py: one bus, one rule, a no-op async
  handler, N events published in batches of 500 by the same process while the runtime runs; the
  clock stops when the handler has seen the last one;
- ``eb-1``, ``eb-2``, ``eb-3``: N events published first, then 1, 2 or 3 worker processes of one
  application (one consumer group, the same rule) drain them. The workers start, connect and
  report ready; the clock starts when they are all released at once and stops at the last event
  any of them handles. Each reports its count through a Redis counter (NATS rows too), which
  tells the parent when the sum reaches N.

``CPU us/ev`` is the CPU time the consuming process (the workers together) spent per event
while the clock ran; the servers' CPU is not in it. It is steadier than events/s when something
else runs on the machine. Every row runs in a fresh process on its own key/stream prefix and
deletes what it created. The machine has 2 cores: the workers, the broker and this benchmark
share them.

    python bench/stores.py                                  # N=30,000, both brokers, 3 runs each
    python bench/stores.py --broker redis --rows bare eb-1 eb-2 --repeat 1
    python bench/stores.py --n 100000 --broker nats
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventbridge_sdk import EventBridge

BATCH = 500
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
NATS_URL = "nats://127.0.0.1:4222"
GROUP = "bench"
STALL = 20.0
"""Seconds without progress after which a row gives up."""

ROWS = {
    "bare": "bare loop",
    "fs-one": "faststream one-by-one",
    "fs-batch": "faststream batched (500)",
    "eb-live": "eventbridge 1 worker, publish+deliver",
    "eb-1": "eventbridge 1 worker, deliver only",
    "eb-2": "eventbridge 2 workers, deliver only",
    "eb-3": "eventbridge 3 workers, deliver only",
}
BROKERS = ("redis", "nats")

Result = dict[str, Any]


async def _drain(broker: Any, done: asyncio.Event, seen: Callable[[], int], n: int) -> Result:
    """Start a FastStream broker whose subscriber sets ``done`` after ``n`` messages; time it."""
    await broker.connect()
    clock = _Clock()
    await broker.start()
    try:
        await _until(done, seen, n)
        return clock.result(n)
    finally:
        await broker.stop()


def _events(first: int, count: int) -> list[Any]:
    from eventbridge_sdk import Event

    return [
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
        for i in range(first, first + count)
    ]


def _bodies(n: int) -> list[bytes]:
    return [event.to_json() for event in _events(0, n)]


async def _until(done: asyncio.Event, seen: Callable[[], int], n: int) -> None:
    """Wait for ``done``; fail when ``seen()`` stops moving for STALL seconds."""
    last, since = seen(), time.monotonic()
    while not done.is_set():
        try:
            await asyncio.wait_for(done.wait(), 1.0)
        except TimeoutError:
            now = seen()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since > STALL:
                raise TimeoutError(f"stalled at {now:,} of {n:,} events for {STALL:g} s") from None


class _Clock:
    """Wall and CPU time of this process since it was made: the rate and the client's cost."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def result(self, n: int) -> Result:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return {"events_per_s": n / wall, "seconds": wall, "cpu_us": cpu / n * 1e6}


def _redis() -> Any:
    import redis.asyncio
    from redis.utils import HIREDIS_AVAILABLE

    if not HIREDIS_AVAILABLE:
        raise RuntimeError("hiredis is missing: redis-py would parse in Python (3x slower)")
    return redis.asyncio.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0)


# -- Redis ---------------------------------------------------------------------------------


async def _redis_fill(client: Any, stream: str, entries: list[dict[str, bytes]]) -> None:
    for first in range(0, len(entries), 2_000):
        pipe = client.pipeline(transaction=False)
        for fields in entries[first : first + 2_000]:
            pipe.xadd(stream, fields)
        await pipe.execute()
    await client.xgroup_create(stream, GROUP, id="0")


async def _redis_bare(prefix: str, n: int) -> Result:
    import orjson

    client = _redis()
    stream = f"{prefix}:bare"
    await _redis_fill(client, stream, [{"e": body} for body in _bodies(n)])
    clock = _Clock()
    consumed = 0
    reply = await client.xreadgroup(GROUP, "c1", {stream: ">"}, count=BATCH, block=1000)
    while consumed < n:
        if not reply:
            raise RuntimeError(f"the stream ran dry at {consumed:,} of {n:,} entries")
        ids = []
        for entry_id, fields in reply[0][1]:
            orjson.loads(fields[b"e"])
            ids.append(entry_id)
        consumed += len(ids)
        pipe = client.pipeline(transaction=False)
        pipe.xack(stream, GROUP, *ids)
        if consumed < n:
            pipe.xreadgroup(GROUP, "c1", {stream: ">"}, count=BATCH, block=1000)
        results = await pipe.execute()
        reply = results[1] if consumed < n else None
    result = clock.result(n)
    await client.aclose()
    return result


async def _redis_faststream(prefix: str, n: int, batch: bool) -> Result:
    from faststream.redis import RedisBroker, StreamSub
    from faststream.redis.parser import BinaryMessageFormatV1

    client = _redis()
    stream = f"{prefix}:fs"
    envelopes = []
    for body in _bodies(n):  # what FastStream's publisher writes: its envelope, JSON inside
        envelope = await BinaryMessageFormatV1.encode(
            message=body,
            reply_to=None,
            headers={"content-type": "application/json"},
            correlation_id=uuid.uuid4().hex,
        )
        envelopes.append({"__data__": envelope})
    await _redis_fill(client, stream, envelopes)
    await client.aclose()

    # None turns the access log off; the broker's typed options do not say so.
    broker = RedisBroker(f"redis://{REDIS_HOST}:{REDIS_PORT}/0", logger=None)  # type: ignore[arg-type]
    seen = 0
    done = asyncio.Event()

    if batch:

        @broker.subscriber(
            stream=StreamSub(stream, group=GROUP, consumer="c1", batch=True, max_records=BATCH)
        )
        async def handle_batch(bodies: list[Any]) -> None:
            nonlocal seen
            seen += len(bodies)
            if seen >= n:
                done.set()

    else:

        @broker.subscriber(stream=StreamSub(stream, group=GROUP, consumer="c1", max_records=BATCH))
        async def handle(body: Any) -> None:
            nonlocal seen
            seen += 1
            if seen >= n:
                done.set()

    return await _drain(broker, done, lambda: seen, n)


# -- NATS ----------------------------------------------------------------------------------


async def _nats_stream(prefix: str) -> tuple[Any, Any, str, str]:
    import nats

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    stream, subject = f"{prefix}_events", f"{prefix}.events"
    await js.add_stream(name=stream, subjects=[subject])
    return nc, js, stream, subject


async def _nats_fill(nc: Any, subject: str, bodies: list[bytes]) -> None:
    """Publish with a reply inbox, many in flight, and wait for every PubAck."""
    inbox = nc.new_inbox()
    acked, errors = 0, []
    target, window = 0, asyncio.Event()

    async def on_ack(msg: Any) -> None:
        nonlocal acked
        if b'"error"' in msg.data:
            errors.append(msg.data)
        acked += 1
        if acked >= target:
            window.set()

    sub = await nc.subscribe(inbox, cb=on_ack)
    for first in range(0, len(bodies), 5_000):
        chunk = bodies[first : first + 5_000]
        target = first + len(chunk)
        window.clear()
        for body in chunk:
            await nc.publish(subject, body, reply=inbox)
        await nc.flush()
        await asyncio.wait_for(window.wait(), 30)
    await sub.unsubscribe()
    if errors:
        raise RuntimeError(f"JetStream refused {len(errors)} publishes: {errors[0]!r}")


async def _nats_bare(prefix: str, n: int) -> Result:
    import orjson
    from nats.js.api import AckPolicy, ConsumerConfig

    nc, js, stream, subject = await _nats_stream(prefix)
    await _nats_fill(nc, subject, _bodies(n))
    await js.add_consumer(
        stream, ConsumerConfig(durable_name="bare", ack_policy=AckPolicy.EXPLICIT)
    )
    inbox = nc.new_inbox()
    next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.bare"
    consumed = requested = 0
    done = asyncio.Event()
    problems: list[str] = []

    async def pull() -> None:
        # Two requests of 500 in flight: the consumer's default MaxAckPending is 1,000.
        nonlocal requested
        pulled = False
        while requested < n and requested - consumed <= BATCH:
            size = min(BATCH, n - requested)
            request = orjson.dumps({"batch": size, "expires": 5_000_000_000})
            await nc.publish(next_subject, request, reply=inbox)
            requested += size
            pulled = True
        if pulled:
            await nc.flush()

    async def on_msg(msg: Any) -> None:
        nonlocal consumed, requested
        status = msg.headers.get("Status") if msg.headers else None
        if status is not None:
            if status == "408":  # the request expired unfilled: ask again for the rest
                requested -= int(msg.headers.get("Nats-Pending-Messages", 0))
                await pull()
            elif status != "100":
                problems.append(f"{status} {msg.headers.get('Description', '')}")
                done.set()
            return
        orjson.loads(msg.data)
        await nc.publish(msg.reply, b"+ACK")
        consumed += 1
        if consumed == n:
            await nc.flush()
            done.set()
        else:
            await pull()

    await nc.subscribe(inbox, cb=on_msg)
    clock = _Clock()
    await pull()
    await _until(done, lambda: consumed, n)
    result = clock.result(n)
    await nc.close()
    if problems:
        raise RuntimeError(f"pull request failed: {problems[0]}")
    return result


async def _nats_faststream(prefix: str, n: int, batch: bool) -> Result:
    from faststream.nats import JStream, NatsBroker, PullSub

    nc, _, stream, subject = await _nats_stream(prefix)
    await _nats_fill(nc, subject, _bodies(n))
    await nc.close()

    broker = NatsBroker(NATS_URL, logger=None)
    seen = 0
    done = asyncio.Event()
    js_stream = JStream(stream, subjects=[subject], declare=False)

    if batch:

        @broker.subscriber(
            subject,
            stream=js_stream,
            durable="fs",
            pull_sub=PullSub(batch_size=BATCH, timeout=1.0, batch=True),
        )
        async def handle_batch(bodies: list[Any]) -> None:
            nonlocal seen
            seen += len(bodies)
            if seen >= n:
                done.set()

    else:

        @broker.subscriber(subject, stream=js_stream, durable="fs", pull_sub=PullSub(batch_size=1))
        async def handle(body: Any) -> None:
            nonlocal seen
            seen += 1
            if seen >= n:
                done.set()

    return await _drain(broker, done, lambda: seen, n)


# -- the bridge ----------------------------------------------------------------------------


def _store_url(broker: str, prefix: str) -> str:
    if broker == "redis":
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/0?prefix={prefix}"
    return f"{NATS_URL}?prefix={prefix}"


def _bridge(url: str) -> EventBridge:
    from eventbridge_sdk import EventBridge, Settings

    return EventBridge(settings=Settings(store=url, group=GROUP))


async def _eventbridge_live(url: str, n: int) -> Result:
    from eventbridge_sdk import Event

    bridge = _bridge(url)
    seen = 0
    finished = asyncio.Event()

    @bridge.bus("orders").rule("created", pattern={"type": ["order.created"], "source": ["/shop"]})
    async def noop(event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            finished.set()

    await bridge.start()
    try:
        clock = _Clock()
        for first in range(0, n, BATCH):
            await bridge.publish("orders", _events(first, min(BATCH, n - first)))
        published = time.perf_counter()
        await _until(finished, lambda: seen, n)
        result = clock.result(n)  # its CPU includes making and publishing the events
    finally:
        await bridge.stop()
    return {**result, "publish_per_s": n / (published - clock.wall)}


async def _publish_only(url: str, n: int) -> float:
    """Publish N events through a bridge that runs no runtime; return events/s."""
    publisher = _bridge(url)
    publisher.bus("orders")
    started = time.perf_counter()
    try:
        for first in range(0, n, BATCH):
            await publisher.publish("orders", _events(first, min(BATCH, n - first)))
    finally:
        await publisher.stop()
    return n / (time.perf_counter() - started)


async def _eventbridge_workers(url: str, n: int, workers: int, prefix: str) -> Result:
    publish_rate = await _publish_only(url, n)
    client = _redis()
    done_key = f"{prefix}:bench:done"
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"worker-{index}.log" for index in range(workers)]
        procs = []
        for log in logs:
            with log.open("wb") as stderr:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        __file__,
                        "--worker",
                        url,
                        str(n),
                        prefix,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=stderr,
                    )
                )
        try:
            for proc, log in zip(procs, logs, strict=True):
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                if line.strip() != b"ready":
                    raise RuntimeError(f"a worker failed to start: {_tail(log)}")
            started = time.time()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
            for proc in procs:
                assert proc.stdin is not None
                await proc.stdin.drain()
            await _until_counted(client, prefix, done_key, n, procs, logs)
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"stop\n")
                await proc.stdin.drain()
            reports = []
            for proc, log in zip(procs, logs, strict=True):
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                if not line:
                    raise RuntimeError(f"a worker ended without a report: {_tail(log)}")
                reports.append(json.loads(line))
                await proc.wait()
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await client.aclose()
    handled = sum(r["handled"] for r in reports)
    elapsed = max(r["last"] for r in reports if r["handled"]) - started
    return {
        "events_per_s": n / elapsed,
        "seconds": elapsed,
        "cpu_us": sum(r["cpu"] for r in reports) / n * 1e6,
        "publish_per_s": publish_rate,
        "shares": [r["handled"] / handled for r in reports],
        "first_ms": [(r["first"] - started) * 1000 if r["handled"] else None for r in reports],
        "duplicates": handled - n,
    }


async def _until_counted(
    client: Any,
    prefix: str,
    done_key: str,
    n: int,
    procs: list[asyncio.subprocess.Process],
    logs: list[Path],
) -> None:
    """Wait until the workers' counter reaches N; fail on a stall or a dead worker."""
    last, since = -1, time.monotonic()
    while not await client.blpop([done_key], timeout=1):
        for proc, log in zip(procs, logs, strict=True):
            if proc.returncode is not None:
                raise RuntimeError(f"a worker exited with {proc.returncode}: {_tail(log)}")
        count = int(await client.get(f"{prefix}:bench:count") or 0)
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > STALL:
            raise TimeoutError(f"stalled at {count:,} of {n:,} events for {STALL:g} s")


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) or "(no output)"


async def _worker(url: str, n: int, prefix: str) -> None:
    """One worker process: ready, wait for "go", handle and count, report on "stop"."""
    from eventbridge_sdk import Event

    bridge = _bridge(url)
    client = _redis()
    handled, first, last = 0, 0.0, 0.0
    progress = asyncio.Event()

    @bridge.bus("orders").rule("created", pattern={"type": ["order.created"], "source": ["/shop"]})
    async def noop(event: Event) -> None:
        nonlocal handled, first, last
        last = time.time()
        if not handled:
            first = last
        handled += 1
        progress.set()

    async def report() -> None:
        reported = 0
        while True:
            await progress.wait()
            progress.clear()
            delta, reported = handled - reported, handled
            if await client.incrby(f"{prefix}:bench:count", delta) >= n:
                await client.rpush(f"{prefix}:bench:done", b"1")
            await asyncio.sleep(0.002)  # coalesce a few batches into one INCRBY

    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await client.ping()
    await bridge.status()  # opens the store: connected before the clock starts
    print("ready", flush=True)
    await stdin.readline()
    cpu = time.process_time()
    await bridge.start()
    reporter = asyncio.create_task(report())
    await stdin.readline()
    cpu = time.process_time() - cpu  # a few idle milliseconds after the last event included
    await bridge.stop()
    reporter.cancel()
    await client.aclose()
    print(json.dumps({"handled": handled, "first": first, "last": last, "cpu": cpu}), flush=True)


# -- cleaning up ---------------------------------------------------------------------------


async def _cleanup(broker: str, prefix: str) -> None:
    """Delete every key (Redis) and stream (NATS) whose name holds ``prefix``."""
    client = _redis()
    keys = [key async for key in client.scan_iter(match=f"*{prefix}*", count=1_000)]
    for first in range(0, len(keys), 500):
        await client.unlink(*keys[first : first + 500])
    await client.aclose()
    if broker == "nats":
        import nats

        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for info in await js.streams_info_iterator():
            name = info.config.name or ""
            if prefix in name:
                await js.delete_stream(name)
        await nc.close()


# -- running rows --------------------------------------------------------------------------


async def _row(broker: str, row: str, n: int, prefix: str) -> Result:
    if row == "bare":
        return await (_redis_bare if broker == "redis" else _nats_bare)(prefix, n)
    if row in ("fs-one", "fs-batch"):
        consume = _redis_faststream if broker == "redis" else _nats_faststream
        return await consume(prefix, n, row == "fs-batch")
    url = _store_url(broker, prefix)
    if row == "eb-live":
        return await _eventbridge_live(url, n)
    return await _eventbridge_workers(url, n, int(row.removeprefix("eb-")), prefix)


async def _child(broker: str, row: str, n: int, prefix: str) -> Result:
    try:
        return await _row(broker, row, n, prefix)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        await _cleanup(broker, prefix)


def _run(broker: str, row: str, n: int) -> Result:
    """Run one row in a fresh process (its workers in its session); clean up after it."""
    prefix = f"bench{uuid.uuid4().hex[:10]}"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", broker, row, str(n), prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120 + n / 250)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        result: Result = {"error": "timed out"}
    else:
        lines = out.strip().splitlines()
        if proc.returncode == 0 and lines:
            result = json.loads(lines[-1])
        else:
            tail = err.strip().splitlines()[-1:] or ["no output"]
            result = {"error": f"exit {proc.returncode}: {tail[0]}"}
    asyncio.run(_cleanup(broker, prefix))
    return result


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _detail(runs: list[Result]) -> str:
    parts = []
    if "publish_per_s" in runs[0]:
        parts.append(f"publish {_median([r['publish_per_s'] for r in runs]):,.0f}/s")
    if "shares" in runs[0] and len(runs[0]["shares"]) > 1:
        best = max(runs, key=lambda r: r["events_per_s"])
        parts.append("shares " + " / ".join(f"{s:.0%}" for s in best["shares"]))
        starts = [f"{ms:.0f}" if ms is not None else "-" for ms in best["first_ms"]]
        parts.append(f"first event after {' / '.join(starts)} ms")
    duplicates = max(r.get("duplicates", 0) for r in runs)
    if duplicates:
        parts.append(f"{duplicates} handled twice")
    return "; ".join(parts)


def _summary(broker: str, rates: dict[str, float]) -> str:
    drain = rates.get("eb-1")
    if drain is None:
        return f"{broker}: no eventbridge 1-worker figure to compare"
    parts = [f"{broker}: eventbridge 1 worker (deliver only) {drain:,.0f}/s"]
    if "bare" in rates:
        parts.append(f"{drain / rates['bare']:.0%} of the bare loop")
    if "fs-one" in rates:
        parts.append(f"{drain / rates['fs-one']:.1f}x faststream one-by-one")
    if "fs-batch" in rates:
        parts.append(f"{drain / rates['fs-batch']:.1f}x faststream batched")
    if "eb-live" in rates:
        parts.append(f"publish+deliver {rates['eb-live']:,.0f}/s")
    return parts[0] + " = " + ", ".join(parts[1:])


def _servers() -> str:
    async def versions() -> str:
        import nats

        client = _redis()
        redis_version = (await client.info("server"))["redis_version"]
        await client.aclose()
        nc = await nats.connect(NATS_URL)
        version = nc.connected_server_version
        nats_version = f"{version.major}.{version.minor}.{version.patch}"
        await nc.close()
        return f"Redis {redis_version}, nats-server {nats_version}"

    try:
        return asyncio.run(versions())
    except Exception as exc:
        return f"servers: {type(exc).__name__}: {exc}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30_000)
    parser.add_argument("--broker", choices=[*BROKERS, "all"], default="all")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        broker, row, n, prefix = args.child
        print(json.dumps(asyncio.run(_child(broker, row, int(n), prefix))))
        return
    if args.worker:
        url, n, prefix = args.worker
        asyncio.run(_worker(url, int(n), prefix))
        return
    brokers = BROKERS if args.broker == "all" else (args.broker,)
    print(
        f"{_servers()}; N={args.n:,} events of {len(_bodies(1)[0])} bytes; median of "
        f"{args.repeat} run(s); {os.cpu_count()} CPU cores, shared by the workers, the "
        f"brokers and this benchmark; load average {os.getloadavg()[0]:.2f} at the start "
        "(anything else running skews every row)"
    )
    print(f"{'broker':7} {'row':38} {'events/s':>10} {'best':>10} {'CPU us/ev':>9}  detail")
    summaries = []
    for broker in brokers:
        rates: dict[str, float] = {}
        for row in (row for row in ROWS if row in args.rows):
            runs = []
            for _ in range(args.repeat):
                runs.append(_run(broker, row, args.n))
                if "error" in runs[-1]:
                    break  # a failing row fails fast; the others still run
            failed = [r["error"] for r in runs if "error" in r]
            if failed:
                print(f"{broker:7} {ROWS[row]:38} error: {failed[0]}", flush=True)
                continue
            per_s = [r["events_per_s"] for r in runs]
            rates[row] = _median(per_s)
            cpu = _median([r["cpu_us"] for r in runs])
            print(
                f"{broker:7} {ROWS[row]:38} {rates[row]:>10,.0f} {max(per_s):>10,.0f} "
                f"{cpu:>9.1f}  {_detail(runs)}",
                flush=True,
            )
        summaries.append(_summary(broker, rates))
    for line in summaries:
        print(line)


if __name__ == "__main__":
    main()
