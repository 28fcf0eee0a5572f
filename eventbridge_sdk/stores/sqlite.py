"""The embedded durable store (``sqlite:///path/to/file.db``), the zero-infrastructure default.

One file holds every bus, the committed offsets of every consumer group and the buses' metadata.
The file is in WAL mode, so readers never block the writer, and several processes may share it
(SQLite locks the file; writers wait up to ``busy_timeout``).

Appends are group-committed: every ``append`` call made while a transaction runs joins the
next one, so a thousand concurrent publishers cost a handful of transactions. ``append`` returns
only after the transaction committed. With the default ``synchronous=NORMAL`` a committed event
survives the process being killed; add ``?synchronous=FULL`` to the URL to survive power loss too.

The hot path stays on the event loop: with ``synchronous=NORMAL`` (or ``OFF``) a commit writes
to the WAL without waiting on the disk, so appends, offset commits, pruning and the listener's
reads run there directly (tens of microseconds for a few events) instead of two thread hops
each; under load a thread also waits for the busy event loop to let go of the GIL at every row
it writes or reads, and that cost more than the work. A transaction that finds the write lock
taken (by another process, or by this store's own thread) moves to the writer's thread, whose
connection waits for it; with ``synchronous=FULL`` every commit waits on ``fsync`` and every
write runs there. Checkpoints (copying the WAL back into the file, with ``fsync``) never run in
a commit: the store starts one on a thread of its own after about every ``_CHECKPOINT_PAGES``
pages written, alongside the writes (see ``_checkpoint``). Events every group committed are
pruned in transactions of at most ``_PRUNE_BATCH`` events, so an append waits for one such
transaction at most, never for a whole prune.

``fetch`` wakes at once on appends made through this store object; appends made by other
processes are noticed by checking SQLite's ``data_version`` every ``poll_interval`` seconds while
a reader waits (a single pragma, no table read).

Events every consumer group of a bus has committed are deleted every ``prune_interval``
seconds (5), so the file stops growing once readers keep up; ``?retain=all`` keeps every event
(for groups that will join later and want the history). SQLite reuses the freed pages. A bus
given a :class:`~eventbridge_sdk.Retention` keeps its committed events until they are older
than its ``max_age`` or not among its newest ``max_events`` (whatever ``retain`` says), pruned
on the same schedule. ``clock`` (``time.time``) stamps appends and measures ages; tests replace
it.

Each consumer group has a delay queue in the same file (retries, a slow target's backlog); an
entry claimed by a process that died is claimable again at once when the process was on this
host, and after its lease otherwise.

Each bus and consumer group is read by one process at a time: the one holding its lease (see
``_leases``). Other processes on the same file stand by and take over within ``lease_ttl``
seconds (15) after the holder stops renewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from .._errors import ConfigurationError, StoreClosedError, StoreError
from .._retention import Retention, first_at_or_after
from ._leases import LEASE_SCHEMA, Leases, alive
from .base import BusStats, Claimed, Delayed, DelayStats, Position, Record

__all__ = ["SQLiteStore"]

logger = logging.getLogger("eventbridge_sdk")

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS eb_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bus TEXT NOT NULL,
    body BLOB NOT NULL,
    appended REAL
);
CREATE INDEX IF NOT EXISTS eb_events_by_bus ON eb_events (bus, seq);
CREATE TABLE IF NOT EXISTS eb_delayed (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    key TEXT NOT NULL,
    due REAL NOT NULL,
    body BLOB NOT NULL,
    weight INTEGER NOT NULL DEFAULT 1,
    keep_bus TEXT,
    keep_from INTEGER,
    claims INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    available REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS eb_delayed_by_key ON eb_delayed (grp, key, available, id);
CREATE INDEX IF NOT EXISTS eb_delayed_keeps ON eb_delayed (keep_bus, keep_from)
    WHERE keep_bus IS NOT NULL;
CREATE TABLE IF NOT EXISTS eb_offsets (
    bus TEXT NOT NULL,
    grp TEXT NOT NULL,
    part INTEGER NOT NULL,
    committed INTEGER NOT NULL,
    PRIMARY KEY (bus, grp, part)
) WITHOUT ROWID;
"""
_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}
_NO_WAIT_ON_COMMIT = {"OFF", "NORMAL"}
"""Synchronous modes in which a WAL commit never waits on ``fsync``."""
_CHECKPOINT_PAGES = 1000
"""Pages written (an estimate) between two checkpoints: SQLite's own default."""
_RESTART_PAGES = 4 * _CHECKPOINT_PAGES
"""WAL frames beyond which a checkpoint makes the next writer start the WAL over, holding the
writers back for the last few frames: checkpoints alongside steady writes never catch up fully,
and the WAL would otherwise grow for as long as the writes go on."""
_RESTART_WAIT_MS = 100
"""How long that last checkpoint waits for another process's writer or readers before it gives
up until the next one: this process's writes wait meanwhile."""
_PAGE_BYTES = 3000
"""Bytes of events per page written: a 4 KiB page, its index entries, the B-tree's free room."""
_PRUNE_BATCH = 500
"""Events one pruning transaction deletes at most (about a millisecond)."""
_NO_FLOOR = 1 << 62
"""An offset above every event: pruning without a retention limit."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _add_appended_column(conn: sqlite3.Connection) -> None:
    """Migrate a file made before events carried their append time; its old events read as
    ``None``. Another process may migrate the same file at the same moment."""
    if any(row[1] == "appended" for row in conn.execute("PRAGMA table_info(eb_events)")):
        return
    try:
        conn.execute("ALTER TABLE eb_events ADD COLUMN appended REAL")
    except sqlite3.OperationalError:
        if not any(row[1] == "appended" for row in conn.execute("PRAGMA table_info(eb_events)")):
            raise


def _parse_url(url: str) -> tuple[Path, dict[str, str]]:
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigurationError(f"store URL {url!r} is not a sqlite:// URL")
    # sqlite:///relative.db -> "relative.db"; sqlite:////abs/path.db -> "/abs/path.db"
    raw = unquote(parts.netloc + parts.path)
    path = raw[1:] if raw.startswith("/") else raw
    if not path:
        raise ConfigurationError(
            f"store URL {url!r} names no file; use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return Path(path), options


class SQLiteStore:
    """A :class:`~eventbridge_sdk.stores.base.Store` in one SQLite file.

    Example::

        store = SQLiteStore("sqlite:///.eventbridge/events.db")
    """

    acks = False
    ack_timeout: float | None = None

    def __init__(self, url: str) -> None:
        self.url = url
        self.path, options = _parse_url(url)
        self.synchronous = options.pop("synchronous", "NORMAL").upper()
        if self.synchronous not in _SYNCHRONOUS:
            raise ConfigurationError(
                f"store URL {url!r}: synchronous must be one of {sorted(_SYNCHRONOUS)}"
            )
        try:
            self.busy_timeout = float(options.pop("busy_timeout", "10"))
            self.poll_interval = float(options.pop("poll_interval", "0.05"))
            lease_ttl = float(options.pop("lease_ttl", "15"))
            self.prune_interval = float(options.pop("prune_interval", "5"))
        except ValueError as exc:
            raise ConfigurationError(f"store URL {url!r}: {exc}") from None
        self.retain = options.pop("retain", "consumed")
        if self.retain not in ("consumed", "all"):
            raise ConfigurationError(
                f"store URL {url!r}: retain must be 'consumed' (drop events every consumer "
                f"group committed) or 'all' (keep every event), got {self.retain!r}"
            )
        if options:
            raise ConfigurationError(
                f"store URL {url!r}: unknown option(s) {sorted(options)}; known: synchronous, "
                "busy_timeout, poll_interval, lease_ttl, retain, prune_interval"
            )
        if lease_ttl <= 0:
            raise ConfigurationError(f"store URL {url!r}: lease_ttl must be positive")
        self._leases = Leases(lease_ttl)
        self.clock: Callable[[], float] = time.time
        """Stamps appends and measures ages against retention (tests replace it)."""
        self._retention: dict[str, Retention] = {}
        self._pruned_at: dict[str, float] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        # The event loop's own connection: it never waits for a lock (busy_timeout 0).
        self._loop_conn: sqlite3.Connection | None = None
        self._write_inline = self.synchronous in _NO_WAIT_ON_COMMIT
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="eventbridge-sqlite-w")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="eventbridge-sqlite-r")
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="eventbridge-sqlite-c")
        self._pending: list[tuple[str, Sequence[bytes], asyncio.Future[list[Position]]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._cursors: dict[tuple[str, str], int] = {}
        # One wake-up per bus and group: a group's fetch clears its own, never another's.
        self._new_data: dict[str, dict[str, asyncio.Event]] = {}
        self._unchecked_pages = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._restarted = asyncio.Event()  # cleared while a checkpoint restarts the WAL
        self._restarted.set()
        self._closed = True

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The database file's absolute path (a relative URL is relative to the working dir)."""
        return str(self.path.resolve())

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        # Switching a new file to WAL does not wait on the busy handler: when another process
        # is creating the same file at this moment, SQLite says "locked" at once. Retry here
        # (this runs in the store's thread, never on the event loop).
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                    conn.close()
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.2)
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        # A checkpoint in a commit would hold up that commit by milliseconds; the store runs
        # them on a thread of its own instead (_checkpoint).
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    def _open_sync(self) -> None:
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
            writer.executescript(_SCHEMA + LEASE_SCHEMA)
            _add_appended_column(writer)
            reader = self._connect()
            loop_conn = self._connect()
            loop_conn.execute("PRAGMA busy_timeout = 0")
            checkpointer = self._connect()
            checkpointer.execute(f"PRAGMA busy_timeout = {_RESTART_WAIT_MS}")
        except sqlite3.DatabaseError as exc:
            if self.path.is_file() and "not a database" in str(exc):
                raise StoreError(
                    f"cannot open the SQLite store at {str(self.path)!r}: the file exists but "
                    "is not a SQLite database; point the store URL at another file"
                ) from exc
            raise StoreError(
                f"cannot open the SQLite store at {str(self.path)!r} ({exc}); check that the "
                "directory exists or can be created and is writable"
            ) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open the SQLite store at {str(self.path)!r} ({exc}); check that the "
                "directory exists or can be created and is writable"
            ) from exc
        if not os.access(self.path, os.W_OK):
            for conn in (loop_conn, checkpointer, writer, reader):
                conn.close()
            raise StoreError(f"the SQLite store {str(self.path)!r} is not writable")
        self._writer, self._reader, self._loop_conn = writer, reader, loop_conn
        self._checkpointer = checkpointer
        self._release_orphaned_claims()

    def _release_orphaned_claims(self) -> None:
        """Make delay-queue entries claimed by dead processes of this host claimable now."""
        conn = self._writer
        assert conn is not None
        owners = [
            owner
            for (owner,) in conn.execute(
                "SELECT DISTINCT owner FROM eb_delayed WHERE owner IS NOT NULL"
            )
            if not alive(owner)
        ]
        if owners:

            def release() -> None:
                conn.executemany(
                    "UPDATE eb_delayed SET owner = NULL, available = due WHERE owner = ?",
                    [(owner,) for owner in owners],
                )

            self._transaction(conn, release)

    async def open(self) -> None:
        if not self._closed:
            return
        await self._in(self._write_thread, self._open_sync)
        # Wake-up events and tasks belong to the loop that opens the store.
        self._new_data.clear()
        self._flusher = None
        self._heartbeat = None
        self._checkpointing = None
        self._restarted = asyncio.Event()
        self._restarted.set()
        self._unchecked_pages = 0
        self._closed = False

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        for events in self._new_data.values():
            for event in events.values():
                event.set()
        if self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
        if self._loop_conn is not None:
            # Closed first: not the last connection, so closing it checkpoints nothing.
            self._loop_conn.close()
            self._loop_conn = None
        if self._checkpointer is not None:
            await self._in(self._checkpoint_thread, self._checkpointer.close)
            self._checkpointer = None
        if self._writer is not None:
            # If releasing fails, the lease lapses by itself after lease_ttl.
            with contextlib.suppress(sqlite3.Error):
                await self._in(self._write_thread, self._leases.release_all, self._writer)
        for conn, thread in ((self._writer, self._write_thread), (self._reader, self._read_thread)):
            if conn is not None:
                await self._in(thread, conn.close)
        self._writer = self._reader = None

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
        """Run ``work`` in one write transaction.

        ``work`` must not return a cursor: a cursor released on another thread would reset its
        statement while this thread runs the next one.
        """
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    async def _in(self, thread: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)

    async def _write(
        self, fn: Callable[..., T], *args: Any, pages: int = 3, inline: bool = False
    ) -> T:
        """Run ``fn(conn, *args)``, one write transaction, and count the pages it wrote.

        ``inline``: on the event loop's connection when a commit cannot wait on the disk; if
        another connection holds the write lock, SQLite says so at once (before anything is
        written) and the transaction moves to the writer's thread, which waits for the lock.
        """
        if not self._restarted.is_set():
            await self._restarted.wait()
        conn = self._loop_conn
        if inline and self._write_inline and conn is not None:
            try:
                result = fn(conn, *args)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
            else:
                self._wrote(pages)
                return result
        result = await self._in(self._write_thread, fn, self._writer, *args)
        self._wrote(pages)
        return result

    async def _read_now(self, fn: Callable[..., T], *args: Any) -> T:
        """Run the read ``fn(conn, *args)`` on the event loop: in WAL mode a reader does not
        wait for writers. Should SQLite still say busy (another process recovering the file
        after a crash), the read runs on the reader's thread, whose connection waits."""
        conn = self._loop_conn
        assert conn is not None
        try:
            return fn(conn, *args)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        return await self._in(self._read_thread, fn, self._reader, *args)

    # -- checkpoints -----------------------------------------------------------------------

    def _wrote(self, pages: int) -> None:
        self._unchecked_pages += pages
        if (
            self._unchecked_pages >= _CHECKPOINT_PAGES
            and self._checkpointing is None
            and not self._closed
        ):
            self._unchecked_pages = 0
            self._checkpointing = asyncio.create_task(
                self._checkpoint(), name=f"eventbridge-sqlite-checkpoint:{self.path.name}"
            )

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database file on a thread of its own, alongside the writes.

        The WAL starts over only when a writer finds it all copied; under steady writes some
        are always made during the copy, and the WAL would grow for as long as they go on.
        So once it holds ``_RESTART_PAGES`` frames, this process's writes wait (in memory,
        joining the next group commit) while a last short checkpoint copies what they added
        and starts the WAL over: they are not there to take the lock in between the
        checkpoint's attempts to get it. It waits for other processes ``_RESTART_WAIT_MS`` at
        most.
        """
        thread, conn = self._checkpoint_thread, self._checkpointer
        try:
            frames = await self._in(thread, self._run_checkpoint, conn, "PASSIVE")
            if frames >= _RESTART_PAGES:
                await self._in(thread, self._run_checkpoint, conn, "PASSIVE")
                self._restarted.clear()
                try:
                    await self._in(thread, self._restart_wal, conn)
                finally:
                    self._restarted.set()
        except sqlite3.Error:
            # The WAL keeps the events meanwhile; the next checkpoint copies them.
            logger.exception("checkpointing the SQLite store %r failed", str(self.path))
        finally:
            self._checkpointing = None

    @staticmethod
    def _run_checkpoint(conn: sqlite3.Connection, mode: str) -> int:
        """Run one checkpoint; return the frames the WAL holds."""
        return int(conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[1])

    def _restart_wal(self, conn: sqlite3.Connection) -> None:
        """Copy the last frames, then write the new WAL's first frame here.

        A writer that starts the WAL over syncs its header first; done here, that ``fsync``
        is not the next append's, on the event loop. Rewriting the events' sequence counter
        as it is makes a frame and changes nothing. When another process keeps the lock or
        the WAL longer than ``_RESTART_WAIT_MS``, this waits for the next checkpoint.
        """
        busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
        if busy:
            return

        def touch() -> None:
            conn.execute("UPDATE sqlite_sequence SET seq = seq WHERE name = 'eb_events'")

        try:
            self._transaction(conn, touch)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"store {self.url!r} is closed; open it (or start the bridge)")

    # -- appends: group commit -------------------------------------------------------------

    async def append(
        self, bus: str, bodies: Sequence[bytes], *, block: bool = True
    ) -> list[Position]:
        # The file has no bound, so an append never waits for room whatever ``block`` says.
        self._check_open()
        if not bodies:
            return []
        future: asyncio.Future[list[Position]] = asyncio.get_running_loop().create_future()
        self._pending.append((bus, bodies, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_pending())
        return await future

    async def _flush_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            size = sum(len(body) for _, bodies, _ in batch for body in bodies)
            try:
                results = await self._write(
                    self._write_batch, batch, pages=3 + size // _PAGE_BYTES, inline=True
                )
            except BaseException as exc:
                error = StoreError(f"append to the SQLite store {str(self.path)!r} failed: {exc}")
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (bus, _, future), positions in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(positions)
                for event in self._new_data.get(bus, {}).values():
                    event.set()

    def _write_batch(
        self,
        conn: sqlite3.Connection,
        batch: list[tuple[str, Sequence[bytes], asyncio.Future[list[Position]]]],
    ) -> list[list[Position]]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = self.clock()  # once the file is locked: later transactions get later times
            # One statement for the whole batch: most batches are many single-event appends.
            conn.executemany(
                "INSERT INTO eb_events (bus, body, appended) VALUES (?, ?, ?)",
                [(bus, body, now) for bus, bodies, _ in batch for body in bodies],
            )
            # One writer inside one transaction: AUTOINCREMENT hands out consecutive seqs.
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        results: list[list[Position]] = []
        first = last + 1 - sum(len(bodies) for _, bodies, _ in batch)
        for _, bodies, _ in batch:
            results.append([Position(0, seq) for seq in range(first, first + len(bodies))])
            first += len(bodies)
        return results

    # -- reads -----------------------------------------------------------------------------

    @staticmethod
    def _read(
        conn: sqlite3.Connection, bus: str, after: int, limit: int
    ) -> list[tuple[int, bytes, float | None]]:
        return conn.execute(
            "SELECT seq, body, appended FROM eb_events WHERE bus = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (bus, after, limit),
        ).fetchall()

    @classmethod
    def _poll(
        cls, conn: sqlite3.Connection, bus: str, after: int, limit: int
    ) -> tuple[sqlite3.Connection, int, list[tuple[int, bytes, float | None]]]:
        """What ``fetch`` reads, and the connection's data version just before."""
        return conn, _data_version(conn), cls._read(conn, bus, after, limit)

    async def _hold_lease(self, bus: str, group: str) -> bool:
        if self._leases.fresh(bus, group):
            return True
        held, newly = await self._write(self._leases.acquire, bus, group, inline=True)
        if newly:
            self._cursors.pop((bus, group), None)  # another reader may have moved on meanwhile
        if held and (self._heartbeat is None or self._heartbeat.done()):
            self._heartbeat = asyncio.create_task(
                self._renew_leases(), name=f"eventbridge-sqlite-leases:{self.path.name}"
            )
        return held

    async def _renew_leases(self) -> None:
        """Renew held leases on a clock of their own: a reader held back by a slow target
        (no fetch, no commit for a while) must not lose its bus to a standby process."""
        while not self._closed and self._leases.held():
            await asyncio.sleep(self._leases.ttl / 3)
            for bus, group in self._leases.held():
                if self._writer is None:  # closed meanwhile
                    return
                try:
                    await self._write(self._leases.acquire, bus, group, inline=True)
                except sqlite3.Error:
                    logger.exception("renewing the lease of bus %r, group %r failed", bus, group)

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        self._check_open()
        if not await self._hold_lease(bus, group):
            # Another process reads this bus for the group; stand by, try again later.
            await asyncio.sleep(min(timeout, self._leases.ttl / 3))
            return []
        key = (bus, group)
        cursor = self._cursors.get(key)
        if cursor is None:
            # Register the group as a reader first: pruning keeps what it has not committed.
            await self._write(self._register_group, bus, group)
            cursor = (await self.committed(bus, group)).get(0, 0)
            self._cursors[key] = cursor
        new_data = self._new_data.setdefault(bus, {}).setdefault(group, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            new_data.clear()
            conn, version, rows = await self._read_now(self._poll, bus, cursor, max_count)
            if rows:
                self._cursors[key] = rows[-1][0]
                return [Record(0, seq, body, 1, None, at) for seq, body, at in rows]
            if not await self._wait_for_data(new_data, conn, version, deadline):
                return []
            self._check_open()

    async def _wait_for_data(
        self, new_data: asyncio.Event, conn: sqlite3.Connection, version: int, deadline: float
    ) -> bool:
        """Wait until this process appends, another process commits, or the deadline passes.

        ``version`` is the data version ``conn`` had before the read that found nothing.
        """
        loop = asyncio.get_running_loop()
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(remaining, self.poll_interval)):
                    await new_data.wait()
                return True
            except TimeoutError:
                if conn is not self._loop_conn:
                    if await self._in(self._read_thread, _data_version, conn) != version:
                        return True
                    continue
                try:
                    if _data_version(conn) != version:
                        return True
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        raise
                    return True  # read again, from the reader's thread if need be
        return False

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        self._check_open()
        rows = [(bus, group, part, offset) for part, offset in offsets.items()]
        if rows:
            await self._write(self._commit_sync, rows, inline=True)
            if self.retain == "consumed" or bus in self._retention:
                await self._prune(bus)
            if not self._leases.fresh(bus, group):
                await self._hold_lease(bus, group)

    def _commit_sync(self, conn: sqlite3.Connection, rows: list[tuple[str, str, int, int]]) -> None:
        def upsert() -> None:
            conn.executemany(
                "INSERT INTO eb_offsets (bus, grp, part, committed) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (bus, grp, part) DO UPDATE SET "
                "committed = MAX(committed, excluded.committed)",
                rows,
            )

        self._transaction(conn, upsert)

    @staticmethod
    def _register_group(conn: sqlite3.Connection, bus: str, group: str) -> None:
        conn.execute(
            "INSERT INTO eb_offsets (bus, grp, part, committed) VALUES (?, ?, 0, 0) "
            "ON CONFLICT (bus, grp, part) DO NOTHING",
            (bus, group),
        )

    async def _prune(self, bus: str) -> None:
        """Delete the bus's events that every consumer group has committed (now and then).

        A few seconds of events take a hundred milliseconds or more to delete, and nothing
        else may write meanwhile: delete them a batch per transaction (about a millisecond),
        and let appends and reads go in between.
        """
        now = time.monotonic()
        if now - self._pruned_at.get(bus, 0.0) < self.prune_interval:
            return
        self._pruned_at[bus] = now
        below = _NO_FLOOR
        retention = self._retention.get(bus)
        if retention is not None:
            below = await self._expired_below(bus, retention)
        deleted = _PRUNE_BATCH
        while deleted == _PRUNE_BATCH and not self._closed and below > 0:
            deleted = await self._write(
                self._prune_batch, bus, below, pages=3 + _PRUNE_BATCH // 10, inline=True
            )
            await asyncio.sleep(0)  # let the appends and reads waiting meanwhile go first

    async def _expired_below(self, bus: str, retention: Retention) -> int:
        """The offset below which the bus's events are past the retention's limits (0: none)."""
        below = 0
        if retention.max_events is not None:
            below = await self._in(self._read_thread, self._beyond_sync, bus, retention.max_events)
        age = retention.max_age_seconds
        if age is not None:
            last = (await self.stats(bus)).last_offset

            async def probe(offset: int) -> tuple[int, float | None] | None:
                found = await self.read(bus, after=offset - 1, max_count=1)
                return (found[0].offset, found[0].appended) if found else None

            below = max(below, await first_at_or_after(probe, 1, last + 1, self.clock() - age))
        return below

    def _beyond_sync(self, bus: str, count: int) -> int:
        """The offset below which the bus's events are not among its newest ``count``."""
        conn = self._reader
        assert conn is not None
        row = conn.execute(
            "SELECT seq FROM eb_events WHERE bus = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
            (bus, count),
        ).fetchone()
        return 0 if row is None else int(row[0]) + 1

    @staticmethod
    def _prune_batch(conn: sqlite3.Connection, bus: str, below: int) -> int:
        cursor = conn.execute(
            "DELETE FROM eb_events WHERE seq IN (SELECT seq FROM eb_events WHERE bus = ? AND "
            "seq <= (SELECT MIN(committed) FROM eb_offsets WHERE bus = ?) AND seq < "
            "COALESCE((SELECT MIN(keep_from) FROM eb_delayed WHERE keep_bus = ?), 1 << 62) "
            "AND seq < ? ORDER BY seq LIMIT ?)",
            (bus, bus, bus, below, _PRUNE_BATCH),
        )
        return int(cursor.rowcount)

    async def ack(self, bus: str, group: str, records: Sequence[Record]) -> None:
        raise NotImplementedError("the SQLite store commits watermarks; it does not ack records")

    async def extend(self, bus: str, group: str, records: Sequence[Record]) -> None:
        return None  # the group's lease, renewed on its own clock, keeps other readers away

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        self._check_open()
        rows = await self._in(self._read_thread, self._committed_sync, bus, group)
        return dict(rows)

    def _committed_sync(self, bus: str, group: str) -> list[tuple[int, int]]:
        conn = self._reader
        assert conn is not None
        return conn.execute(
            "SELECT part, committed FROM eb_offsets WHERE bus = ? AND grp = ?", (bus, group)
        ).fetchall()

    async def rewind(self, bus: str, group: str) -> None:
        self._cursors.pop((bus, group), None)

    # -- the delay queue -------------------------------------------------------------------

    async def schedule(self, group: str, entries: Sequence[Delayed]) -> None:
        self._check_open()
        if not entries:
            return
        # One partition per bus here: a kept position is the bus and its offset.
        rows = [
            (
                group, e.key, e.due, e.body, e.weight,
                e.keeps[0] if e.keeps else None, e.keeps[2] if e.keeps else None, e.due,
            )
            for e in entries
        ]  # fmt: skip
        conn = self._writer
        assert conn is not None

        def insert() -> None:
            conn.executemany(
                "INSERT INTO eb_delayed (grp, key, due, body, weight, keep_bus, keep_from, "
                "available) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        size = sum(len(e.body) for e in entries)
        await self._write(self._transaction, insert, pages=3 + size // _PAGE_BYTES)

    async def claim(
        self, group: str, key: str, *, now: float, max_count: int, lease: float
    ) -> list[Claimed]:
        self._check_open()
        conn = self._writer
        assert conn is not None

        def claim() -> list[Claimed]:
            rows = conn.execute(
                "UPDATE eb_delayed SET claims = claims + 1, owner = ?, available = ? WHERE id IN "
                "(SELECT id FROM (SELECT id, SUM(weight) OVER (ORDER BY available, id ROWS "
                "UNBOUNDED PRECEDING) - weight AS before FROM eb_delayed WHERE grp = ? AND "
                "key = ? AND available <= ? ORDER BY available, id LIMIT ?) WHERE before < ?) "
                "RETURNING id, key, due, body, claims, weight",
                (self._leases.owner, now + lease, group, key, now, max_count, max_count),
            ).fetchall()
            return sorted((Claimed(*row) for row in rows), key=lambda c: (c.due, c.id))

        return await self._write(self._transaction, claim)

    async def finish(self, group: str, ids: Sequence[int | str]) -> None:
        self._check_open()
        if not ids:
            return
        conn = self._writer
        assert conn is not None
        rows = [(group, entry_id) for entry_id in ids]

        def delete() -> None:
            conn.executemany("DELETE FROM eb_delayed WHERE grp = ? AND id = ?", rows)

        await self._write(self._transaction, delete)

    async def delayed(self, group: str) -> dict[str, DelayStats]:
        self._check_open()
        rows = await self._in(self._read_thread, self._delayed_sync, group)
        return {key: DelayStats(count, next_due) for key, count, next_due in rows}

    def _delayed_sync(self, group: str) -> list[tuple[str, int, float]]:
        conn = self._reader
        assert conn is not None
        return conn.execute(
            "SELECT key, SUM(weight), MIN(available) FROM eb_delayed WHERE grp = ? GROUP BY key",
            (group,),
        ).fetchall()

    # -- browsing --------------------------------------------------------------------------

    async def read(self, bus: str, *, after: int, max_count: int) -> list[Record]:
        self._check_open()
        rows = await self._in(self._read_thread, self._read, self._reader, bus, after, max_count)
        return [Record(0, seq, body, 1, None, at) for seq, body, at in rows]

    async def delete(self, bus: str, positions: Sequence[Position]) -> int:
        self._check_open()
        conn = self._writer
        assert conn is not None
        rows = [(bus, offset) for _, offset in positions]

        def delete() -> int:
            cursor = conn.executemany("DELETE FROM eb_events WHERE bus = ? AND seq = ?", rows)
            return int(cursor.rowcount)

        return await self._write(self._transaction, delete)

    async def stats(self, bus: str, group: str | None = None) -> BusStats:
        self._check_open()
        return await self._in(self._read_thread, self._stats_sync, bus, group)

    async def set_retention(self, bus: str, retention: Retention | None) -> None:
        if retention is None:
            self._retention.pop(bus, None)
        else:
            self._retention[bus] = retention

    def _stats_sync(self, bus: str, group: str | None) -> BusStats:
        conn = self._reader
        assert conn is not None
        newest, retained = conn.execute(
            "SELECT MAX(seq), COUNT(*) FROM eb_events WHERE bus = ?", (bus,)
        ).fetchone()
        (committed,) = conn.execute(
            "SELECT MAX(committed) FROM eb_offsets WHERE bus = ?", (bus,)
        ).fetchone()
        last = max(newest or 0, committed or 0)
        if group is None:
            return BusStats(last, retained)
        (pending,) = conn.execute(
            "SELECT COUNT(*) FROM eb_events WHERE bus = ? AND seq > COALESCE("
            "(SELECT committed FROM eb_offsets WHERE bus = ? AND grp = ? AND part = 0), 0)",
            (bus, bus, group),
        ).fetchone()
        return BusStats(last, retained, pending)
