"""What only the SQLite store does: durability across reopen, URL options, bad paths."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from eventbridge_sdk import ConfigurationError, StoreClosedError, StoreError
from eventbridge_sdk.stores import SQLiteStore, open_store
from eventbridge_sdk.stores.base import Delayed


async def test_events_and_offsets_survive_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.db"
    store = SQLiteStore(url)
    await store.open()
    positions = await store.append("orders", [b"a", b"b"])
    await store.commit("orders", "g", {0: positions[0].offset})
    await store.close()

    reopened = SQLiteStore(url)
    await reopened.open()
    records = await reopened.fetch("orders", "g", max_count=10, timeout=0.1)
    await reopened.close()
    assert [r.body for r in records] == [b"b"]


async def test_two_store_objects_on_one_file_see_each_others_appends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db?poll_interval=0.01"
    writer, reader = SQLiteStore(url), SQLiteStore(url)
    await writer.open()
    await reader.open()
    try:
        await writer.append("orders", [b"from-writer"])
        records = await reader.fetch("orders", "g", max_count=10, timeout=2)
    finally:
        await writer.close()
        await reader.close()
    assert [r.body for r in records] == [b"from-writer"]


async def test_concurrent_appends_are_group_committed_in_order(tmp_path: Path) -> None:
    import asyncio

    store = SQLiteStore(f"sqlite:///{tmp_path}/events.db")
    await store.open()
    results = await asyncio.gather(*(store.append("orders", [f"{i}".encode()]) for i in range(200)))
    records = await store.fetch("orders", "g", max_count=1000, timeout=0.1)
    await store.close()
    assert [r.body for r in records] == [f"{i}".encode() for i in range(200)]
    assert [r[0].offset for r in results] == [r.offset for r in records]


async def test_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/events.db")
    await store.open()
    await store.close()
    assert (tmp_path / "data" / "events.db").exists()


async def test_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store = SQLiteStore(f"sqlite:///{blocker}/events.db")
    with pytest.raises(StoreError, match="not-a-dir"):
        await store.open()


async def test_a_directory_as_the_file_is_a_clear_error(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}")
    with pytest.raises(StoreError, match="cannot open"):
        await store.open()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "names no file"),
        ("sqlite:///x.db?synchronous=SOMETIMES", "synchronous must be one of"),
        ("sqlite:///x.db?colour=blue", "unknown option"),
        ("sqlite:///x.db?busy_timeout=soon", "could not convert"),
        ("sqlite:///x.db?lease_ttl=0", "lease_ttl must be positive"),
        ("sqlite:///x.db?retain=forever", "retain must be"),
        ("ftp://host/x", "no store is registered for scheme 'ftp'"),
    ],
)
def test_bad_urls_are_rejected(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_store(url)


async def test_use_after_close_is_a_clear_error(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}/events.db")
    await store.open()
    await store.close()
    with pytest.raises(StoreClosedError, match="is closed"):
        await store.append("orders", [b"x"])


async def test_an_unreachable_path_is_a_clear_error() -> None:
    store = SQLiteStore("sqlite:////proc/eventbridge/events.db")
    with pytest.raises(StoreError, match="/proc/eventbridge/events.db"):
        await store.open()


APPEND_SCRIPT = """
import asyncio, sys
from eventbridge_sdk.stores import SQLiteStore

async def main(url, tag):
    store = SQLiteStore(url)
    await store.open()
    for start in range(0, 2000, 100):
        await store.append("orders", [f"{tag}-{i}".encode() for i in range(start, start + 100)])
    await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_several_processes_append_to_one_file_safely(tmp_path: Path) -> None:
    import asyncio
    import sys

    url = f"sqlite:///{tmp_path}/shared.db"
    store = SQLiteStore(url)
    await store.open()  # creates the schema before the writers race
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", APPEND_SCRIPT, url, tag)
        for tag in ("a", "b")
    ]
    assert [await p.wait() for p in procs] == [0, 0]
    records = await store.fetch("orders", "g", max_count=10_000, timeout=1)
    await store.close()
    bodies = [r.body.decode() for r in records]
    assert len(bodies) == 4000
    for tag in ("a", "b"):
        assert [b for b in bodies if b.startswith(tag)] == [f"{tag}-{i}" for i in range(2000)]


HOLDER_SCRIPT = """
import asyncio, sys
from eventbridge_sdk.stores import SQLiteStore

async def main(url):
    store = SQLiteStore(url)
    await store.open()
    await store.fetch("orders", "g", max_count=1, timeout=0.1)
    print("held", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_one_reader_per_group_and_a_hung_holder_is_taken_over(tmp_path: Path) -> None:
    import asyncio
    import signal
    import sys

    url = f"sqlite:///{tmp_path}/leases.db?lease_ttl=0.6&poll_interval=0.01"
    store = SQLiteStore(url)
    await store.open()
    await store.append("orders", [b"a", b"b"])
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER_SCRIPT, url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"held\n"
        # The holder renews its lease while it runs: this store stands by.
        await asyncio.sleep(0.8)
        assert await store.fetch("orders", "g", max_count=10, timeout=0.05) == []
        # Another group is another lease.
        other = await store.fetch("orders", "other", max_count=10, timeout=0.1)
        assert [r.body for r in other] == [b"a", b"b"]
        # The holder hangs (alive, not renewing): once its lease lapses this store takes
        # over from the committed offset, which is the start.
        holder.send_signal(signal.SIGSTOP)
        await asyncio.sleep(0.8)
        records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
        assert [r.body for r in records] == [b"a", b"b"]
    finally:
        holder.kill()
        await holder.wait()
        await store.close()


async def test_closing_releases_the_lease_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/leases.db?lease_ttl=60"
    first, second = SQLiteStore(url), SQLiteStore(url)
    await first.open()
    await second.open()
    await first.append("orders", [b"a"])
    await first.fetch("orders", "g", max_count=10, timeout=0.1)
    await first.close()
    records = await second.fetch("orders", "g", max_count=10, timeout=0.1)
    await second.close()
    assert [r.body for r in records] == [b"a"]


async def test_events_every_group_committed_are_pruned(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}/prune.db?prune_interval=0")
    await store.open()
    positions = await store.append("orders", [b"a", b"b", b"c"])
    await store.append("users", [b"u"])
    await store.fetch("orders", "one", max_count=10, timeout=0.1)
    await store.fetch("orders", "two", max_count=10, timeout=0.1)
    await store.commit("orders", "one", {0: positions[2].offset})
    await store.commit("orders", "two", {0: positions[0].offset})  # "two" is behind
    await store.rewind("orders", "two")
    late = await store.fetch("orders", "two", max_count=10, timeout=0.1)
    users = await store.fetch("users", "one", max_count=10, timeout=0.1)
    await store.close()
    assert [r.body for r in late] == [b"b", b"c"]  # kept for the group that had not read them
    assert [r.body for r in users] == [b"u"]  # no group committed on users: kept
    import sqlite3

    with sqlite3.connect(tmp_path / "prune.db") as conn:
        rows = conn.execute("SELECT bus, body FROM eb_events ORDER BY seq").fetchall()
    assert rows == [("orders", b"b"), ("orders", b"c"), ("users", b"u")]


async def test_retain_all_keeps_committed_events(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}/keep.db?prune_interval=0&retain=all")
    await store.open()
    positions = await store.append("orders", [b"a"])
    await store.commit("orders", "one", {0: positions[0].offset})
    records = await store.fetch("orders", "new-group", max_count=10, timeout=0.1)
    await store.close()
    assert [r.body for r in records] == [b"a"]


async def _fetch_past_a_lease_of(pid: int, db: Path) -> list[bytes]:
    """Fetch from a file whose lease a process ``pid`` of this host holds for an hour."""
    import socket
    import sqlite3
    import time

    store = SQLiteStore(f"sqlite:///{db}?lease_ttl=3600")
    await store.open()
    await store.append("orders", [b"a"])
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO eb_leases VALUES ('orders', 'g', ?, ?)",
            (f"{socket.gethostname()}/{pid}/x", time.time() + 3600),
        )
    records = await store.fetch("orders", "g", max_count=10, timeout=0.05)
    await store.close()
    return [r.body for r in records]


async def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(tmp_path: Path) -> None:
    import asyncio
    import sys

    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()
    assert await _fetch_past_a_lease_of(dead.pid, tmp_path / "dead.db") == [b"a"]


async def test_a_lease_of_a_live_process_is_waited_out(tmp_path: Path) -> None:
    import os

    assert await _fetch_past_a_lease_of(os.getppid(), tmp_path / "live.db") == []


async def test_opening_waits_while_another_process_holds_a_new_file_locked(
    tmp_path: Path,
) -> None:
    import asyncio
    import sqlite3
    import threading

    path = tmp_path / "fresh.db"
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    creator.execute("CREATE TABLE other (x)")
    # Another process writing to the new file, still in its rollback journal: switching to WAL
    # now fails at once instead of waiting, unless the store retries.
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("INSERT INTO other VALUES (1)")
    release = threading.Timer(0.3, lambda: creator.execute("COMMIT"))
    release.start()
    store = SQLiteStore(f"sqlite:///{path}")
    try:
        await store.open()
        await store.append("orders", [b"a"])
        records = await store.fetch("orders", "g", max_count=10, timeout=0.1)
    finally:
        release.join()
        creator.close()
        await store.close()
    assert [r.body for r in records] == [b"a"]
    await asyncio.sleep(0)


async def test_the_delay_queue_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.db"
    store = SQLiteStore(url)
    await store.open()
    await store.schedule("g", [Delayed("orders/r/t", 100.0, b"retry")])
    await store.close()
    reopened = SQLiteStore(url)
    await reopened.open()
    try:
        [entry] = await reopened.claim("g", "orders/r/t", now=100.0, max_count=5, lease=60)
        assert entry.body == b"retry"
    finally:
        await reopened.close()


async def test_claims_of_a_dead_process_of_this_host_are_claimable_at_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/events.db"
    store = SQLiteStore(url)
    await store.open()
    await store.schedule("g", [Delayed("t", 100.0, b"x")])
    await store.claim("g", "t", now=100.0, max_count=5, lease=3600)
    await store.close()
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    dead = gone.pid
    with sqlite3.connect(tmp_path / "events.db") as conn:
        conn.execute("UPDATE eb_delayed SET owner = ?", (f"{socket.gethostname()}/{dead}/x",))
    reopened = SQLiteStore(url)
    await reopened.open()
    try:
        claimed = await reopened.claim("g", "t", now=101.0, max_count=5, lease=60)
        assert [c.body for c in claimed] == [b"x"]  # not hidden for the rest of the hour
    finally:
        await reopened.close()
