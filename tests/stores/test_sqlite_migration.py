"""A SQLite file made before events carried their append time opens, keeps its events, and
records the time of the events appended from then on."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from eventbridge_sdk.stores import SQLiteStore

# The events table as files made by the previous schema have it.
_OLD_EVENTS = """
CREATE TABLE eb_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bus TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX eb_events_by_bus ON eb_events (bus, seq);
"""


def _old_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(_OLD_EVENTS)
    conn.execute("INSERT INTO eb_events (bus, body) VALUES ('orders', x'6f6c64')")  # b"old"
    conn.commit()
    conn.close()


async def test_an_old_file_gains_the_column_and_its_old_events_read_as_unknown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    _old_file(path)
    store = SQLiteStore(f"sqlite:///{path}")
    await store.open()
    try:
        before = time.time()
        await store.append("orders", [b"new"])
        after = time.time()
        fetched = await store.fetch("orders", "g", max_count=10, timeout=0.1)
        browsed = await store.read("orders", after=0, max_count=10)
    finally:
        await store.close()
    for records in (fetched, browsed):
        assert [(r.body, r.appended is None) for r in records] == [(b"old", True), (b"new", False)]
        appended = records[1].appended
        assert appended is not None
        assert before <= appended <= after


async def test_store_objects_opening_one_old_file_together_all_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path)
    stores = [SQLiteStore(f"sqlite:///{path}") for _ in range(4)]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        await stores[0].append("orders", [b"new"])
        browsed = await stores[-1].read("orders", after=0, max_count=10)
    finally:
        for store in stores:
            await store.close()
    assert [r.body for r in browsed] == [b"old", b"new"]
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(eb_events)")]
    assert columns == ["seq", "bus", "body", "appended"]
