"""The store SPI contract, run against every store: a store that passes it is a store.

Tests of the read-in-order log (cursor, commit, rewind) are for watermark stores; tests of
competing readers, acknowledgements and redelivery are for ack stores; everything else (appends,
long polls, the delay queue, browsing, restarts) holds for both. The Redis and NATS stores run
against the local servers (see ``tests/services.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import services
from services import fetch_until

from eventbridge_sdk import Retention
from eventbridge_sdk.stores import MemoryStore, Store, open_store
from eventbridge_sdk.stores.base import Delayed, Position, Record

NOW = 1_700_000_000.0
STORES = ["memory", "sqlite", "redis", "nats"]
ACK_TIMEOUT = 1.0
ACK_QUERY = f"ack_timeout={ACK_TIMEOUT:g}&prune_interval=0"
CLOCK_SLACK = 0.001
"""Seconds an append time may lie outside the test's clock readings around the append: Redis
writes its clock in whole microseconds, read back as a float."""


def store_url(kind: str, tmp_path: Path, query: str = "") -> str:
    """A URL of a fresh, empty store of ``kind``."""
    if kind == "memory":
        return f"memory://?{query}"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/events.db?prune_interval=0&{query}"
    if kind == "redis":
        return services.redis_url(query)
    return services.nats_url(query)


@pytest.fixture(params=STORES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh store; ack stores hand out again what is not acked within 1 s."""
    kind = request.param
    url = store_url(kind, tmp_path, ACK_QUERY if kind in ("redis", "nats") else "")
    yield url
    if kind == "redis":
        services.delete_redis_keys(url)


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    s = MemoryStore(url) if url.startswith("memory:") else open_store(url)
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def log_store(store: Store) -> Store:
    if store.acks:
        pytest.skip("a read-in-order log with a committed watermark is what watermark stores do")
    return store


@pytest.fixture
def ack_store(store: Store) -> Store:
    if not store.acks:
        pytest.skip("competing readers and acknowledgements are what ack stores do")
    return store


@pytest.fixture
async def other(url: str) -> AsyncIterator[Store]:
    """A second store object on the same store: another worker of the same application."""
    s = open_store(url)
    await s.open()
    yield s
    await s.close()


async def test_append_returns_increasing_positions(store: Store) -> None:
    first = await store.append("orders", [b"1", b"2"])
    second = await store.append("orders", [b"3"])
    offsets = [p.offset for p in first + second]
    assert offsets == sorted(offsets)
    assert len(set(offsets)) == 3


async def test_fetch_returns_appended_in_order(store: Store) -> None:
    await store.append("orders", [b"a", b"b", b"c"])
    records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    assert [r.body for r in records] == [b"a", b"b", b"c"]


async def test_fetch_respects_max_count_and_advances(log_store: Store) -> None:
    store = log_store
    await store.append("orders", [b"a", b"b", b"c"])
    first = await store.fetch("orders", "g", max_count=2, timeout=0.1)
    second = await store.fetch("orders", "g", max_count=2, timeout=0.1)
    assert [r.body for r in first] == [b"a", b"b"]
    assert [r.body for r in second] == [b"c"]


async def test_buses_are_separate(store: Store) -> None:
    await store.append("orders", [b"o"])
    await store.append("users", [b"u"])
    records = await store.fetch("users", "g", max_count=10, timeout=0.1)
    assert [r.body for r in records] == [b"u"]


async def test_groups_read_independently(store: Store) -> None:
    await store.append("orders", [b"a"])
    one = await store.fetch("orders", "one", max_count=10, timeout=0.1)
    two = await store.fetch("orders", "two", max_count=10, timeout=0.1)
    assert [r.body for r in one] == [r.body for r in two] == [b"a"]


async def test_fetch_times_out_empty(store: Store) -> None:
    assert await store.fetch("orders", "g", max_count=10, timeout=0.05) == []


async def test_fetch_wakes_on_append(store: Store) -> None:
    waiting = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=30))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await store.append("orders", [b"x"])
    records = await asyncio.wait_for(waiting, 5)
    assert [r.body for r in records] == [b"x"]


async def test_rewind_resumes_from_committed(log_store: Store) -> None:
    store = log_store
    positions = await store.append("orders", [b"a", b"b", b"c"])
    await store.fetch("orders", "g", max_count=10, timeout=0.1)
    await store.commit("orders", "g", {positions[0].partition: positions[0].offset})
    await store.rewind("orders", "g")
    records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    assert [r.body for r in records] == [b"b", b"c"]


async def test_commit_never_moves_backwards(log_store: Store) -> None:
    store = log_store
    positions = await store.append("orders", [b"a", b"b"])
    part = positions[0].partition
    await store.commit("orders", "g", {part: positions[1].offset})
    await store.commit("orders", "g", {part: positions[0].offset})
    assert await store.committed("orders", "g") == {part: positions[1].offset}


async def test_committed_is_empty_for_a_new_group(log_store: Store) -> None:
    store = log_store
    assert await store.committed("orders", "nobody") == {}


async def test_records_carry_a_delivery_count_of_one_on_first_delivery(store: Store) -> None:
    await store.append("orders", [b"a"])
    [record] = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    assert record.deliveries == 1


async def test_records_carry_when_the_store_appended_them(store: Store) -> None:
    before = time.time()
    await store.append("orders", [b"a", b"b"])
    after = time.time()
    fetched = await fetch_until(store, "orders", "g", count=2, within=5)
    browsed = await store.read("orders", after=0, max_count=10)
    for records in (fetched, browsed):
        assert [r.body for r in records] == [b"a", b"b"]
        for record in records:
            assert record.appended is not None
            assert before - CLOCK_SLACK <= record.appended <= after + CLOCK_SLACK


async def test_append_without_blocking_is_accepted(store: Store) -> None:
    positions = await store.append("orders", [b"a", b"b"], block=False)
    assert len(positions) == 2


async def test_concurrent_appenders_keep_each_appender_s_order(store: Store) -> None:
    async def appender(name: str) -> list[int]:
        offsets = []
        for batch in range(20):
            bodies = [f"{name}-{batch * 5 + n:03}".encode() for n in range(5)]
            offsets += [p.offset for p in await store.append("orders", bodies)]
        return offsets

    results = await asyncio.gather(*(appender(f"w{n}") for n in range(4)))
    everything = [o for offsets in results for o in offsets]
    assert len(set(everything)) == 400
    for offsets in results:
        assert offsets == sorted(offsets)
    records: list[Record] = []
    while len(records) < 400:
        page = await store.read("orders", after=records[-1].offset if records else 0, max_count=150)
        assert page, f"read stopped after {len(records)} of 400 events"
        records += page
    for n in range(4):
        mine = [r.body for r in records if r.body.startswith(f"w{n}-".encode())]
        assert mine == sorted(mine)
        assert len(mine) == 100


async def test_a_reopened_store_keeps_events_and_the_delay_queue(url: str) -> None:
    if url.startswith("memory:"):
        pytest.skip("the memory store keeps nothing beyond its process")
    first = open_store(url)
    await first.open()
    await first.append("orders", [b"a", b"b"])
    await first.schedule("g", [Delayed("t", NOW, b"retry", 3)])
    await first.close()
    again = open_store(url)
    await again.open()
    try:
        assert [r.body for r in await again.read("orders", after=0, max_count=10)] == [b"a", b"b"]
        fetched = await fetch_until(again, "orders", "g", count=2, within=5)
        assert [r.body for r in fetched] == [b"a", b"b"]
        [entry] = await again.claim("g", "t", now=NOW, max_count=10, lease=60)
        assert (entry.body, entry.weight) == (b"retry", 3)
    finally:
        await again.close()


# -- competing readers (ack stores) ----------------------------------------------------------


async def test_competing_readers_share_the_records_without_overlap(
    ack_store: Store, other: Store
) -> None:
    await ack_store.append("orders", [str(n).encode() for n in range(100)])
    got: dict[str, list[bytes]] = {"one": [], "two": []}
    while len(got["one"]) + len(got["two"]) < 100:
        before = len(got["one"]) + len(got["two"])
        for name, reader in (("one", ack_store), ("two", other)):
            records = await reader.fetch("orders", "g", max_count=10, timeout=0.2)
            await reader.ack("orders", "g", records)
            got[name] += [r.body for r in records]
        assert len(got["one"]) + len(got["two"]) > before, "the readers stopped getting records"
    assert got["one"]
    assert got["two"]
    assert not set(got["one"]) & set(got["two"])
    assert sorted(got["one"] + got["two"], key=int) == [str(n).encode() for n in range(100)]


async def test_what_is_not_acked_is_handed_out_again_with_a_higher_delivery_count(
    ack_store: Store, other: Store
) -> None:
    await ack_store.append("orders", [b"a", b"b"])
    first = await fetch_until(ack_store, "orders", "g", count=2, within=5)
    assert [(r.body, r.deliveries) for r in first] == [(b"a", 1), (b"b", 1)]
    await ack_store.ack("orders", "g", first[:1])
    again = await fetch_until(other, "orders", "g", count=1, within=ACK_TIMEOUT * 10)
    assert [(r.body, r.deliveries) for r in again] == [(b"b", 2)]
    assert first[1].appended is not None
    assert again[0].appended == first[1].appended  # a redelivery keeps its append time
    await other.ack("orders", "g", again)


async def test_acked_records_never_come_back(ack_store: Store, other: Store) -> None:
    await ack_store.append("orders", [b"a"])
    records = await fetch_until(ack_store, "orders", "g", count=1, within=5)
    await ack_store.ack("orders", "g", records)
    assert await fetch_until(other, "orders", "g", count=1, within=ACK_TIMEOUT * 3) == []
    assert await ack_store.fetch("orders", "g", max_count=10, timeout=0.2) == []


async def test_extend_keeps_a_record_from_other_readers(ack_store: Store, other: Store) -> None:
    await ack_store.append("orders", [b"slow"])
    records = await fetch_until(ack_store, "orders", "g", count=1, within=5)
    loop = asyncio.get_running_loop()
    until = loop.time() + ACK_TIMEOUT * 3
    while loop.time() < until:
        await ack_store.extend("orders", "g", records)
        assert await other.fetch("orders", "g", max_count=10, timeout=ACK_TIMEOUT / 4) == []
    # Once no longer extended, the record is taken over.
    again = await fetch_until(other, "orders", "g", count=1, within=ACK_TIMEOUT * 10)
    assert [(r.body, r.deliveries) for r in again] == [(b"slow", 2)]


async def test_a_new_store_object_gets_what_a_closed_one_left_unacked(url: str) -> None:
    first = open_store(url)
    await first.open()
    if not first.acks:
        await first.close()
        pytest.skip("competing readers and acknowledgements are what ack stores do")
    await first.append("orders", [b"a", b"b"])
    assert len(await fetch_until(first, "orders", "g", count=2, within=5)) == 2
    await first.close()
    again = open_store(url)
    await again.open()
    try:
        records = await fetch_until(again, "orders", "g", count=2, within=ACK_TIMEOUT * 10)
        assert sorted((r.body, r.deliveries) for r in records) == [(b"a", 2), (b"b", 2)]
    finally:
        await again.close()


async def test_an_ack_store_prunes_what_every_group_acked_but_not_what_an_entry_keeps(
    ack_store: Store,
) -> None:
    store = ack_store
    positions = await store.append("orders", [b"a", b"b", b"c"])
    records = await fetch_until(store, "orders", "g", count=3, within=5)
    await store.schedule("g", [Delayed("orders/r/t", NOW, b"run", 2, ("orders", *positions[1]))])
    await store.ack("orders", "g", records)
    await asyncio.sleep(ACK_TIMEOUT / 2)
    kept = [r.body for r in await store.read("orders", after=0, max_count=10)]
    assert kept[-2:] == [b"b", b"c"]  # acked, yet kept for the entry
    [entry] = await store.claim("g", "orders/r/t", now=NOW, max_count=10, lease=60)
    await store.finish("g", [entry.id])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    left: list[bytes] = [b"a"]
    while loop.time() < deadline:
        # Each ack gives the store (prune_interval=0) a moment to prune.
        await store.append("orders", [b"more"])
        await store.ack("orders", "g", await fetch_until(store, "orders", "g", count=1, within=5))
        left = [r.body for r in await store.read("orders", after=0, max_count=10)]
        if not {b"a", b"b", b"c"} & set(left):
            break
        await asyncio.sleep(0.1)
    assert not {b"a", b"b", b"c"} & set(left)


# -- the delay queue -----------------------------------------------------------------------


async def test_claim_takes_due_entries_earliest_first_and_leaves_later_ones(store: Store) -> None:
    await store.schedule(
        "g",
        [
            Delayed("t", NOW + 20, b"later"),
            Delayed("t", NOW + 5, b"second"),
            Delayed("t", NOW + 1, b"first"),
        ],
    )
    claimed = await store.claim("g", "t", now=NOW + 10, max_count=10, lease=60)
    assert [c.body for c in claimed] == [b"first", b"second"]
    assert [c.claims for c in claimed] == [1, 1]


async def test_claimed_entries_are_hidden_until_their_lease_ends(store: Store) -> None:
    await store.schedule("g", [Delayed("t", NOW, b"x")])
    [first] = await store.claim("g", "t", now=NOW, max_count=10, lease=30)
    assert await store.claim("g", "t", now=NOW + 29, max_count=10, lease=30) == []
    [again] = await store.claim("g", "t", now=NOW + 31, max_count=10, lease=30)
    assert (again.id, again.body, again.claims) == (first.id, b"x", 2)


async def test_finished_entries_are_gone(store: Store) -> None:
    await store.schedule("g", [Delayed("t", NOW, b"x"), Delayed("t", NOW, b"y")])
    claimed = await store.claim("g", "t", now=NOW, max_count=1, lease=1)
    await store.finish("g", [claimed[0].id])
    rest = await store.claim("g", "t", now=NOW + 100, max_count=10, lease=1)
    assert [c.body for c in rest] == [b"y"]


async def test_claim_respects_max_count_and_key_and_group(store: Store) -> None:
    await store.schedule("g", [Delayed("t", NOW, b"1"), Delayed("t", NOW, b"2")])
    await store.schedule("g", [Delayed("other", NOW, b"o")])
    await store.schedule("h", [Delayed("t", NOW, b"h")])
    assert [c.body for c in await store.claim("g", "t", now=NOW, max_count=1, lease=9)] == [b"1"]
    assert [c.body for c in await store.claim("h", "t", now=NOW, max_count=9, lease=9)] == [b"h"]


async def test_concurrent_claims_never_hand_out_an_entry_twice(store: Store) -> None:
    await store.schedule("g", [Delayed("t", NOW, str(n).encode()) for n in range(200)])
    batches = await asyncio.gather(
        *(store.claim("g", "t", now=NOW, max_count=30, lease=60) for _ in range(10))
    )
    ids = [c.id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 200


async def test_delayed_counts_entries_per_key_with_the_next_due(store: Store) -> None:
    await store.schedule("g", [Delayed("a", NOW + 5, b"1"), Delayed("a", NOW + 2, b"2")])
    await store.schedule("g", [Delayed("b", NOW + 9, b"3")])
    stats = await store.delayed("g")
    assert {k: (v.size, v.next_due) for k, v in stats.items()} == {
        "a": (2, NOW + 2),
        "b": (1, NOW + 9),
    }
    await store.claim("g", "a", now=NOW + 3, max_count=1, lease=100)
    assert (await store.delayed("g"))["a"] == (2, NOW + 5)  # the claimed one comes back later
    assert await store.delayed("nobody") == {}


async def test_claim_counts_weights_and_takes_one_heavy_entry_at_least(store: Store) -> None:
    await store.schedule(
        "g",
        [
            Delayed("t", NOW + 1, b"a", weight=300),
            Delayed("t", NOW + 2, b"b", weight=300),
            Delayed("t", NOW + 3, b"c", weight=1),
        ],
    )
    assert (await store.delayed("g"))["t"].size == 601
    first = await store.claim("g", "t", now=NOW + 9, max_count=100, lease=60)
    assert [(c.body, c.weight) for c in first] == [(b"a", 300)]
    rest = await store.claim("g", "t", now=NOW + 9, max_count=500, lease=60)
    assert [c.body for c in rest] == [b"b", b"c"]


async def test_an_entry_that_keeps_bus_events_holds_back_pruning(log_store: Store) -> None:
    store = log_store
    positions = await store.append("orders", [b"a", b"b", b"c"])
    await store.fetch("orders", "g", max_count=10, timeout=0.1)
    keep = positions[1]
    await store.schedule("g", [Delayed("orders/r/t", NOW, b"run", 2, ("orders", *keep))])
    await store.commit("orders", "g", {keep.partition: positions[-1].offset})
    kept = await store.read("orders", after=0, max_count=10)
    assert [r.body for r in kept] == [b"b", b"c"]  # committed, yet kept for the entry
    [entry] = await store.claim("g", "orders/r/t", now=NOW, max_count=10, lease=60)
    await store.finish("g", [entry.id])
    more = await store.append("orders", [b"d"])
    await store.fetch("orders", "g", max_count=10, timeout=0.1)
    await store.commit("orders", "g", {keep.partition: more[0].offset})
    assert await store.read("orders", after=0, max_count=10) == []


# -- browsing --------------------------------------------------------------------------------


async def test_read_browses_a_bus_without_moving_any_group(store: Store) -> None:
    positions = await store.append("dlq", [b"a", b"b", b"c"])
    page = await store.read("dlq", after=0, max_count=2)
    assert [r.body for r in page] == [b"a", b"b"]
    rest = await store.read("dlq", after=page[-1].offset, max_count=10)
    assert [r.body for r in rest] == [b"c"]
    fetched = await store.fetch("dlq", "g", max_count=10, timeout=0.1)
    assert [r.offset for r in fetched] == [p.offset for p in positions]


async def test_deleted_events_are_neither_read_nor_fetched(store: Store) -> None:
    positions = await store.append("dlq", [b"a", b"b", b"c"])
    assert await store.delete("dlq", [positions[1], Position(0, 10**9)]) == 1
    assert [r.body for r in await store.read("dlq", after=0, max_count=10)] == [b"a", b"c"]
    fetched = await store.fetch("dlq", "g", max_count=10, timeout=0.1)
    assert [r.body for r in fetched] == [b"a", b"c"]


async def test_stats_size_a_bus_and_what_a_group_owes(store: Store) -> None:
    positions = await store.append("orders", [b"a", b"b", b"c"])
    await store.append("other", [b"x"])
    stats = await store.stats("orders")
    assert (stats.last_offset, stats.retained, stats.pending) == (positions[-1].offset, 3, None)
    assert (await store.stats("orders", "g")).pending == 3
    if not store.acks:
        await store.fetch("orders", "g", max_count=1, timeout=0.1)
        await store.commit("orders", "g", {0: positions[0].offset})
        assert (await store.stats("orders", "g")).pending == 2


async def test_a_deleted_event_is_not_pending(store: Store) -> None:
    positions = await store.append("dlq", [b"a", b"b", b"c", b"d"])
    assert await store.delete("dlq", [positions[2]]) == 1
    assert (await store.stats("dlq", "g")).pending == 3
    if not store.acks:
        await store.fetch("dlq", "g", max_count=1, timeout=0.1)
        await store.commit("dlq", "g", {0: positions[0].offset})
        assert (await store.stats("dlq", "g")).pending == 2


async def test_read_gives_append_times_that_grow_with_offsets(store: Store) -> None:
    # A replay finds its time window by bisecting read() on append times.
    for body in (b"a", b"b", b"c"):
        await store.append("orders", [body])
    records = await store.read("orders", after=0, max_count=10)
    times = [r.appended for r in records]
    assert None not in times
    assert times == sorted(times)  # type: ignore[type-var]
    middle = await store.read("orders", after=records[0].offset, max_count=1)
    assert [r.body for r in middle] == [b"b"]


# -- retention -----------------------------------------------------------------------------


async def settle(store: Store, bus: str, records: list[Record]) -> None:
    """Tell the store that group ``g`` is done with ``records`` (a commit or an ack)."""
    if store.acks:
        await store.ack(bus, "g", records)
    else:
        await store.commit(bus, "g", {0: max(r.offset for r in records)})


async def wait_retained(store: Store, bus: str, count: int, *, within: float = 10) -> list[bytes]:
    """The bodies a bus keeps, once it keeps ``count`` (or when ``within`` seconds passed).

    Ack stores may prune after the acknowledgement returns; an append and an ack give them
    another moment to prune (the returned bodies leave out the events appended to do so)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        kept = [r.body for r in await store.read(bus, after=0, max_count=1000)]
        if len(kept) <= count or loop.time() >= deadline:
            return kept
        await asyncio.sleep(0.05)


async def test_a_bus_with_max_events_keeps_that_many_consumed_events(store: Store) -> None:
    await store.set_retention("orders", Retention(max_events=3))
    await store.append("orders", [b"%d" % i for i in range(10)])
    records = await fetch_until(store, "orders", "g", count=10, within=5)
    await settle(store, "orders", records)
    assert await wait_retained(store, "orders", 3) == [b"7", b"8", b"9"]


async def test_retention_never_removes_what_a_group_has_not_finished(store: Store) -> None:
    await store.set_retention("orders", Retention(max_events=1))
    await store.append("orders", [b"a", b"b", b"c", b"d"])
    records = await fetch_until(store, "orders", "g", count=4, within=5)
    await settle(store, "orders", records[:1])
    assert await wait_retained(store, "orders", 3) == [b"b", b"c", b"d"]


async def test_retention_without_limits_keeps_every_consumed_event(store: Store) -> None:
    await store.set_retention("orders", Retention())
    await store.set_retention("users", Retention(max_events=1))
    await store.append("orders", [b"a", b"b"])
    await store.append("users", [b"x", b"y"])
    await settle(store, "orders", await fetch_until(store, "orders", "g", count=2, within=5))
    await settle(store, "users", await fetch_until(store, "users", "g", count=2, within=5))
    # The other bus was pruned, so pruning ran; the archive kept everything.
    assert await wait_retained(store, "users", 1) == [b"y"]
    assert [r.body for r in await store.read("orders", after=0, max_count=10)] == [b"a", b"b"]


async def test_without_retention_consumed_events_are_pruned_again(store: Store) -> None:
    await store.set_retention("orders", Retention())
    await store.set_retention("orders", None)
    await store.append("orders", [b"a", b"b"])
    await settle(store, "orders", await fetch_until(store, "orders", "g", count=2, within=5))
    assert await wait_retained(store, "orders", 0) == []
