"""Competing workers on a broker: three processes of one application share a bus's events, one
is killed with SIGKILL mid-stream, and the survivors take its unfinished events over.

What must hold: every event is handled at least once; an event handled twice was in flight in
the killed worker (it handled it, but its acknowledgement never left) and was handled again by
one survivor; the survivors take the killed worker's events over within the store's ack
timeout (a slack for the machine added); and each worker took a share while all three ran.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import services
from scale_worker import BUFFER_SIZE, FETCH_BATCH

from eventbridge_sdk import Event, EventBridge

WORKER = Path(__file__).with_name("scale_worker.py")
TOTAL = 30_000
WORKERS = 3
ACK_TIMEOUT = 5.0
"""Seconds before a record a worker took and did not acknowledge goes to another worker."""


def _handled(out: Path) -> list[tuple[int, float]]:
    if not out.exists():
        return []
    lines = out.read_text().splitlines()
    if lines and not out.read_text().endswith("\n"):
        lines.pop()  # a line being written
    return [(int(n), float(t)) for n, t in (line.split() for line in lines)]


def _wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


async def _publish(url: str) -> None:
    publisher = EventBridge(url)  # publishes only: a web app needs no worker
    publisher.bus("orders")
    for start in range(0, TOTAL, 500):
        await publisher.publish(
            "orders",
            [
                Event(type="order.created", source="/shop", data={"n": n})
                for n in range(start, start + 500)
            ],
        )
    await publisher.stop()


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis", "nats"])
def test_three_workers_share_the_events_and_survive_a_sigkill(broker: str, tmp_path: Path) -> None:
    query = f"ack_timeout={ACK_TIMEOUT:g}"
    url = services.redis_url(query) if broker == "redis" else services.nats_url(query)
    outs = [tmp_path / f"handled-{n}.txt" for n in range(WORKERS)]
    readies = [tmp_path / f"ready-{n}" for n in range(WORKERS)]
    workers = []
    with (tmp_path / "workers.log").open("ab") as log:
        for out, ready in zip(outs, readies, strict=True):
            workers.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), url, str(out), str(ready)],
                    stdout=log,
                    stderr=log,
                )
            )
    victim = workers[0]
    try:
        assert _wait_for(lambda: all(r.exists() for r in readies), 60), "workers did not start"
        asyncio.run(_publish(url))

        def total() -> int:
            return sum(len(_handled(out)) for out in outs)

        assert _wait_for(lambda: total() >= TOTAL // 3, 120), f"only {total()} events handled"
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.time()
        victim.wait()
        shares_before = [len(_handled(out)) for out in outs]
        assert all(share > 0 for share in shares_before), f"shares while all ran: {shares_before}"

        def everything_seen() -> bool:
            return len({n for out in outs for n, _ in _handled(out)}) == TOTAL

        assert _wait_for(everything_seen, 120), "some events were never handled"
        time.sleep(ACK_TIMEOUT + 1)  # late redeliveries, if any, would show now
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        if broker == "redis":
            services.delete_redis_keys(url)

    by_worker = [_handled(out) for out in outs]
    killed = Counter(n for n, _ in by_worker[0])
    survivors = [(n, t) for handled in by_worker[1:] for n, t in handled]
    counts = Counter(n for n, _ in survivors) + killed
    assert set(counts) == set(range(TOTAL))
    duplicates = {n for n, c in counts.items() if c > 1}
    for n in duplicates:
        assert (killed[n], counts[n]) == (1, 2), f"event {n}: {counts[n]} times, {killed[n]} killed"
    in_flight_bound = BUFFER_SIZE + 3 * FETCH_BATCH
    assert len(duplicates) <= in_flight_bound
    retaken = [t for n, t in survivors if n in duplicates]
    takeover = max(retaken) - killed_at if retaken else 0.0
    assert takeover <= ACK_TIMEOUT + 10, f"the survivors took {takeover:.1f} s to take over"
    shares = [len(handled) for handled in by_worker]
    print(
        f"\n{broker}: shares {shares} (at the kill: {shares_before}); "
        f"{len(duplicates)} handled twice; duplicates handled again {takeover:.2f} s after the "
        f"kill (ack timeout {ACK_TIMEOUT:g} s)"
    )
