"""The delivery pool and batched handler calls: many targets share few tasks, a waiting delivery
holds back no other target, a failing event of a batch fails alone, and the collector is frozen
while the runtime runs."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from eventbridge_sdk import Event, EventBridge, RetryPolicy, Settings
from eventbridge_sdk.runtime.worker import Worker
from eventbridge_sdk.testing import run_bridge


def order(n: int, kind: str = "a") -> Event:
    return Event(type=f"order.{kind}", source="/shop", data={"n": n})


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a test polls what the runtime exposes
            await asyncio.sleep(0.001)


def worker_of(bridge: EventBridge) -> Worker:
    worker = bridge._worker
    assert worker is not None
    return worker


async def test_a_burst_over_many_targets_runs_on_a_few_pool_tasks() -> None:
    bridge = EventBridge("memory://")
    got: Counter[str] = Counter()
    bus = bridge.bus("orders")
    for k in range(200):
        rule = bus.rule(f"r{k}", pattern={"type": [f"order.k{k}"]})

        async def handler(event: Event, k: int = k) -> None:
            got[f"r{k}"] += 1

        rule.target(name=f"t{k}")(handler)

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n, f"k{n % 200}") for n in range(2000)])
        pool = worker_of(bridge).pool
        # Handlers that never wait need no second task: nothing ever waits for one.
        assert len(pool.tasks) <= 2
    assert got == Counter({f"r{k}": 10 for k in range(200)})


async def test_a_delivery_that_waits_holds_back_no_other_target() -> None:
    bridge = EventBridge("memory://")
    gate = asyncio.Event()
    fast: list[int] = []

    @bridge.bus("orders").rule("slow", pattern={"type": ["order.slow"]}).target(concurrency=4)
    async def slow(event: Event) -> None:
        await gate.wait()

    for k in range(5):

        async def quick(event: Event) -> None:
            fast.append(event.data["n"])

        bridge.bus("orders").rule(f"fast{k}", pattern={"type": ["order.fast"]}).target(
            name=f"quick{k}"
        )(quick)

    async with run_bridge(bridge) as harness:
        events = [order(n, "slow" if n % 2 else "fast") for n in range(40)]
        await harness.publish("orders", events, wait=False)
        await until(lambda: len(fast) == 20 * 5)
        slow_runner = worker_of(bridge).runners["orders/slow/slow"]
        # Its concurrency, all waiting on the gate (the last may start after the fast ones).
        await until(lambda: slow_runner.active == 4)
        gate.set()
        await harness.wait_idle()
    assert sorted(fast) == sorted(n for n in range(40) if n % 2 == 0 for _ in range(5))


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_failing_event_of_a_batch_fails_alone(kind: str) -> None:
    bridge = EventBridge("memory://")
    calls: Counter[int] = Counter()
    threads: set[str] = set()

    def body(event: Event) -> None:
        threads.add(threading.current_thread().name)
        calls[event.data["n"]] += 1
        if event.data["n"] == 7:
            raise ValueError("seven")

    target = bridge.bus("orders").rule("all").target(concurrency=1, retry=RetryPolicy.NO_RETRY)
    if kind == "async":

        @target
        async def handle(event: Event) -> None:
            body(event)

    else:
        target(body)

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n) for n in range(30)])
        [letter] = await harness.dead_letters()
    assert calls == Counter(range(30))  # each once: the batch was not tried again
    assert letter.event.data["n"] == 7
    assert letter.error == "seven"
    if kind == "sync":
        assert all(name.startswith("eventbridge-handler") for name in threads)
    else:
        assert threads == {threading.current_thread().name}


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
async def test_the_collector_is_frozen_while_the_runtime_runs() -> None:
    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all")
    async def handle(event: Event) -> None: ...

    async with bridge:
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("unfrozen")
async def test_an_application_that_froze_objects_itself_is_left_alone() -> None:
    gc.freeze()
    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all")
    async def handle(event: Event) -> None: ...

    async with bridge:
        pass
    assert gc.get_freeze_count() > 0  # the application's frozen objects stay frozen


@pytest.mark.usefixtures("unfrozen")
async def test_gc_freeze_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__GC_FREEZE", "false")
    bridge = EventBridge("memory://", settings=Settings())

    @bridge.bus("orders").rule("all")
    async def handle(event: Event) -> None: ...

    async with bridge:
        assert gc.get_freeze_count() == 0


async def test_a_delivery_ending_at_full_concurrency_takes_only_its_share_of_a_backlog() -> None:
    bridge = EventBridge("memory://")
    loop = asyncio.get_running_loop()
    gates: dict[int, asyncio.Future[None]] = {n: loop.create_future() for n in range(104)}

    @bridge.bus("orders").rule("all").target(concurrency=4)
    async def held(event: Event) -> None:
        await gates[event.data["n"]]

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n) for n in range(4)], wait=False)
        runner = worker_of(bridge).runners["orders/all/held"]
        await until(lambda: runner.active == 4)
        await harness.publish("orders", [order(n) for n in range(4, 104)], wait=False)
        await until(lambda: len(runner.queue) == 100)
        gates[0].set_result(None)
        # The freed delivery takes a quarter (concurrency 4), leaving the rest for the others.
        await until(lambda: len(runner.queue) < 100)
        assert len(runner.queue) == 75
        assert runner.active == 4
        for gate in gates.values():
            if not gate.done():
                gate.set_result(None)
        await harness.wait_idle()


def test_a_hand_off_to_the_thread_pool_runs_calls_within_a_time_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eventbridge_sdk import FunctionSink
    from eventbridge_sdk.sinks import function

    def handler(event: Event) -> None: ...

    events = [order(n) for n in range(10)]
    monkeypatch.setattr(function, "_THREAD_BUDGET", 0.0)  # every call overruns it
    assert len(FunctionSink(handler)._call_all(events)) == 1  # the thread goes back after one
    monkeypatch.setattr(function, "_THREAD_BUDGET", 60.0)
    assert len(FunctionSink(handler)._call_all(events)) == 10  # calls within it share one


async def test_a_slow_sync_handler_still_gets_every_event_in_order() -> None:
    bridge = EventBridge("memory://")
    got: list[int] = []

    @bridge.bus("orders").rule("all").target(concurrency=1)
    def slow(event: Event) -> None:
        time.sleep(0.003)
        got.append(event.data["n"])

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n) for n in range(10)])
    assert got == list(range(10))


class PartsSink:
    """A sink that records the size of each put; while ``gate`` is set it waits on it, and then
    fails the put when ``fail`` is set."""

    max_batch = 64

    def __init__(self) -> None:
        self.parts: list[int] = []
        self.gate: asyncio.Future[None] | None = None
        self.fail = False

    async def start(self, context: object) -> None: ...

    async def put(self, batch: object) -> None:
        self.parts.append(len(batch))  # type: ignore[arg-type]
        if self.gate is not None:
            await self.gate
            if self.fail:
                raise ConnectionError("the gate opened on a failure")

    async def flush(self) -> None: ...

    async def pre_commit(self) -> None: ...

    async def stop(self) -> None: ...


async def test_a_target_whose_puts_are_quick_takes_what_waits_in_one_part() -> None:
    bridge = EventBridge("memory://")
    sink = PartsSink()
    bridge.bus("orders").rule("all").add_sink("parts", sink, concurrency=16)
    async with run_bridge(bridge) as harness:
        for n in range(4):  # quick puts: nothing in them waited
            await harness.publish("orders", [order(n)])
        await harness.publish("orders", [order(n) for n in range(4, 132)])
    # Split sixteen ways, the backlog would have cost sixteen puts of eight.
    assert sink.parts == [1, 1, 1, 1, 64, 64]


async def test_a_target_whose_puts_wait_shares_what_waits_among_its_deliveries() -> None:
    bridge = EventBridge("memory://")
    sink = PartsSink()
    bridge.bus("orders").rule("all").add_sink("parts", sink, concurrency=4)
    loop = asyncio.get_running_loop()
    async with run_bridge(bridge) as harness:
        for n in range(4):
            await harness.publish("orders", [order(n)])  # quick
        runner = worker_of(bridge).runners["orders/all/parts"]
        sink.gate = gate = loop.create_future()
        await harness.publish("orders", [order(4)], wait=False)
        await until(lambda: runner.active == 1)
        # A delivery is in flight, waiting: what comes meanwhile is shared among the others.
        await harness.publish("orders", [order(n) for n in range(5, 44)], wait=False)
        await until(lambda: runner.active == 4)
        assert sink.parts == [1, 1, 1, 1, 1, 10, 8, 6]
        sink.gate = None
        gate.set_result(None)
        await harness.wait_idle()
        assert sum(sink.parts) == 44

        # A put that waited, even one that failed, makes the target share a backlog again,
        # until quick puts in a row show that nothing waits.
        sink.parts, sink.fail = [], True
        sink.gate = loop.create_future()
        loop.call_later(0.01, sink.gate.set_result, None)
        await harness.publish("orders", [order(44)])  # waits 10 ms, then fails
        sink.gate = None
        await harness.publish("orders", [order(n) for n in range(45, 85)])
        assert sink.parts == [1, 10, 8, 6, 4, 12]
