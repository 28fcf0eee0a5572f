"""The runtime keeps its guarantees when parts of it misbehave."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from eventbridge_sdk import Delivery, Event, EventBridge, Settings, SinkContext, StoreError
from eventbridge_sdk.stores import MemoryStore, SQLiteStore
from eventbridge_sdk.stores.base import Record
from eventbridge_sdk.testing import run_bridge


def event(n: int) -> Event:
    return Event(type="t", source="/test", data={"n": n})


async def test_a_failing_delivery_observer_does_not_stop_the_target() -> None:
    bridge = EventBridge("memory://")
    got: list[int] = []

    @bridge.bus("orders").rule("all").target(concurrency=1)
    async def handler(e: Event) -> None:
        got.append(e.data["n"])

    def broken_observer(delivery: Delivery, error: BaseException | None) -> None:
        raise RuntimeError("observer bug")

    with bridge.observe(deliveries=broken_observer):
        async with bridge:
            await bridge.publish("orders", [event(n) for n in range(5)])
            await bridge.wait_idle(5)
    assert got == [0, 1, 2, 3, 4]


async def test_a_handler_whose_own_work_is_cancelled_fails_without_killing_the_runner() -> None:
    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all").target(concurrency=1)
    async def handler(e: Event) -> None:
        if e.data["n"] % 2 == 0:
            raise asyncio.CancelledError  # e.g. an inner task the handler awaited was cancelled

    async with run_bridge(bridge, timeout=5) as harness:
        await harness.publish("orders", [event(n) for n in range(6)])
    assert [e.data["n"] for e in harness.received("handler")] == [1, 3, 5]
    assert len(harness.failures("handler")) == 3


class FlakyStore(MemoryStore):
    """A memory store whose second fetch fails once."""

    fetches = 0

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        self.fetches += 1
        if self.fetches == 2:
            raise OSError("connection reset")
        return await super().fetch(bus, group, max_count=max_count, timeout=timeout)


async def test_a_failed_read_neither_loses_nor_repeats_events() -> None:
    bridge = EventBridge("memory://", settings=Settings(runtime={"fetch_batch": 2}))
    got: Counter[int] = Counter()

    @bridge.bus("orders").rule("all")
    async def handler(e: Event) -> None:
        got[e.data["n"]] += 1

    async with run_bridge(bridge, store=FlakyStore(), timeout=10) as harness:
        await harness.publish("orders", [event(n) for n in range(6)])
    assert got == Counter(range(6))


async def test_each_target_gets_its_own_copy_of_the_data() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders")
    seen: dict[str, object] = {}

    @orders.rule("scrub").target(concurrency=1)
    async def scrub(e: Event) -> None:
        e.data["secret"] = "removed"
        seen["scrub"] = dict(e.data)

    @orders.rule("audit").target(concurrency=1)
    async def audit(e: Event) -> None:
        await asyncio.sleep(0.01)
        seen["audit"] = dict(e.data)

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", Event(type="t", source="s", data={"secret": "x"}))
    assert seen == {"scrub": {"secret": "removed"}, "audit": {"secret": "x"}}


async def test_a_slow_target_lets_the_others_run_ahead_up_to_the_buffer() -> None:
    bridge = EventBridge("memory://", settings=Settings(runtime={"buffer_size": 1_000}))
    orders = bridge.bus("orders")
    release = asyncio.Event()
    fast_done = asyncio.Event()
    fast: list[int] = []

    @orders.rule("slow").target(concurrency=1)
    async def slow(e: Event) -> None:
        await release.wait()

    @orders.rule("fast")
    async def quick(e: Event) -> None:
        fast.append(e.data["n"])
        if len(fast) == 500:
            fast_done.set()

    async with bridge:
        await bridge.publish("orders", [event(n) for n in range(500)])
        await asyncio.wait_for(fast_done.wait(), 10)
        release.set()
    assert sorted(fast) == list(range(500))


async def test_a_failed_start_leaves_nothing_running() -> None:
    class BrokenSink:
        max_batch = 1

        async def start(self, context: SinkContext) -> None:
            raise ConnectionError("cannot reach the webhook")

        async def put(self, batch: Sequence[Delivery]) -> None: ...
        async def flush(self) -> None: ...
        async def pre_commit(self) -> None: ...
        async def stop(self) -> None: ...

    bridge = EventBridge("memory://")

    @bridge.bus("a").rule("all")
    async def fine(e: Event) -> None: ...

    bridge.bus("b").rule("all").add_sink("broken", BrokenSink())
    before = set(asyncio.all_tasks())
    with pytest.raises(ConnectionError):
        await bridge.start()
    await asyncio.sleep(0)
    assert set(asyncio.all_tasks()) == before
    assert not bridge.running


async def test_stop_returns_even_when_a_handler_ignores_cancellation() -> None:
    bridge = EventBridge("memory://")
    started = asyncio.Event()

    @bridge.bus("orders").rule("all")
    async def stubborn(e: Event) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(3600)  # swallows the first cancellation for an hour

    await bridge.start()
    await bridge.publish("orders", event(1))
    await started.wait()
    drained = await asyncio.wait_for(bridge.stop(timeout=0.2), 20)
    assert drained is False


async def test_an_event_without_time_from_another_producer_is_delivered() -> None:
    store = MemoryStore()
    bridge = EventBridge("memory://")
    got: list[Event] = []

    @bridge.bus("orders").rule("all")
    async def handler(e: Event) -> None:
        got.append(e)

    bridge.override(store=store)
    await store.open()
    await store.append("orders", [b'{"specversion":"1.0","id":"x","source":"s","type":"t"}'])
    async with bridge:
        await asyncio.wait_for(_until_delivered(got), 5)
    assert got[0].id == "x"
    assert got[0].time is None


async def _until_delivered(got: list[Event]) -> None:
    for _ in range(500):
        if got:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_store_object_serves_one_event_loop_after_another(kind: str, tmp_path: Path) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(f"sqlite:///{tmp_path}/loops.db")
    bridge = EventBridge("memory://")
    got: list[int] = []

    @bridge.bus("orders").rule("all")
    async def handler(e: Event) -> None:
        got.append(e.data["n"])

    async def run(n: int) -> None:
        async with run_bridge(bridge, store=store, timeout=5) as harness:
            await harness.publish("orders", event(n))

    asyncio.run(run(1))
    asyncio.run(run(2))
    assert got == [1, 2]


async def test_a_full_memory_bus_that_nobody_reads_is_an_error_not_a_hang() -> None:
    store = MemoryStore(capacity=2)
    await store.open()
    await store.append("unread", [b"1", b"2"])
    with pytest.raises(StoreError, match="no consumer reads"):
        await store.append("unread", [b"3"])


async def test_positions_of_a_replaced_store_are_not_waited_for(tmp_path: Path) -> None:
    bridge = EventBridge(f"sqlite:///{tmp_path}/first.db")

    @bridge.bus("orders").rule("all")
    async def handler(e: Event) -> None: ...

    await bridge.publish("orders", [event(n) for n in range(5)])
    async with run_bridge(bridge, timeout=5) as harness:
        await harness.publish("orders", event(9))
        assert len(harness.received("handler")) == 1


WORKER = """
import asyncio, os, sys
from eventbridge_sdk import Event, EventBridge

async def main(url, out, publish):
    bridge = EventBridge(url)
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    @bridge.bus("orders").rule("all")
    async def record(event: Event) -> None:
        os.write(fd, f"{event.data['n']}\\n".encode())

    async with bridge:
        if publish:
            await bridge.publish("orders", [Event(type="t", source="s", data={"n": n})
                                            for n in range(200)])
        await asyncio.sleep(1.5)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == "1"))
"""


@pytest.mark.slow
def test_two_processes_in_one_group_on_one_file_deliver_each_event_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    out = tmp_path / "handled.txt"
    asyncio.run(_create(url))
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, str(out), flag]) for flag in ("1", "0")
    ]
    assert [p.wait(60) for p in procs] == [0, 0]
    handled = Counter(int(line) for line in out.read_text().split())
    assert handled == Counter(range(200))


async def _create(url: str) -> None:
    store = SQLiteStore(url)
    await store.open()
    await store.close()


@pytest.mark.slow
async def test_a_reader_held_back_by_a_slow_target_keeps_its_lease(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db?lease_ttl=0.5"
    seen: Counter[int] = Counter()

    def make() -> EventBridge:
        settings = Settings(
            store=url,
            runtime={
                "buffer_size": 2,
                "fetch_batch": 1,
                "target_concurrency": 2,
                "poll_timeout": 0.1,
            },
        )
        bridge = EventBridge(settings=settings)

        @bridge.bus("jobs").rule("all")
        async def slow(e: Event) -> None:
            seen[e.data["n"]] += 1
            await asyncio.sleep(1.0)  # far longer than the lease: no fetch, no commit meanwhile

        return bridge

    first, standby = make(), make()
    await first.start()
    await first.publish("jobs", [event(n) for n in range(6)])
    await asyncio.sleep(0.2)  # the first takes the lease
    await standby.start()
    await first.wait_idle(30)
    await first.stop()
    await standby.stop()
    assert seen == Counter(range(6))


async def test_replies_into_a_full_memory_bus_do_not_wait_on_themselves() -> None:
    bridge = EventBridge("memory://?capacity=4")
    handled: list[str] = []

    @bridge.bus("jobs").rule("requests", pattern={"type": ["request"]}).target(reply_to="jobs")
    async def answer(e: Event) -> dict[str, object]:
        handled.append("request")
        return {"type": "answer", "data": e.data}

    @bridge.bus("jobs").rule("answers", pattern={"type": ["answer"]})
    async def done(e: Event) -> None:
        handled.append("answer")

    async with bridge:
        await bridge.publish("jobs", [{"type": "request", "source": "/t"} for _ in range(4)])
        await bridge.wait_idle(10)
    assert sorted(handled) == ["answer"] * 4 + ["request"] * 4
