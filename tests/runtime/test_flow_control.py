"""Flow control per target: bounded queues that spill to the store, concurrency, rate limits."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from eventbridge_sdk import ConfigurationError, Event, EventBridge, Settings
from eventbridge_sdk.runtime.pipeline import default_fetch_batch
from eventbridge_sdk.runtime.runner import Runner
from eventbridge_sdk.testing import ManualClock, run_bridge


def order(n: int) -> Event:
    return Event(type="order.created", source="/shop", data={"n": n})


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a test polls what the runtime exposes
            await asyncio.sleep(0.001)


def runner(bridge: EventBridge, name: str) -> Runner:
    worker = bridge._worker
    assert worker is not None
    return worker.runners[bridge.find_target(name).full_name]


async def test_a_stuck_target_spills_to_the_store_and_the_others_keep_going() -> None:
    bridge = EventBridge("memory://")
    gate = asyncio.Event()
    slow_got: Counter[int] = Counter()
    rule = bridge.bus("orders").rule("all")

    @rule.target(queue_size=10, concurrency=1)
    async def slow(event: Event) -> None:
        await gate.wait()
        slow_got[event.data["n"]] += 1

    @rule.target()
    async def fast(event: Event) -> None: ...

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n) for n in range(300)], wait=False)
        await until(lambda: len(harness.received("fast")) == 300)
        stuck = runner(bridge, "slow")
        assert len(stuck.queue) <= 10  # memory stays bounded whatever the backlog
        [status] = [t for t in (await bridge.status()).targets if t.name.endswith("slow")]
        assert status.delayed >= 300 - 10 - 1  # the rest waits in the store
        assert stuck.queued + status.delayed == 300
        assert status.counts.spilled == status.delayed
        gate.set()
        await harness.wait_idle()
    assert slow_got == Counter(range(300))  # each exactly once


async def test_a_full_target_gets_its_backlog_in_arrival_order() -> None:
    bridge = EventBridge("memory://")
    gate = asyncio.Event()
    got: list[int] = []
    rule = bridge.bus("orders").rule("all")

    @rule.target(queue_size=5, concurrency=1)
    async def ordered(event: Event) -> None:
        await gate.wait()
        got.append(event.data["n"])

    @rule.target()
    async def neighbour(event: Event) -> None: ...

    async with run_bridge(bridge) as harness:
        for n in range(40):
            await harness.publish("orders", order(n), wait=False)
        stuck = runner(bridge, "ordered")
        await until(lambda: stuck.counts.spilled >= 40 - 5 - 1)
        gate.set()
        await harness.wait_idle()
    assert got == list(range(40))


async def test_the_only_target_of_a_bus_makes_the_bus_wait_instead_of_spilling() -> None:
    # Nobody else reads the bus: the backlog stays in the bus itself, read when there is room,
    # rather than copied to the delay queue and read back.
    bridge = EventBridge("memory://")
    gate = asyncio.Event()
    got: list[int] = []

    @bridge.bus("orders").rule("all").target(queue_size=5, concurrency=1)
    async def only(event: Event) -> None:
        await gate.wait()
        got.append(event.data["n"])

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n) for n in range(40)], wait=False)
        sole = runner(bridge, "only")
        await until(lambda: len(sole.queue) == 5)
        await asyncio.sleep(0.01)  # the dispatcher, waiting, queues nothing more
        assert len(sole.queue) == 5
        gate.set()
        await harness.wait_idle()
        [status] = (await bridge.status()).targets
    assert got == list(range(40))
    assert sole.counts.spilled == 0
    assert status.delayed == 0


async def test_concurrency_bounds_the_deliveries_in_flight() -> None:
    bridge = EventBridge("memory://")
    running = peak = 0

    @bridge.bus("orders").rule("all").target(concurrency=3)
    async def bounded(event: Event) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [order(n) for n in range(60)])
    assert peak == 3


async def test_rate_limit_spaces_deliveries_on_the_runtime_clock() -> None:
    bridge = EventBridge("memory://")
    clock = ManualClock()
    got: list[float] = []

    @bridge.bus("orders").rule("all").target(rate_limit=10, concurrency=4)
    async def limited(event: Event) -> None:
        got.append(clock.time())

    async with run_bridge(bridge, clock=clock):
        await bridge.publish("orders", [order(n) for n in range(5)])
        await until(lambda: len(got) == 1)
        for expected in range(2, 6):
            await asyncio.sleep(0.01)
            assert len(got) == expected - 1  # the next one waits for a token
            await clock.advance(0.1 + 1e-6)  # a hair more: sums of 0.1 are inexact in binary
            await until(lambda expected=expected: len(got) == expected)  # type: ignore[misc]
    start = got[0]
    assert [t - start for t in got] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4], abs=1e-4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue_size": 0}, "queue_size must be a whole number >= 1"),
        ({"rate_limit": 0}, "rate_limit must be a positive number"),
        ({"rate_limit": float("inf")}, "rate_limit must be a positive number"),
        ({"retry": "forever"}, "retry must be a RetryPolicy"),
        ({"retry": {"max_attempts": 0}}, "max_attempts counts every attempt"),
        ({"retry": {"tries": 3}}, "unexpected keyword argument 'tries'"),
        ({"tolerance": "some"}, "tolerance must be 'all'"),
        ({"non_retryable": "ValueError"}, "non_retryable must be exception classes"),
        ({"dead_letter": "bad name!"}, "dead_letter of target"),
        ({"dead_letter": "orders"}, "dead_letter is the rule's own bus"),
    ],
)
def test_bad_delivery_options_are_rejected_at_declaration(
    options: dict[str, object], message: str
) -> None:
    bridge = EventBridge("memory://")
    rule = bridge.bus("orders").rule("all")
    with pytest.raises((ValueError, ConfigurationError), match=message):

        @rule.target(**options)  # type: ignore[arg-type]
        async def handler(event: Event) -> None: ...


def test_a_bus_cannot_dead_letter_to_itself_nor_change_its_options() -> None:
    bridge = EventBridge("memory://")
    with pytest.raises(ConfigurationError, match="dead_letter is the bus itself"):
        bridge.bus("orders", dead_letter="orders")
    bridge.bus("payments", dead_letter="payments-dlq")
    assert bridge.bus("payments") is bridge.bus("payments", dead_letter="payments-dlq")
    with pytest.raises(ConfigurationError, match="declared already with other delivery options"):
        bridge.bus("payments", dead_letter="elsewhere")


def test_a_bus_read_brings_500_events_or_two_per_target_up_to_a_quarter_of_the_buffer() -> None:
    assert default_fetch_batch(1, 10_000) == 500
    assert default_fetch_batch(250, 10_000) == 500
    assert default_fetch_batch(1000, 10_000) == 2000
    assert default_fetch_batch(5000, 10_000) == 2500  # a quarter of the buffer at most
    assert default_fetch_batch(1000, 1500) == 500  # never below the plain default
    assert default_fetch_batch(1, 20) == 500


@pytest.mark.parametrize(("setting", "expected"), [(None, 600), (50, 50)])
async def test_the_listener_reads_twice_the_targets_unless_fetch_batch_is_set(
    setting: int | None, expected: int
) -> None:
    runtime = {} if setting is None else {"fetch_batch": setting}
    bridge = EventBridge("memory://", settings=Settings(runtime=runtime))
    bus = bridge.bus("orders")
    got: list[Event] = []
    for k in range(300):
        rule = bus.rule(f"r{k}", pattern={"type": [f"order.{k}"]})

        async def handler(event: Event) -> None:
            got.append(event)

        rule.target(name=f"t{k}")(handler)
    async with run_bridge(bridge):
        worker = bridge._worker
        assert worker is not None
        assert worker.pipelines["orders"].fetch_batch == expected
        await bridge.publish("orders", [{"type": f"order.{k}", "source": "/s"} for k in range(300)])
        await until(lambda: len(got) == 300)
