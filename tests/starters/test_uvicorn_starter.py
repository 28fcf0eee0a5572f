"""The FastAPI starter served by real uvicorn processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import services

from eventbridge_sdk import Event
from eventbridge_sdk.http import to_binary

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: object, what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Server:
    def __init__(
        self, process: subprocess.Popen[bytes], url: str, log: Path, out: Path, workers: int
    ) -> None:
        self.process = process
        self.workers = workers
        self.url = url
        self.log = log
        self.out = out

    def events_log(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def output(self) -> str:
        return self.out.read_text()

    def done(self, event_id: str) -> bool:
        return f"done {event_id} " in self.events_log()

    def stop(self) -> bool:
        """SIGTERM; whether uvicorn stopped cleanly (it re-raises the signal once it has)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        shut_down = self.output().count("Application shutdown complete")
        return code in (0, -signal.SIGTERM) and shut_down == self.workers


@contextmanager
def uvicorn(tmp_path: Path, store: str, workers: int = 1) -> Iterator[Server]:
    port = free_port()
    log, out = tmp_path / "events.log", tmp_path / "uvicorn.out"
    env = {**os.environ, "EVENTBRIDGE_STORE": store, "EVENTS_LOG": str(log)}
    command = [sys.executable, "-m", "uvicorn", "fastapi_service:app", "--app-dir", str(HERE)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with out.open("wb") as sink:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=sink, stderr=sink)
    server = Server(process, f"http://127.0.0.1:{port}", log, out, workers)
    try:
        wait_for(
            lambda: (
                server.output().count("Application startup complete") == workers
                or process.poll() is not None
            ),
            "uvicorn to start",
        )
        assert process.poll() is None, server.output()
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def post_event(url: str, event: Event) -> None:
    headers, body = to_binary(event)
    # A connection per request, so that several worker processes may each take some.
    answer = httpx.post(f"{url}/eventbridge/buses/orders/events", headers=headers, content=body)
    assert answer.status_code == 200, answer.text


def post_order(url: str, order: dict[str, object]) -> str:
    answer = httpx.post(f"{url}/orders", json=order)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["event_id"])


def test_events_from_the_gateway_and_a_route_are_handled_and_shutdown_drains(
    tmp_path: Path,
) -> None:
    with uvicorn(tmp_path, f"sqlite:///{tmp_path}/events.db") as server:
        ready = httpx.get(f"{server.url}/eventbridge/health/ready")
        assert ready.status_code == 200, ready.text
        gateway_event = Event(type="order.created", source="/partner", data={"order": 1})
        post_event(server.url, gateway_event)
        wait_for(lambda: server.done(gateway_event.id), "the gateway's event to be handled")
        slow = post_order(server.url, {"order": 2, "slow": True})
        wait_for(lambda: f"start {slow}" in server.events_log(), "the slow order to start")
        assert not server.done(slow)
        assert server.stop(), server.output()
    # The shutdown waited for the delivery in flight.
    assert server.done(slow), server.events_log()
    assert "Application shutdown complete" in server.output()


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_two_uvicorn_workers_publish_and_deliver_every_event(store: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.db" if store == "sqlite" else services.redis_url()
    try:
        with uvicorn(tmp_path, url, workers=2) as server:
            ids = [post_order(server.url, {"order": n}) for n in range(20)]
            for n in range(20):
                event = Event(type="order.created", source="/partner", data={"order": 100 + n})
                post_event(server.url, event)
                ids.append(event.id)
            wait_for(lambda: all(server.done(i) for i in ids), "every event to be handled")
            assert server.stop(), server.output()
    finally:
        if store == "redis":
            services.delete_redis_keys(url)
