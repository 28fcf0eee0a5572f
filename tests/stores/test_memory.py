"""What only the memory store does: capacity with back pressure, trimming."""

from __future__ import annotations

import asyncio

import pytest

from eventbridge_sdk import ConfigurationError
from eventbridge_sdk.stores import MemoryStore


async def test_full_store_makes_append_wait_until_a_commit_frees_room() -> None:
    store = MemoryStore(capacity=2)
    await store.open()
    await store.append("orders", [b"a", b"b"])
    records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    blocked = asyncio.create_task(store.append("orders", [b"c"]))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    await store.commit("orders", "g", {0: records[-1].offset})
    await asyncio.wait_for(blocked, 2)
    more = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    assert [r.body for r in more] == [b"c"]


async def test_committed_events_are_trimmed() -> None:
    store = MemoryStore()
    await store.open()
    await store.append("orders", [b"x"] * 10_000)
    records = await store.fetch("orders", "g", max_count=10_000, timeout=0.1)
    await store.commit("orders", "g", {0: records[-1].offset})
    assert store._logs["orders"].bodies == []


@pytest.mark.parametrize("url", ["memory://?capacity=0", "memory://?capacity=lots"])
def test_bad_capacity_is_rejected(url: str) -> None:
    with pytest.raises(ConfigurationError, match="capacity"):
        MemoryStore(url)
