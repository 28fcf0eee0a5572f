"""The in-memory store (``memory://``): for tests and for events that may be lost on exit.

Nothing survives the process. Each bus is one partition. Events are dropped from memory once
every consumer group that has read the bus committed past them; until then they count against
``capacity``, and a full bus makes ``append`` wait (back pressure on the publisher, never a
drop). A full bus that no consumer reads cannot make room, so appending to it raises
:class:`StoreError` instead of waiting forever. An append made while an event is being delivered
(a handler's reply) never waits: it may exceed ``capacity``, since the room it would wait for
could only come from that delivery finishing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from .._errors import ConfigurationError, StoreClosedError, StoreError
from .base import DELIVERING, Position, Record

__all__ = ["MemoryStore"]

DEFAULT_CAPACITY = 100_000


class _Log:
    """One bus: a list of bodies, the offset of its first element, and the groups' offsets."""

    __slots__ = ("base", "bodies", "committed", "has_data", "has_room")

    def __init__(self) -> None:
        self.base = 1  # offset of bodies[0]; offsets start at 1 so that 0 means "nothing"
        self.bodies: list[bytes] = []
        self.committed: dict[str, int] = {}
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

    def trim(self) -> None:
        if not self.committed:
            return
        done = min(self.committed.values()) - self.base + 1
        # Trim in chunks so that deleting from the front of the list stays amortised O(1).
        if done > 0 and (done >= 4096 or done >= len(self.bodies) // 2):
            del self.bodies[:done]
            self.base += done


class MemoryStore:
    """A :class:`~eventbridge_sdk.stores.base.Store` that keeps everything in this process.

    Example::

        store = MemoryStore("memory://?capacity=10000")
    """

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
        self._logs: dict[str, _Log] = {}
        self._cursors: dict[tuple[str, str], int] = {}
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

    async def append(self, bus: str, bodies: Sequence[bytes]) -> list[Position]:
        log = self._log(bus)
        positions: list[Position] = []
        start = 0
        while start < len(bodies):
            while len(log.bodies) >= self.capacity and not DELIVERING.get():
                if not log.committed:
                    # Nobody reads this bus, so waiting for room would wait forever.
                    raise StoreError(
                        f"memory store {self.url!r}: bus {bus!r} holds {len(log.bodies)} events "
                        "that no consumer reads; declare a rule on it, or raise capacity= in "
                        "the store URL"
                    )
                log.has_room.clear()
                await log.has_room.wait()
                log = self._log(bus)
            room = max(
                self.capacity - len(log.bodies), len(bodies) - start if DELIVERING.get() else 0
            )
            chunk = bodies[start : start + room]
            first = log.end
            # Copy to exact size: orjson's bytes keep their 4 KiB working buffer, which would
            # make each retained event cost 4 KiB instead of its length.
            log.bodies.extend(bytes(memoryview(body)) for body in chunk)
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
        if cursor >= log.end:
            log.has_data.clear()
            try:
                async with asyncio.timeout(timeout):
                    await log.has_data.wait()
            except TimeoutError:
                return []
            log = self._log(bus)
        begin = max(cursor, log.base) - log.base
        chunk = log.bodies[begin : begin + max_count]
        first = log.base + begin
        self._cursors[key] = first + len(chunk)
        return [Record(0, first + i, body) for i, body in enumerate(chunk)]

    async def commit(self, bus: str, group: str, offsets: Mapping[int, int]) -> None:
        log = self._log(bus)
        offset = offsets.get(0)
        if offset is None or offset <= log.committed.get(group, 0):
            return
        log.committed[group] = offset
        log.trim()
        if len(log.bodies) < self.capacity:
            log.has_room.set()

    async def committed(self, bus: str, group: str) -> dict[int, int]:
        offset = self._log(bus).committed.get(group)
        return {} if offset is None else {0: offset}

    async def rewind(self, bus: str, group: str) -> None:
        log = self._log(bus)
        log.committed.setdefault(group, log.base - 1)  # the group reads this bus from now on
        self._cursors.pop((bus, group), None)
