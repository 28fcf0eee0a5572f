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


RETRY_WORKER = Path(__file__).with_name("retry_worker.py")
RETRIED = 200


def _numbers(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


async def _publish_some(db: Path, count: int) -> None:
    publisher = EventBridge(f"sqlite:///{db}")
    publisher.bus("orders")
    await publisher.publish(
        "orders", [Event(type="t", source="/test", data={"n": n}) for n in range(count)]
    )
    await publisher.stop()


def _start_retry_worker(db: Path) -> subprocess.Popen[bytes]:
    with (db.parent / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(RETRY_WORKER), str(db), str(db.parent)], stdout=log, stderr=log
        )


@pytest.mark.slow
def test_sigkill_while_events_wait_for_retries_then_restart_delivers_each(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    failed, handled = tmp_path / "failed.txt", tmp_path / "handled.txt"
    asyncio.run(_publish_some(db, RETRIED))

    worker = _start_retry_worker(db)
    try:
        # Every first attempt fails and waits in the store for its retry a second later; some
        # retries are claimed and under way when the process is killed.
        assert _wait_for(lambda: len(set(_numbers(failed))) == RETRIED, 30), "no first attempts"
        assert _wait_for(lambda: len(_numbers(handled)) >= 20, 30), "no retry ran"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert len(set(_numbers(handled))) < RETRIED, "all retries ran before the kill"

    restarted = _start_retry_worker(db)
    try:
        assert _wait_for(lambda: len(set(_numbers(handled))) == RETRIED, 60), (
            f"after restart only {len(set(_numbers(handled)))} of {RETRIED} retries ran"
        )
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(30) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if restarted.poll() is None:
            restarted.kill()
    assert set(_numbers(handled)) == set(range(RETRIED))
    assert sorted(_numbers(failed)) == list(range(RETRIED))  # no first attempt ran twice
