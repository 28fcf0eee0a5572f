"""The SQLite store's fast paths keep their promises: wake-ups without polling, writes that
find the file locked, backlogs, pruning in batches, checkpoints while open, FULL durability."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from eventbridge_sdk.stores import SQLiteStore
from eventbridge_sdk.stores import sqlite as sqlite_module

NEVER = 60.0
"""A poll interval and a fetch timeout no test waits for: only a wake-up ends the wait."""
PROMPTLY = 10.0
"""A bound far below ``NEVER`` and far above what any of these steps takes."""


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Hold the file's write lock from another connection, as another process would."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def test_a_waiting_fetch_wakes_on_an_append_of_the_same_store(tmp_path: Path) -> None:
    async with opened(f"sqlite:///{tmp_path}/e.db?poll_interval={NEVER}") as store:
        await store.fetch("orders", "g", max_count=10, timeout=0.01)  # registers the group
        waiting = asyncio.create_task(store.fetch("orders", "g", max_count=10, timeout=NEVER))
        await asyncio.sleep(0.05)  # let it find nothing and wait
        await store.append("orders", [b"a"])
        records = await asyncio.wait_for(waiting, PROMPTLY)
    assert [r.body for r in records] == [b"a"]


async def test_every_group_waiting_on_a_bus_wakes_on_one_append(tmp_path: Path) -> None:
    async with opened(f"sqlite:///{tmp_path}/e.db?poll_interval={NEVER}") as store:
        for group in ("one", "two"):
            await store.fetch("orders", group, max_count=10, timeout=0.01)
        waiting = [
            asyncio.create_task(store.fetch("orders", group, max_count=10, timeout=NEVER))
            for group in ("one", "two")
        ]
        await asyncio.sleep(0.05)
        await store.append("orders", [b"a"])
        results = await asyncio.wait_for(asyncio.gather(*waiting), PROMPTLY)
    assert [[r.body for r in records] for records in results] == [[b"a"], [b"a"]]


async def test_an_append_waits_for_a_write_lock_held_elsewhere(tmp_path: Path) -> None:
    async with opened(f"sqlite:///{tmp_path}/e.db") as store:
        with write_lock_held(tmp_path / "e.db"):
            appending = asyncio.create_task(store.append("orders", [b"a", b"b"]))
            await asyncio.sleep(0.2)
            assert not appending.done()  # neither failed nor written past the lock
        positions = await asyncio.wait_for(appending, PROMPTLY)
        records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    assert [(r.offset, r.body) for r in records] == [
        (p.offset, b) for p, b in zip(positions, [b"a", b"b"], strict=True)
    ]


async def test_a_commit_waits_for_a_write_lock_held_elsewhere(tmp_path: Path) -> None:
    async with opened(f"sqlite:///{tmp_path}/e.db") as store:
        positions = await store.append("orders", [b"a", b"b"])
        with write_lock_held(tmp_path / "e.db"):
            committing = asyncio.create_task(store.commit("orders", "g", {0: positions[0].offset}))
            await asyncio.sleep(0.2)
            assert not committing.done()
        await asyncio.wait_for(committing, PROMPTLY)
        committed = await store.committed("orders", "g")
    assert committed == {0: positions[0].offset}


async def test_a_backlog_is_read_in_order_a_batch_at_a_time(tmp_path: Path) -> None:
    many = 1207
    async with opened(f"sqlite:///{tmp_path}/e.db") as store:
        await store.append("orders", [f"{i}".encode() for i in range(many)])
        await store.append("orders", [b"last"])
        batches = [await store.fetch("orders", "g", max_count=500, timeout=0.01) for _ in range(4)]
    assert [len(batch) for batch in batches] == [500, 500, 208, 0]
    bodies = [r.body for batch in batches for r in batch]
    assert bodies == [f"{i}".encode() for i in range(many)] + [b"last"]


async def test_pruning_deletes_more_than_one_batch(tmp_path: Path) -> None:
    total, kept = 2 * sqlite_module._PRUNE_BATCH + 250, 50
    async with opened(f"sqlite:///{tmp_path}/e.db?prune_interval=0") as store:
        positions = await store.append("orders", [f"{i}".encode() for i in range(total)])
        await store.fetch("orders", "g", max_count=total, timeout=0.1)
        await store.commit("orders", "g", {0: positions[-kept - 1].offset})
        stats = await store.stats("orders")
        left = await store.read("orders", after=0, max_count=total)
    assert stats.retained == kept
    assert [r.body for r in left] == [f"{i}".encode() for i in range(total - kept, total)]


async def test_synchronous_full_appends_and_commits_durably(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/e.db?synchronous=FULL"
    async with opened(url) as store:
        positions = await store.append("orders", [b"a", b"b"])
        await store.fetch("orders", "g", max_count=10, timeout=0.1)
        await store.commit("orders", "g", {0: positions[0].offset})
    async with opened(url) as reopened:
        records = await reopened.fetch("orders", "g", max_count=10, timeout=0.1)
    assert [r.body for r in records] == [b"b"]


def _wal_and_file_sizes(path: Path) -> tuple[int, int]:
    wal = path.with_name(path.name + "-wal")
    return (wal.stat().st_size if wal.exists() else 0), path.stat().st_size


async def test_checkpoints_copy_the_wal_into_the_file_while_the_store_is_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.db"
    body = b"x" * 1000
    events = 4 * sqlite_module._CHECKPOINT_PAGES  # 1 kB each: more pages than a checkpoint needs

    async with opened(f"sqlite:///{path}?retain=all") as store:
        for _ in range(events // 20):
            await store.append("orders", [body] * 20)
        # Nothing but the store's checkpoints copies the WAL into the file until it closes.
        for _ in range(int(PROMPTLY / 0.05)):
            if _wal_and_file_sizes(path)[1] >= events * len(body) // 2:
                break
            await asyncio.sleep(0.05)
        _, file_size = _wal_and_file_sizes(path)
    assert file_size >= events * len(body) // 2


async def test_the_wal_starts_over_under_steady_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small thresholds, so that a few megabytes of steady appends cross them many times.
    monkeypatch.setattr(sqlite_module, "_CHECKPOINT_PAGES", 64)
    monkeypatch.setattr(sqlite_module, "_RESTART_PAGES", 256)
    path = tmp_path / "e.db"
    body, per_append, appends = b"x" * 1000, 4, 10_000
    async with opened(f"sqlite:///{path}?retain=all") as store:
        for _ in range(appends):
            await store.append("orders", [body] * per_append)
        wal, _ = _wal_and_file_sizes(path)
    written = appends * per_append * len(body)
    # A WAL that never started over would hold every page written (more than ``written``).
    assert wal < written // 2
