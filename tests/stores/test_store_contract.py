"""The store SPI contract, run against every store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventbridge_sdk.stores import MemoryStore, SQLiteStore, Store


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = (
        MemoryStore()
        if request.param == "memory"
        else SQLiteStore(f"sqlite:///{tmp_path}/events.db")
    )
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


async def test_fetch_respects_max_count_and_advances(store: Store) -> None:
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


async def test_rewind_resumes_from_committed(store: Store) -> None:
    positions = await store.append("orders", [b"a", b"b", b"c"])
    await store.fetch("orders", "g", max_count=10, timeout=0.1)
    await store.commit("orders", "g", {positions[0].partition: positions[0].offset})
    await store.rewind("orders", "g")
    records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    assert [r.body for r in records] == [b"b", b"c"]


async def test_commit_never_moves_backwards(store: Store) -> None:
    positions = await store.append("orders", [b"a", b"b"])
    part = positions[0].partition
    await store.commit("orders", "g", {part: positions[1].offset})
    await store.commit("orders", "g", {part: positions[0].offset})
    assert await store.committed("orders", "g") == {part: positions[1].offset}


async def test_committed_is_empty_for_a_new_group(store: Store) -> None:
    assert await store.committed("orders", "nobody") == {}
