"""Offset tracking: which events of a bus every runner is finished with.

The listener reads events in offset order; each event fans out to zero or more runners, which
finish in any order. An offset may be committed only when every runner is done with it and with
everything before it: the low watermark per partition. A crash can then redeliver events after the
watermark (at-least-once) but never skip one.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["OffsetTracker"]


class _Partition:
    __slots__ = ("order", "remaining", "watermark")

    def __init__(self, watermark: int) -> None:
        self.order: deque[int] = deque()
        self.remaining: dict[int, int] = {}
        self.watermark = watermark


class OffsetTracker:
    """Counts the unfinished deliveries of each event and keeps the low watermark per partition.

    Example::

        tracker = OffsetTracker()
        tracker.track(0, 7, deliveries=2)
        tracker.done(0, 7)
        tracker.done(0, 7)
        assert tracker.watermarks() == {0: 7}
    """

    def __init__(self) -> None:
        self._partitions: dict[int, _Partition] = {}
        self._in_flight = 0
        self._open_events = 0
        self._room: asyncio.Event | None = None
        self._room_limit = 0
        self.changed = asyncio.Event()
        """Set whenever a watermark moves; the committer clears it."""
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []

    @property
    def in_flight(self) -> int:
        """How many deliveries are tracked and not yet done."""
        return self._in_flight

    @property
    def open_events(self) -> int:
        """How many tracked events have deliveries not yet done."""
        return self._open_events

    async def wait_for_room(self, limit: int) -> None:
        """Wait until fewer than ``limit`` events are open."""
        while self._open_events >= limit:
            self._room = asyncio.Event()
            self._room_limit = limit
            try:
                await self._room.wait()
            finally:
                self._room = None

    def _partition(self, partition: int, offset: int) -> _Partition:
        part = self._partitions.get(partition)
        if part is None:
            part = self._partitions[partition] = _Partition(offset - 1)
        return part

    def seed(self, committed: dict[int, int]) -> None:
        """Start from the store's committed offsets, so that waits for them return at once."""
        for partition, offset in committed.items():
            if partition not in self._partitions:
                self._partitions[partition] = _Partition(offset)

    def track(self, partition: int, offset: int, deliveries: int) -> bool:
        """Start tracking an event that fans out to ``deliveries`` runners (0: done at once).

        Returns ``False``, tracking nothing, for an offset at or below one already tracked:
        a record read twice is dispatched once.
        """
        part = self._partition(partition, offset)
        if offset <= (part.order[-1] if part.order else part.watermark):
            return False
        if deliveries:
            part.remaining[offset] = deliveries
            part.order.append(offset)
            self._in_flight += deliveries
            self._open_events += 1
        elif part.order:
            part.order.append(offset)  # finished, but behind unfinished events
        else:
            self._advance(partition, part, offset)
        return True

    def done(self, partition: int, offset: int) -> None:
        """Record that one runner finished (delivered, failed for good, or handed on) an event."""
        part = self._partitions[partition]
        left = part.remaining[offset] - 1
        self._in_flight -= 1
        if left:
            part.remaining[offset] = left
            return
        del part.remaining[offset]
        self._open_events -= 1
        if self._room is not None and self._open_events < self._room_limit:
            self._room.set()
        if part.order[0] == offset:
            order, remaining = part.order, part.remaining
            last = order.popleft()
            while order and order[0] not in remaining:
                last = order.popleft()
            self._advance(partition, part, last)

    def _advance(self, partition: int, part: _Partition, offset: int) -> None:
        part.watermark = offset
        self.changed.set()
        if self._waiters:
            still: list[tuple[int, int, asyncio.Future[None]]] = []
            for waited_partition, waited, future in self._waiters:
                if waited_partition == partition and waited <= offset:
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((waited_partition, waited, future))
            self._waiters = still

    @property
    def waiting(self) -> bool:
        """Whether anyone waits for an offset to pass."""
        return bool(self._waiters)

    def observe_committed(self, committed: dict[int, int]) -> None:
        """Move idle partitions up to offsets committed elsewhere (by another process)."""
        for partition, offset in committed.items():
            part = self._partitions.get(partition)
            if part is None:
                self._partitions[partition] = part = _Partition(offset)
                self._advance(partition, part, offset)
            elif not part.order and offset > part.watermark:
                self._advance(partition, part, offset)

    def watermarks(self) -> dict[int, int]:
        """The committable offset of each partition seen so far."""
        return {number: part.watermark for number, part in self._partitions.items()}

    def passed(self, partition: int, offset: int) -> bool:
        """Whether every event up to ``offset`` of ``partition`` is finished."""
        part = self._partitions.get(partition)
        return part is not None and part.watermark >= offset

    async def wait_passed(self, partition: int, offset: int) -> None:
        """Wait until every event up to ``offset`` of ``partition`` is finished."""
        if self.passed(partition, offset):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (partition, offset, future)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if not future.done() and entry in self._waiters:
                self._waiters.remove(entry)
