"""Replaying an archive: a time window of a bus delivered again to chosen rules, exactly once,
marked with ``replayname``, without touching other events or any consumer group's position."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import services

from eventbridge_sdk import (
    ConfigurationError,
    Event,
    EventBridge,
    ReplayProgress,
    Retention,
    RuntimeStateError,
    UnknownBusError,
)
from eventbridge_sdk.stores.base import Store

WAIT = 30.0
LATER = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "redis", "nats"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path}/events.db?prune_interval=0"
    elif kind == "redis":
        url = services.redis_url("prune_interval=0")
        yield url
        services.delete_redis_keys(url)
    else:
        yield services.nats_url("prune_interval=0")


def order(n: int, type_: str) -> Event:
    return Event(type=type_, source="/shop", data={"n": n})


async def published(bridge: EventBridge, events: list[Event]) -> None:
    await bridge.publish("orders", events)
    await bridge.wait_idle(WAIT)


async def positions(store: Store, group: str) -> tuple[dict[int, int], object]:
    """The group's committed offsets and the bus's sizes, once the group owes nothing (the
    runtime commits shortly after it delivered)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        stats = await store.stats("orders", group)
        if stats.pending == 0 or loop.time() >= deadline:
            return await store.committed("orders", group), stats
        await asyncio.sleep(0.02)


async def appended_at(store: Store, ids: list[str]) -> list[float]:
    """When the store appended the events ``ids`` (read back from the archive)."""
    found: dict[str, float] = {}
    for record in await store.read("orders", after=0, max_count=1000):
        event = Event.from_json(record.body)
        if event.id in ids and record.appended is not None:
            found[event.id] = record.appended
    return [found[event_id] for event_id in ids]


async def test_a_window_is_replayed_to_one_rule_once_marked(store_url: str) -> None:
    bridge = EventBridge(store_url)
    orders = bridge.bus("orders", retention=Retention(max_age=timedelta(days=1)))
    paid: list[tuple[int, object]] = []
    audited: list[int] = []

    @orders.rule("paid", pattern={"type": ["order.paid"]})
    async def on_paid(event: Event) -> None:
        paid.append((event.data["n"], event.extensions.get("replayname")))

    @orders.rule("audit")
    async def on_any(event: Event) -> None:
        audited.append(event.data["n"])

    before = [order(1, "order.paid"), order(2, "order.created")]
    inside = [order(3, "order.paid"), order(4, "order.created"), order(5, "order.paid")]
    after = [order(6, "order.paid")]
    async with bridge:
        await published(bridge, before)
        await published(bridge, inside)
        await published(bridge, after)
        store = await bridge._opened_store()
        group = bridge.settings.group
        before_replay = await positions(store, group)
        first = min(await appended_at(store, [e.id for e in inside]))
        end = min(await appended_at(store, [after[0].id]))
        paid.clear()
        audited.clear()

        progress = await bridge.replay("orders", first, end, rules=["paid"], name="fix-1")
        await bridge.wait_idle(WAIT)

        assert (progress.state, progress.read, progress.matched, progress.enqueued) == (
            "completed",
            3,
            2,
            2,
        )
        assert sorted(paid) == [(3, "fix-1"), (5, "fix-1")]
        assert audited == []  # the other rule was not chosen
        # No consumer group moved and nothing was appended.
        assert await positions(store, group) == before_replay


async def test_a_rule_can_leave_replays_out(store_url: str) -> None:
    bridge = EventBridge(store_url)
    orders = bridge.bus("orders", retention=Retention())
    live: list[int] = []

    @orders.rule("live", pattern={"replayname": [{"exists": False}]})
    async def on_live(event: Event) -> None:
        live.append(event.data["n"])

    async with bridge:
        await published(bridge, [order(1, "order.paid")])
        progress = await bridge.replay("orders", 0, datetime.now(UTC) + timedelta(hours=1))
        await bridge.wait_idle(WAIT)
    assert (progress.read, progress.matched, progress.enqueued) == (1, 0, 0)
    assert live == [1]


async def test_a_cancelled_replay_delivers_exactly_what_it_counted() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders", retention=Retention())
    replayed: list[int] = []

    @orders.rule("all")
    async def on_any(event: Event) -> None:
        if "replayname" in event.extensions:
            replayed.append(event.data["n"])

    pages: list[ReplayProgress] = []
    async with bridge:
        await published(bridge, [order(n, "order.paid") for n in range(1200)])
        replay = bridge.replay("orders", 0, LATER, on_progress=pages.append)
        replay.cancel()
        first = await replay
        # Cancelled before its first page: nothing queued.
        assert (first.state, first.enqueued) == ("cancelled", 0)

        def cancel_after_a_page(progress: ReplayProgress) -> None:
            if progress.enqueued:
                again.cancel()

        again = bridge.replay("orders", 0, LATER, on_progress=cancel_after_a_page)
        final = await again
        await bridge.wait_idle(WAIT)
    assert final.state == "cancelled"
    assert 0 < final.enqueued < 1200
    assert sorted(replayed) == list(range(final.enqueued))


async def test_a_replay_whose_task_is_cancelled_mid_write_counts_the_page_it_wrote() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders", retention=Retention())
    orders.rule("all").target(name="h")(lambda event: None)
    # No worker runs: what the replay queues stays in the delay queue to be counted.
    await bridge.publish("orders", [order(n, "order.paid") for n in range(10)])
    store = await bridge._opened_store()
    writing, release = asyncio.Event(), asyncio.Event()
    schedule = store.schedule

    async def slow_schedule(group: str, entries: object) -> None:
        writing.set()
        await release.wait()
        await schedule(group, entries)  # type: ignore[arg-type]

    store.schedule = slow_schedule  # type: ignore[method-assign]
    try:
        replay = bridge.replay("orders", 0, LATER)
        await writing.wait()
        replay._task.cancel()  # the loop ending, say: not replay.cancel()
        await asyncio.sleep(0)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await replay._task
        queued = sum(s.size for s in (await store.delayed("default")).values())
    finally:
        store.schedule = schedule  # type: ignore[method-assign]
        await bridge.stop()
    assert replay.progress.state == "cancelled"
    assert replay.progress.enqueued == queued == 10  # written whole, and counted


async def test_a_dry_run_counts_and_queues_nothing() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders", retention=Retention())
    seen: list[object] = []

    @orders.rule("paid", pattern={"type": ["order.paid"]})
    async def on_paid(event: Event) -> None:
        seen.append(event.extensions.get("replayname"))

    async with bridge:
        await published(bridge, [order(1, "order.paid"), order(2, "order.created")])
        progress = await bridge.replay("orders", 0, LATER, dry_run=True)
        await bridge.wait_idle(WAIT)
    assert (progress.read, progress.matched, progress.enqueued) == (2, 1, 1)
    assert seen == [None]


async def test_a_replay_is_queued_while_no_worker_runs_and_delivered_at_start() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders", retention=Retention())
    seen: list[object] = []

    @orders.rule("paid")
    async def on_paid(event: Event) -> None:
        seen.append(event.extensions.get("replayname"))

    async with bridge:
        await published(bridge, [order(1, "order.paid")])
        await bridge.stop()
        store = await bridge._opened_store()
        await store.open()  # the memory store keeps its events across a stop
        progress = await bridge.replay("orders", 0, LATER, name="later")
        assert progress.enqueued == 1
        await bridge.start()
        await bridge.wait_idle(WAIT)
    assert seen == [None, "later"]


async def test_a_replay_request_that_cannot_mean_anything_is_refused() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders", retention=Retention())
    orders.rule("empty")

    @orders.rule("paid")
    async def on_paid(event: Event) -> None: ...

    now = datetime.now(UTC)
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"bus": "nope"}, UnknownBusError, "not declared"),
        ({"rules": ["nope"]}, ConfigurationError, "no rule 'nope'"),
        ({"rules": "paid"}, ConfigurationError, "list of rule names"),
        ({"rules": ["empty"]}, ConfigurationError, "has a target"),
        ({"end": now - timedelta(days=2)}, ConfigurationError, "window is empty"),
        ({"start": datetime(2026, 1, 1)}, ConfigurationError, "no time zone"),
        ({"name": "not a name"}, ConfigurationError, "replay name"),
        ({"end": 1e20}, ConfigurationError, "not a time a datetime can hold"),
    ]
    for change, error, message in cases:
        args: dict[str, object] = {"bus": "orders", "start": now - timedelta(days=1), "end": now}
        args.update(change)
        with pytest.raises(error, match=message):
            bridge.replay(**args)  # type: ignore[arg-type]

    replay = bridge.replay("orders", 0, 1, name="once")
    with pytest.raises(RuntimeStateError, match="already running"):
        bridge.replay("orders", 0, 1, name="once")
    await replay


def test_retention_is_declared_once_per_bus() -> None:
    bridge = EventBridge("memory://")
    bridge.bus("orders", retention={"max_events": 10})
    assert bridge.bus("orders").retention == Retention(max_events=10)
    with pytest.raises(ConfigurationError, match="declared already with retention"):
        bridge.bus("orders", retention=Retention(max_events=5))
    with pytest.raises(ConfigurationError, match="retention must be a Retention"):
        bridge.bus("users", retention=7)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_events must be at least 1"):
        bridge.bus("users", retention={"max_events": 0})
