"""The store SPI contract, run against every store.

Tests of the read-in-order log (cursor, commit, rewind) are for watermark stores; everything
else (appends, the delay queue, browsing) holds for ack stores too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventbridge_sdk.stores import MemoryStore, SQLiteStore, Store
from eventbridge_sdk.stores.base import Delayed, Position

NOW = 1_700_000_000.0


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = (
        MemoryStore()
        if request.param == "memory"
        else SQLiteStore(f"sqlite:///{tmp_path}/events.db?prune_interval=0")
    )
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def log_store(store: Store) -> Store:
    if store.acks:
        pytest.skip("a read-in-order log with a committed watermark is what watermark stores do")
    return store


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


async def test_append_without_blocking_is_accepted(store: Store) -> None:
    positions = await store.append("orders", [b"a", b"b"], block=False)
    assert len(positions) == 2


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
