"""HTTP edge: encoding cost, webhook delivery rate against a bare httpx loop, gateway ingest.

1. **Encoding**: µs to encode one event in binary and in structured mode, ours and the
   ``cloudevents`` SDK's (``to_binary_event``/``to_structured_event``), best of several runs.
2. **Webhooks**: deliveries per second from a bridge on ``memory://`` through one rule to an
   ``HttpTarget`` (binary mode, target concurrency 1, 16, 64), and from bare loops of the same
   number of tasks posting the same requests: through one shared ``httpx.AsyncClient`` (what
   most code does), and with each task on a client of one connection ("lanes", as the target
   does: httpx's shared pool rescans its connections on every request). The receiver is a
   minimal HTTP/1.1 keep-alive server answering 204, in a process of its own, so that the
   sender is what is measured.
3. **Gateway ingest**: events per second accepted into SQLite by one uvicorn worker serving the
   gateway (no API key), single binary events and batches of 100, posted by 16 concurrent
   tasks from another process; and the gateway's own cost, ``Gateway.handle`` called
   in-process by 16 tasks (single events are bounded by the httpx load generator, which does
   not reach 2,000 requests/s from one process here).

    python bench/http.py                 # everything
    python bench/http.py --part webhooks --events 5000
    python bench/http.py --part gateway --seconds 5

Targets: the webhook target keeps ≥ 80% of the bare httpx loops at each concurrency; binary
encoding under 3 µs.
"""

from __future__ import annotations

import sys

# This file is named http.py: its folder must not shadow the standard library's http package.
if sys.path and sys.path[0] == __file__.rpartition("/")[0]:
    del sys.path[0]

import argparse
import asyncio
import os
import socket
import subprocess
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


# -- a receiver that costs next to nothing ---------------------------------------------------

RECEIVER = r"""
import asyncio, sys

class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")

async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()

asyncio.run(main(int(sys.argv[1])))
"""


def encoding() -> None:
    from cloudevents.core.bindings import http as ce_http

    from eventbridge_sdk import Event
    from eventbridge_sdk.http import to_binary, to_structured

    event = Event(
        type="order.paid",
        source="/shop",
        subject="order-42",
        data={"order": 42, "total": 99.5, "items": [1, 2, 3]},
        extensions={"tenant": "acme"},
    )
    sdk_event = event.to_cloudevent()

    def best(fn: Any, number: int) -> float:
        return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6

    print("encoding one event (µs, best of 7)")
    print(f"  ours binary       {best(lambda: to_binary(event), 20_000):6.2f}")
    print(f"  ours structured   {best(lambda: to_structured(event), 20_000):6.2f}")
    print(f"  SDK  binary       {best(lambda: ce_http.to_binary_event(sdk_event), 5_000):6.2f}")
    print(f"  SDK  structured   {best(lambda: ce_http.to_structured_event(sdk_event), 5_000):6.2f}")


async def _bare(url: str, events: int, concurrency: int, lanes: bool = False) -> float:
    """A bare loop of ``concurrency`` tasks posting the same requests: through one shared
    ``httpx.AsyncClient``, or (``lanes``) each task through a client of its own connection."""
    import httpx

    from eventbridge_sdk import Event
    from eventbridge_sdk.http import to_binary

    messages = [
        to_binary(Event(type="order.paid", source="/shop", data={"order": i}))
        for i in range(events)
    ]
    width = 1 if lanes else concurrency
    limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
    clients = [
        httpx.AsyncClient(limits=limits, timeout=5.0) for _ in range(concurrency if lanes else 1)
    ]
    next_index = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < len(messages):
            headers, body = messages[next_index]
            next_index += 1
            response = await client.post(url, headers=headers, content=body)
            assert response.status_code == 204

    def workers() -> list[Any]:
        return [worker(clients[i % len(clients)]) for i in range(concurrency)]

    try:
        await asyncio.gather(*workers())  # warm the connections
        next_index = 0
        started = time.perf_counter()
        await asyncio.gather(*workers())
        return events / (time.perf_counter() - started)
    finally:
        for client in clients:
            await client.aclose()


async def _target(url: str, events: int, concurrency: int) -> float:
    from eventbridge_sdk import Event, EventBridge, HttpTarget, RetryPolicy

    bridge = EventBridge("memory://")
    orders = bridge.bus("orders")
    rule = orders.rule("all")
    failures: list[BaseException] = []
    rule.target(
        HttpTarget(url), concurrency=concurrency, retry=RetryPolicy.NO_RETRY, dead_letter=None
    )
    with bridge.observe(
        deliveries=lambda delivery, error: failures.append(error) if error else None
    ):
        async with bridge:
            warm = [Event(type="order.paid", source="/shop", data={"order": i}) for i in range(200)]
            await bridge.publish("orders", warm)
            await bridge.wait_idle(60)
            batch = [
                Event(type="order.paid", source="/shop", data={"order": i}) for i in range(events)
            ]
            started = time.perf_counter()
            for at in range(0, events, 1000):
                await bridge.publish("orders", batch[at : at + 1000])
            await bridge.wait_idle(300)
            elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} deliveries failed, first: {failures[0]!r}")
    return events / elapsed


def webhooks(events: int, concurrencies: list[int], repeat: int) -> None:
    port = _free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    try:
        _wait_port(port)
        url = f"http://127.0.0.1:{port}/hook"
        print(f"webhook deliveries per second ({events} events, best of {repeat})")
        print("  concurrency   bare httpx   bare lanes   HttpTarget   vs bare   vs lanes")
        for concurrency in concurrencies:
            bare = max(asyncio.run(_bare(url, events, concurrency)) for _ in range(repeat))
            lanes = max(asyncio.run(_bare(url, events, concurrency, True)) for _ in range(repeat))
            target = max(asyncio.run(_target(url, events, concurrency)) for _ in range(repeat))
            print(
                f"  {concurrency:>11}   {bare:>10,.0f}   {lanes:>10,.0f}   {target:>10,.0f}"
                f"   {target / bare:7.0%}   {target / lanes:8.0%}"
            )
    finally:
        receiver.terminate()
        receiver.wait()


GATEWAY_APP = r"""
import os
from eventbridge_sdk import EventBridge
from eventbridge_sdk.http import Gateway

bridge = EventBridge(os.environ["BENCH_STORE"])
bridge.bus("orders")
app = Gateway(bridge)
"""


async def _load(url: str, seconds: float, batch: int, concurrency: int) -> tuple[int, float]:
    import httpx

    from eventbridge_sdk import Event
    from eventbridge_sdk.http import to_batch, to_binary

    def message() -> tuple[dict[str, str], bytes]:
        events = [Event(type="order.paid", source="/shop", data={"order": i}) for i in range(batch)]
        return to_binary(events[0]) if batch == 1 else to_batch(events)

    messages = [message() for _ in range(200)]
    accepted = 0
    # A client of one connection per task: one shared httpx pool tops out near 1,000
    # requests/s here and would measure itself, not the gateway.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(limits=limits, timeout=30.0) for _ in range(concurrency)]
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal accepted
        client = clients[index]
        while time.perf_counter() < deadline:
            headers, body = messages[index % len(messages)]
            index += concurrency
            response = await client.post(url, headers=headers, content=body)
            if response.status_code != 200:
                raise SystemExit(f"gateway answered {response.status_code}: {response.text}")
            accepted += batch - response.json()["failed_entry_count"]

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return accepted, time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()


async def _handle(url: str, requests: int, concurrency: int) -> float:
    """Requests per second through ``Gateway.handle`` in-process: the gateway's own cost."""
    from eventbridge_sdk import Event, EventBridge
    from eventbridge_sdk.http import Gateway, to_binary

    bridge = EventBridge(url)
    bridge.bus("orders")
    gateway = Gateway(bridge, runtime=False)
    messages = [
        to_binary(Event(type="order.paid", source="/shop", data={"order": i}))
        for i in range(requests)
    ]

    async def worker(first: int) -> None:
        for headers, body in messages[first::concurrency]:
            answer = await gateway.handle("orders", headers, body)
            if answer.status != 200:
                raise SystemExit(f"gateway answered {answer.status}: {answer.body!r}")

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return requests / (time.perf_counter() - started)
    finally:
        await bridge.stop()


def gateway(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        rate = asyncio.run(_handle(f"sqlite:///{folder}/events.db", 5000, 16))
    print(f"gateway core in-process (Gateway.handle), SQLite, 16 at once: {rate:,.0f} events/s")
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bench_gateway_app.py").write_text(GATEWAY_APP)
        env = {
            **os.environ,
            "BENCH_STORE": f"sqlite:///{folder}/events.db",
            "PYTHONPATH": os.pathsep.join([folder, str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "bench_gateway_app:app", "--port", str(port),
                "--log-level", "warning", "--no-access-log",
            ],
            env=env,
        )  # fmt: skip
        try:
            _wait_port(port)
            url = f"http://127.0.0.1:{port}/buses/orders/events"
            print(f"gateway ingest into SQLite, one uvicorn worker, 16 clients, {seconds} s each")
            for batch in (1, 100):
                asyncio.run(_load(url, 1.0, batch, 16))  # warm-up
                accepted, elapsed = asyncio.run(_load(url, seconds, batch, 16))
                label = "single events" if batch == 1 else f"batches of {batch}"
                print(f"  {label:<16} {accepted / elapsed:>10,.0f} events/s")
        finally:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["encoding", "webhooks", "gateway", "all"], default="all")
    parser.add_argument("--events", type=int, default=5000, help="webhook deliveries per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--repeat", type=int, default=2, help="runs per webhook figure (best)")
    parser.add_argument("--seconds", type=float, default=5.0, help="gateway load per figure")
    args = parser.parse_args()
    if args.part in ("encoding", "all"):
        encoding()
    if args.part in ("webhooks", "all"):
        webhooks(args.events, args.concurrency, args.repeat)
    if args.part in ("gateway", "all"):
        gateway(args.seconds)


if __name__ == "__main__":
    main()
