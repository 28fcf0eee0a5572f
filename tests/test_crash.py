"""A worker killed with SIGKILL mid-stream and restarted loses no event (at-least-once)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventbridge_sdk import Event, EventBridge

WORKER = Path(__file__).with_name("crash_worker.py")
TOTAL = 3_000


def _handled(out: Path) -> list[int]:
    if not out.exists():
        return []
    return [int(line) for line in out.read_text().split()]


def _wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


async def _publish(db: Path) -> None:
    publisher = EventBridge(f"sqlite:///{db}")
    publisher.bus("orders")
    for start in range(0, TOTAL, 500):
        events = [Event(type="t", source="/test", data={"n": n}) for n in range(start, start + 500)]
        await publisher.publish("orders", events)
    await publisher.stop()


def _start_worker(db: Path, out: Path) -> subprocess.Popen[bytes]:
    with (db.parent / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(WORKER), str(db), str(out)], stdout=log, stderr=log
        )


@pytest.mark.slow
def test_sigkill_mid_stream_then_restart_delivers_every_event(tmp_path: Path) -> None:
    db, out = tmp_path / "events.db", tmp_path / "handled.txt"
    asyncio.run(_publish(db))

    worker = _start_worker(db, out)
    try:
        assert _wait_for(lambda: len(_handled(out)) >= 300, 30), "the worker handled nothing"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    killed_at = len(set(_handled(out)))
    assert killed_at < TOTAL, "the worker finished before it was killed; the test proved nothing"

    restarted = _start_worker(db, out)
    try:
        assert _wait_for(lambda: len(set(_handled(out))) == TOTAL, 60), (
            f"after restart only {len(set(_handled(out)))} of {TOTAL} events were handled"
        )
        restarted.send_signal(signal.SIGTERM)
        log = (tmp_path / "worker.log").read_text()
        assert restarted.wait(30) == 0, log
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert set(_handled(out)) == set(range(TOTAL))
