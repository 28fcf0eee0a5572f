"""The in-memory store (``memory://``): for tests and for events that may be lost on exit.

Nothing survives the process. Each bus is one partition. Events are dropped from memory once
every consumer group that has read the bus committed past them; until then they count against
``capacity``, and a full bus makes ``append`` wait (back pressure on the publisher, never a
drop). A full bus that no consumer reads cannot make room, so appending to it raises
:class:`StoreError` instead of waiting forever. An append with ``block=False`` (the runtime's,
while it delivers) never waits: it may exceed ``capacity``, since the room it would wait for
could only come from that delivery finishing.

A bus given a :class:`~eventbridge_sdk.Retention` keeps its consumed events (up to its age and
count limits, for replays); they do not count against ``capacity``, which bounds the events
the groups have not committed yet. ``clock`` (``time.time``) stamps appends and measures ages;
tests replace it.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from .._errors import ConfigurationError, StoreClosedError, StoreError
from .._retention import Retention
from .base import BusStats, Claimed, Delayed, DelayStats, Position, Record

__all__ = ["MemoryStore"]

DEFAULT_CAPACITY = 100_000
_NEW = tuple.__new__


class _Log:
    """One bus: a list of bodies, the offset of its first element, and the groups' offsets.

    A deleted event leaves ``None`` in its place, so that offsets stay list indexes. ``times``
    runs beside ``bodies``: when each event was appended.
    """

    __slots__ = (
        "base",
        "bodies",
        "committed",
        "deleted",
        "has_data",
        "has_room",
        "kept",
        "retention",
        "times",
    )

    def __init__(self) -> None:
        self.base = 1  # offset of bodies[0]; offsets start at 1 so that 0 means "nothing"
        self.bodies: list[bytes | None] = []
        self.times: list[float] = []
        self.committed: dict[str, int] = {}
        self.deleted = 0
        self.kept: Counter[int] = Counter()  # offsets that delay-queue entries keep from
        self.retention: Retention | None = None
        self.bind_to_loop()

    def bind_to_loop(self) -> None:
        """Make fresh wake-up events: asyncio events belong to the loop that first awaits them."""
        self.has_data = asyncio.Event()
        self.has_room = asyncio.Event()
        self.has_room.set()

    @property
    def end(self) -> int:
        """The offset the next appended event gets."""
        return self.base + len(self.bodies)

    @property
    def size(self) -> int:
        """Events kept."""
        return len(self.bodies) - self.deleted

    @property
    def load(self) -> int:
        """Events that count against the capacity: all that are kept, or, on a bus with a
        retention, those after the lowest committed offset (the archive does not count)."""
        if self.retention is None or not self.committed:
            return self.size
        return self.end - 1 - max(min(self.committed.values()), self.base - 1)

    def records(self, begin: int, max_count: int) -> list[Record]:
        """Up to ``max_count`` kept events from offset ``begin`` on."""
        start = max(begin, self.base) - self.base
        new = _NEW
        if not self.deleted:
            chunk = self.bodies[start : start + max_count]
            times = self.times[start : start + max_count]
            first = self.base + start
            return [
                new(Record, (0, first + i, body, 1, None, at))
                for i, (body, at) in enumerate(zip(chunk, times, strict=True))
            ]
        out: list[Record] = []
        for i in range(start, len(self.bodies)):
            body = self.bodies[i]
            if body is not None:
                out.append(new(Record, (0, self.base + i, body, 1, None, self.times[i])))
                if len(out) == max_count:
                    break
        return out

    def count_from(self, begin: int) -> int:
        """How many kept events there are from offset ``begin`` on (without copying them)."""
        start = max(begin, self.base) - self.base
        if start >= len(self.bodies):
            return 0
        if not self.deleted:
            return len(self.bodies) - start
        rest = self.bodies[start:]
        return len(rest) - rest.count(None)

    def trim(self, now: float) -> None:
        if not self.committed:
            return
        done = min(self.committed.values()) - self.base + 1
        if self.kept:
            done = min(done, min(self.kept) - self.base)
        retention = self.retention
        if retention is not None:
            done = min(done, self.expired(retention, now))
            chunk = 1  # an archive is trimmed exactly: its limits are what users see
        else:
            # Trim in chunks so that deleting from the front of the list stays amortised O(1).
            chunk = min(4096, len(self.bodies) // 2)
        if done > 0 and done >= chunk:
            if self.deleted:
                self.deleted -= self.bodies[:done].count(None)
            del self.bodies[:done]
            del self.times[:done]
            self.base += done

    def expired(self, retention: Retention, now: float) -> int:
        """How many of the oldest list slots are past the retention's limits."""
        out = 0
        if retention.max_events is not None:
            out = len(self.bodies) - retention.max_events
        age = retention.max_age_seconds
        if age is not None:
            out = max(out, bisect.bisect_left(self.times, now - age))
        return out


class _Entry:
    __slots__ = ("available", "body", "claims", "due", "keeps", "key", "weight")

    def __init__(self, entry: Delayed) -> None:
        self.key, self.due, self.weight, self.keeps = (
            entry.key,
            entry.due,
            entry.weight,
            entry.keeps,
        )
        self.body = bytes(memoryview(entry.body))
        self.claims = 0
        self.available = entry.due  # when it may be claimed: its due time, or its claim's end


class _DelayQueue:
    """One group's delay queue: entries by id, and per key a heap of (available at, id).

    A claimed entry is pushed again at the end of its lease, so an unfinished claim comes back
    by itself; heap items that no longer match their entry are skipped when they surface.
    """

    __slots__ = ("entries", "heaps")

    def __init__(self) -> None:
        self.entries: dict[int, _Entry] = {}
        self.heaps: dict[str, list[tuple[float, int]]] = {}

    def push(self, entry_id: int, entry: Delayed) -> None:
        self.entries[entry_id] = _Entry(entry)
        heapq.heappush(self.heaps.setdefault(entry.key, []), (entry.due, entry_id))

    def _top(self, key: str) -> tuple[float, int] | None:
        heap = self.heaps.get(key)
        while heap:
            available, entry_id = heap[0]
            entry = self.entries.get(entry_id)
            if entry is not None and entry.available == available:
                return heap[0]
            heapq.heappop(heap)
        if heap is not None:
            del self.heaps[key]
        return None

    def claim(self, key: str, now: float, max_count: int, lease: float) -> list[Claimed]:
        claimed: list[Claimed] = []
        weight = 0
        while weight < max_count:
            top = self._top(key)
            if top is None or top[0] > now:
                break
            heap = self.heaps[key]
            _, entry_id = heapq.heappop(heap)
            entry = self.entries[entry_id]
            entry.claims += 1
            entry.available = now + lease
            heapq.heappush(heap, (entry.available, entry_id))
            claimed.append(
                Claimed(entry_id, key, entry.due, entry.body, entry.claims, entry.weight)
            )
            weight += entry.weight
        return claimed

    def stats(self) -> dict[str, DelayStats]:
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            counts[entry.key] = counts.get(entry.key, 0) + entry.weight
        out: dict[str, DelayStats] = {}
        for key, count in counts.items():
            top = self._top(key)
            assert top is not None
            out[key] = DelayStats(count, top[0])
        return out


class MemoryStore:
    """A :class:`~eventbridge_sdk.stores.base.Store` that keeps everything in this process.

    Example::

        store = MemoryStore("memory://?capacity=10000")
    """

    acks = False
    ack_timeout: float | None = None

    def __init__(self, url: str = "memory://", *, capacity: int | None = None) -> None:
        self.url = url
        query = parse_qs(urlsplit(url).query)
        if capacity is None:
            raw = query.get("capacity", [str(DEFAULT_CAPACITY)])[0]
            try:
                capacity = int(raw)
            except ValueError:
                raise ConfigurationError(
                    f"store URL {url!r}: capacity must be a whole number, got {raw!r}"
                ) from None
        if capacity < 1:
            raise ConfigurationError(f"store URL {url!r}: capacity must be at least 1")
        self.capacity = capacity
        self.clock: Callable[[], float] = time.time
        """Stamps appends and measures ages against retention (tests replace it)."""
        self._logs: dict[str, _Log] = {}
        self._cursors: dict[tuple[str, str], int] = {}
        self._delays: dict[str, _DelayQueue] = {}
        self._ids = itertools.count(1)
        self._closed = False

    def _log(self, bus: str) -> _Log:
        if self._closed:
            raise StoreClosedError(f"store {self.url!r} is closed")
        log = self._logs.get(bus)
        if log is None:
            log = self._logs[bus] = _Log()
        return log

    async def open(self) -> None:
        self._closed = False
        for log in self._logs.values():
            log.bind_to_loop()

    async def close(self) -> None:
        self._closed = True
        for log in self._logs.values():
            log.has_data.set()
            log.has_room.set()

    async def append(
        self, bus: str, bodies: Sequence[bytes], *, block: bool = True
    ) -> list[Position]:
        log = self._log(bus)
        positions: list[Position] = []
        start = 0
        while start < len(bodies):
            while block and log.load >= self.capacity:
                if not log.committed:
                    # Nobody reads this bus, so waiting for room would wait forever.
                    raise StoreError(
                        f"memory store {self.url!r}: bus {bus!r} holds {log.size} events "
                        "that no consumer reads; declare a rule on it, or raise capacity= in "
                        "the store URL"
                    )
                log.has_room.clear()
                await log.has_room.wait()
                log = self._log(bus)
            room = self.capacity - log.load if block else len(bodies) - start
            chunk = bodies[start : start + room]
            first = log.end
            # Copy to exact size: orjson's bytes keep their 4 KiB working buffer, which would
            # make each retained event cost 4 KiB instead of its length.
            log.bodies.extend(bytes(memoryview(body)) for body in chunk)
            log.times.extend(itertools.repeat(self.clock(), len(chunk)))
            positions.extend(Position(0, first + i) for i in range(len(chunk)))
            start += len(chunk)
            log.has_data.set()
        return positions

    async def fetch(self, bus: str, group: str, *, max_count: int, timeout: float) -> list[Record]:
        log = self._log(bus)
        key = (bus, group)
        cursor = self._cursors.get(key)
        if cursor is None:
            cursor = log.committed.setdefault(group, log.base - 1) + 1
            self._cursors[key] = cursor
        while True:
            if cursor >= log.end:
                log.has_data.clear()
                try:
                    async with asyncio.timeout(timeout):
                        await log.has_data.wait()
                except TimeoutError:
                    return []
                log = self._log(bus)
            records = log.records(cursor, max_count)
            if records:
                self._cursors[key] = records[-1].offset + 1
                return records
            cursor = self._cursors[key] = log.end  # only deleted events were left

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        log = self._log(bus)
        offset = offsets.get(0)
        if offset is None or offset <= log.committed.get(group, 0):
            return
        log.committed[group] = offset
        log.trim(self.clock())
        if log.load < self.capacity:
            log.has_room.set()

    async def ack(self, bus: str, group: str, records: Sequence[Record]) -> None:
        raise NotImplementedError("the memory store commits watermarks; it does not ack records")

    async def extend(self, bus: str, group: str, records: Sequence[Record]) -> None:
        return None  # one reader per group: nothing would hand these records to another

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        offset = self._log(bus).committed.get(group)
        return {} if offset is None else {0: offset}

    async def rewind(self, bus: str, group: str) -> None:
        log = self._log(bus)
        log.committed.setdefault(group, log.base - 1)  # the group reads this bus from now on
        self._cursors.pop((bus, group), None)

    # -- the delay queue -------------------------------------------------------------------

    def _delay_queue(self, group: str) -> _DelayQueue:
        if self._closed:
            raise StoreClosedError(f"store {self.url!r} is closed")
        queue = self._delays.get(group)
        if queue is None:
            queue = self._delays[group] = _DelayQueue()
        return queue

    async def schedule(self, group: str, entries: Sequence[Delayed]) -> None:
        queue = self._delay_queue(group)
        for entry in entries:
            if entry.keeps is not None:
                self._log(entry.keeps[0]).kept[entry.keeps[2]] += 1
            queue.push(next(self._ids), entry)

    async def claim(
        self, group: str, key: str, *, now: float, max_count: int, lease: float
    ) -> list[Claimed]:
        return self._delay_queue(group).claim(key, now, max_count, lease)

    async def finish(self, group: str, ids: Sequence[int | str]) -> None:
        entries = self._delay_queue(group).entries
        for entry_id in ids:
            entry = entries.pop(int(entry_id), None)
            if entry is not None and entry.keeps is not None:
                log = self._log(entry.keeps[0])
                log.kept[entry.keeps[2]] -= 1
                if not log.kept[entry.keeps[2]]:
                    del log.kept[entry.keeps[2]]
                log.trim(self.clock())
                if log.load < self.capacity:
                    log.has_room.set()

    async def delayed(self, group: str) -> dict[str, DelayStats]:
        return self._delay_queue(group).stats()

    # -- browsing --------------------------------------------------------------------------

    async def read(self, bus: str, *, after: int, max_count: int) -> list[Record]:
        return self._log(bus).records(after + 1, max_count)

    async def delete(self, bus: str, positions: Sequence[Position]) -> int:
        log = self._log(bus)
        removed = 0
        for _, offset in positions:
            index = offset - log.base
            if 0 <= index < len(log.bodies) and log.bodies[index] is not None:
                log.bodies[index] = None
                removed += 1
        log.deleted += removed
        if removed and log.load < self.capacity:
            log.has_room.set()
        return removed

    async def set_retention(self, bus: str, retention: Retention | None) -> None:
        log = self._log(bus)
        log.retention = retention
        log.trim(self.clock())
        if log.load < self.capacity:
            log.has_room.set()

    async def stats(self, bus: str, group: str | None = None) -> BusStats:
        log = self._log(bus)
        if group is None:
            return BusStats(log.end - 1, log.size)
        done = log.committed.get(group, log.base - 1)
        return BusStats(log.end - 1, log.size, log.count_from(done + 1))
