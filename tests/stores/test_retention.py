"""Retention by age on every store, and the archive against the stores' bounds.

The memory and SQLite stores stamp appends with their ``clock``, which the tests move; Redis and
NATS stamp them with the server's clock, so their tests wait (polling, with a deadline) until the
first events are old enough.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import services
from services import fetch_until

from eventbridge_sdk import Retention
from eventbridge_sdk.stores import MemoryStore, SQLiteStore, Store, open_store
from eventbridge_sdk.stores.base import Record

MAX_AGE = 4.0
"""Seconds events of the broker stores are kept: long enough that events appended just before a
prune are always younger (also when four test workers share two cores and a read takes a second
or two), short enough to wait for."""


@pytest.fixture(params=["memory", "sqlite", "redis", "nats"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    kind = request.param
    query = "ack_timeout=1&prune_interval=0"
    if kind == "memory":
        s: Store = MemoryStore("memory://")
    elif kind == "sqlite":
        s = SQLiteStore(f"sqlite:///{tmp_path}/events.db?prune_interval=0")
    elif kind == "redis":
        s = open_store(services.redis_url(query))
    else:
        s = open_store(services.nats_url(query))
    await s.open()
    yield s
    await s.close()
    if kind == "redis":
        services.delete_redis_keys(s.url)


async def settle(store: Store, bus: str, records: list[Record]) -> None:
    if store.acks:
        await store.ack(bus, "g", records)
    else:
        await store.commit(bus, "g", {0: max(r.offset for r in records)})


async def kept_once(store: Store, bus: str, count: int, within: float = 10) -> list[bytes]:
    """What the bus keeps once it keeps ``count`` events or fewer (or after ``within`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        kept = [r.body for r in await store.read(bus, after=0, max_count=100)]
        if len(kept) <= count or loop.time() >= deadline:
            return kept
        await asyncio.sleep(0.05)


async def age_past(store: Store, bus: str, seconds: float) -> None:
    """Let the events of ``bus`` grow older than ``seconds``: move the store's clock where it
    has one, else wait for the server's time to pass."""
    if isinstance(store, MemoryStore | SQLiteStore):
        now = store.clock()
        store.clock = lambda: now + seconds + 1
        return
    [newest] = (await store.read(bus, after=0, max_count=100))[-1:]
    assert newest.appended is not None
    # The server's clock is this host's: wait until it has passed the age.
    await asyncio.sleep(min(30.0, max(0.0, newest.appended + seconds + 0.1 - time.time())))


async def test_consumed_events_older_than_max_age_are_removed(store: Store) -> None:
    await store.set_retention("orders", Retention(max_age=MAX_AGE))
    await store.append("orders", [b"old-1", b"old-2", b"old-3"])
    await age_past(store, "orders", MAX_AGE)
    await store.append("orders", [b"new-1", b"new-2"])
    records = await fetch_until(store, "orders", "g", count=5, within=5)
    await settle(store, "orders", records)
    assert await kept_once(store, "orders", 2) == [b"new-1", b"new-2"]


async def test_an_old_event_a_group_has_not_finished_stays(store: Store) -> None:
    await store.set_retention("orders", Retention(max_age=MAX_AGE))
    await store.append("orders", [b"old-1", b"old-2"])
    await age_past(store, "orders", MAX_AGE)
    records = await fetch_until(store, "orders", "g", count=2, within=5)
    await settle(store, "orders", records[:1])
    assert await kept_once(store, "orders", 1) == [b"old-2"]


async def test_with_both_limits_an_event_goes_when_it_passes_either(store: Store) -> None:
    await store.set_retention("orders", Retention(max_age=MAX_AGE, max_events=2))
    await store.append("orders", [b"old"])
    await age_past(store, "orders", MAX_AGE)
    await store.append("orders", [b"new-1", b"new-2", b"new-3"])
    records = await fetch_until(store, "orders", "g", count=4, within=5)
    await settle(store, "orders", records)
    assert await kept_once(store, "orders", 2) == [b"new-2", b"new-3"]


async def test_an_archive_does_not_count_against_the_memory_capacity() -> None:
    store = MemoryStore("memory://?capacity=3")
    await store.open()
    await store.set_retention("orders", Retention())
    await store.append("orders", [b"a", b"b", b"c"])
    records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    await store.commit("orders", "g", {0: records[-1].offset})
    await asyncio.wait_for(store.append("orders", [b"d", b"e", b"f"]), 5)
    assert (await store.stats("orders")).retained == 6


@pytest.mark.parametrize("kind", ["redis", "nats"])
async def test_an_archive_does_not_count_against_a_broker_s_maxlen(kind: str) -> None:
    query = "ack_timeout=1&prune_interval=0&maxlen=3"
    url = services.redis_url(query) if kind == "redis" else services.nats_url(query)
    store = open_store(url)
    await store.open()
    try:
        await store.set_retention("orders", Retention(max_events=100))
        await store.append("orders", [b"a", b"b", b"c"])
        await store.ack("orders", "g", await fetch_until(store, "orders", "g", count=3, within=5))
        await asyncio.wait_for(store.append("orders", [b"d", b"e", b"f"]), 5)
        assert (await store.stats("orders")).retained == 6
    finally:
        await store.close()
        if kind == "redis":
            services.delete_redis_keys(url)


def test_retention_refuses_limits_that_mean_nothing() -> None:
    from eventbridge_sdk import ConfigurationError

    for bad, message in [
        ({"max_age": 0}, "max_age must be a positive"),
        ({"max_age": -5}, "max_age must be a positive"),
        ({"max_age": "7d"}, "max_age must be a positive"),
        ({"max_events": 0}, "max_events must be at least 1"),
        ({"max_events": 1.5}, "max_events must be a whole number"),
        ({"max_events": True}, "max_events must be a whole number"),
    ]:
        with pytest.raises(ConfigurationError, match=message):
            Retention(**bad)  # type: ignore[arg-type]
    assert Retention(max_age=60).max_age_seconds == 60.0
