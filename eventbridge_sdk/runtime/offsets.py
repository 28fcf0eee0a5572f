"""Offset tracking: which records of a bus every runner is finished with.

Each record the listener reads fans out to zero or more runners, which finish in any order. A
runner is finished with a record when it delivered it, dropped it, handed it to the durable
delay queue (a retry, or a backlog that spilled) or dead-lettered it. Then the record is settled
with the store in one of two ways, after the store's shape (:attr:`Store.acks`):

- :class:`OffsetTracker` (watermark stores) commits, per partition, the low watermark: the
  highest offset such that it and everything before it are finished. A crash can redeliver
  records after the watermark (at-least-once) but never skip one.
- :class:`AckTracker` (ack stores) acknowledges each finished record on its own. Records come
  interleaved and a store may hand one out again (its delivery lapsed); a redelivery is tracked
  like a new record, never dropped as "already seen".
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from ..stores.base import Record

__all__ = ["AckTracker", "OffsetTracker"]


class _Partition:
    __slots__ = ("order", "remaining", "watermark")

    def __init__(self, watermark: int) -> None:
        self.order: deque[int] = deque()
        self.remaining: dict[int, int] = {}
        self.watermark = watermark


class _Waits:
    """What the two trackers share: the bound on open records and waits for offsets."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._open_events = 0
        self._room: asyncio.Event | None = None
        self._room_limit = 0
        self.changed = asyncio.Event()
        """Set whenever something became committable; the committer clears it."""
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._settling: list[Record] = []
        """Records finished by deliveries of this turn of the event loop, not yet counted."""

    # The two counts do not count what done_soon() collected: they are read from the metric
    # reader's thread too, which must not change the tracker. They catch up when the loop turns.

    @property
    def in_flight(self) -> int:
        """How many deliveries are tracked and not yet counted as done."""
        return self._in_flight

    @property
    def open_events(self) -> int:
        """How many tracked records have deliveries not yet counted as done."""
        return self._open_events

    def done_all(self, records: Sequence[Record]) -> None:
        raise NotImplementedError

    def done_soon(self, records: Sequence[Record]) -> None:
        """Record that one runner finished each of ``records`` (a delivered batch), counted
        with what the other deliveries of this turn of the event loop finished: a pool task
        that delivers a thousand targets' events one after the other settles them in one pass
        when it yields, not one per delivery. Whatever reads the tracker's offsets or records
        counts them first (on the event loop's thread, as every change of the tracker)."""
        settling = self._settling
        if not settling:
            asyncio.get_running_loop().call_soon(self.settle)
        settling += records

    def settle(self) -> None:
        """Count what :meth:`done_soon` collected (:meth:`done_all`)."""
        if self._settling:
            records, self._settling = self._settling, []
            self.done_all(records)

    async def wait_for_room(self, limit: int) -> None:
        """Wait until fewer than ``limit`` records are open."""
        while self._open_events >= limit:
            self._room = asyncio.Event()
            self._room_limit = limit
            try:
                await self._room.wait()
            finally:
                self._room = None

    def _closed(self, count: int) -> None:
        """``count`` records are finished by every runner: they make room."""
        self._open_events -= count
        if self._room is not None and self._open_events < self._room_limit:
            self._room.set()

    @property
    def waiting(self) -> bool:
        """Whether anyone waits for an offset to pass."""
        return bool(self._waiters)

    def passed(self, partition: int, offset: int) -> bool:
        raise NotImplementedError

    def _wake_waiters(self) -> None:
        if self._waiters:
            still: list[tuple[int, int, asyncio.Future[None]]] = []
            for partition, offset, future in self._waiters:
                if self.passed(partition, offset):
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((partition, offset, future))
            self._waiters = still

    async def wait_passed(self, partition: int, offset: int) -> None:
        """Wait until every record up to ``offset`` of ``partition`` is finished."""
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


class OffsetTracker(_Waits):
    """Counts the unfinished deliveries of each record and keeps the low watermark per partition.

    Example::

        tracker = OffsetTracker()
        record = Record(0, 7, b"{}")
        tracker.track(record, deliveries=2)
        tracker.done(record)
        tracker.done(record)
        assert tracker.watermarks() == {0: 7}
    """

    def __init__(self) -> None:
        super().__init__()
        self._partitions: dict[int, _Partition] = {}

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

    def track(self, record: Record, deliveries: int) -> bool:
        """Start tracking a record that fans out to ``deliveries`` runners (0: done at once).

        Returns ``False``, tracking nothing, for an offset at or below one already tracked:
        a log store read twice (a listener restarted) dispatches the record once.
        """
        partition, offset = record[0], record[1]
        part = self._partition(partition, offset)
        if offset <= (part.order[-1] if part.order else part.watermark):
            return False
        if deliveries:
            part.remaining[offset] = deliveries
            part.order.append(offset)
            self._in_flight += deliveries
            self._open_events += 1
        elif part.order:
            part.order.append(offset)  # finished, but behind unfinished records
        else:
            self._advance(part, offset)
        return True

    def done(self, record: Record) -> None:
        """Record that one runner finished a record."""
        partition, offset = record[0], record[1]
        part = self._partitions[partition]
        left = part.remaining[offset] - 1
        self._in_flight -= 1
        if left:
            part.remaining[offset] = left
            return
        del part.remaining[offset]
        self._closed(1)
        if part.order[0] == offset:
            order, remaining = part.order, part.remaining
            last = order.popleft()
            while order and order[0] not in remaining:
                last = order.popleft()
            self._advance(part, last)

    def done_all(self, records: Sequence[Record]) -> None:
        """Record that one runner finished each of ``records`` (a delivered batch): as
        :meth:`done` for each, with one wake-up of the committer at the end."""
        partitions = self._partitions
        moved = False
        closed = 0
        self._in_flight -= len(records)
        for record in records:
            partition, offset = record[0], record[1]
            part = partitions[partition]
            remaining = part.remaining
            left = remaining[offset] - 1
            if left:
                remaining[offset] = left
                continue
            del remaining[offset]
            closed += 1
            order = part.order
            if order[0] == offset:
                last = order.popleft()
                while order and order[0] not in remaining:
                    last = order.popleft()
                part.watermark = last
                moved = True
        if closed:
            self._closed(closed)
        if moved:
            self.changed.set()
            if self._waiters:
                self._wake_waiters()

    def _advance(self, part: _Partition, offset: int) -> None:
        part.watermark = offset
        self.changed.set()
        if self._waiters:
            self._wake_waiters()

    def observe_committed(self, committed: dict[int, int]) -> None:
        """Move idle partitions up to offsets committed elsewhere (by another process)."""
        for partition, offset in committed.items():
            part = self._partitions.get(partition)
            if part is None:
                self._partitions[partition] = part = _Partition(offset)
                self._advance(part, offset)
            elif not part.order and offset > part.watermark:
                self._advance(part, offset)

    def watermarks(self) -> dict[int, int]:
        """The committable offset of each partition seen so far."""
        self.settle()
        return {number: part.watermark for number, part in self._partitions.items()}

    def passed(self, partition: int, offset: int) -> bool:
        """Whether every record up to ``offset`` of ``partition`` is finished."""
        self.settle()
        part = self._partitions.get(partition)
        return part is not None and part.watermark >= offset


class AckTracker(_Waits):
    """Counts the unfinished deliveries of each record and collects the records to acknowledge.

    Example::

        tracker = AckTracker()
        record = Record(0, 7, b"{}", deliveries=2, handle="7-0")
        tracker.track(record, deliveries=1)
        tracker.done(record)
        assert tracker.take_finished() == [record]
    """

    def __init__(self) -> None:
        super().__init__()
        self._open: dict[int, tuple[Record, int]] = {}  # id(record) -> (record, runners left)
        self._finished: list[Record] = []
        self._read_up_to: dict[int, int] = {}

    def seed(self, committed: dict[int, int]) -> None:
        """Ack stores keep no watermark; nothing to start from."""

    def observe_committed(self, committed: dict[int, int]) -> None:
        """Ack stores keep no watermark; other readers settle their own records."""

    def observe_settled(self, last_offset: int) -> None:
        """The group owes nothing up to ``last_offset``: every reader settled its records
        (the store said so), so waits for offsets up to it are over."""
        for partition in {0, *self._read_up_to}:
            if self._read_up_to.get(partition, 0) < last_offset:
                self._read_up_to[partition] = last_offset
        self._wake_waiters()

    def track(self, record: Record, deliveries: int) -> bool:
        """Start tracking a record (a redelivery too) that fans out to ``deliveries`` runners."""
        partition, offset = record[0], record[1]
        if offset > self._read_up_to.get(partition, 0):
            self._read_up_to[partition] = offset
        if deliveries:
            self._open[id(record)] = (record, deliveries)
            self._in_flight += deliveries
            self._open_events += 1
        else:
            self._finish(record)
        return True

    def done(self, record: Record) -> None:
        """Record that one runner finished a record."""
        key = id(record)
        left = self._open[key][1] - 1
        self._in_flight -= 1
        if left:
            self._open[key] = (record, left)
        else:
            del self._open[key]
            self._closed(1)
            self._finish(record)

    def done_all(self, records: Sequence[Record]) -> None:
        """Record that one runner finished each of ``records`` (a delivered batch)."""
        for record in records:
            self.done(record)

    def _finish(self, record: Record) -> None:
        self._finished.append(record)
        self.changed.set()
        self._wake_waiters()

    def take_finished(self) -> list[Record]:
        """The records finished since the last call, to acknowledge."""
        self.settle()
        finished, self._finished = self._finished, []
        return finished

    def restore(self, records: Sequence[Record]) -> None:
        """Put back records whose acknowledgement failed, to be tried again."""
        self._finished[:0] = records

    def open_records(self) -> list[Record]:
        """The records some runner still works on (their claims are extended)."""
        self.settle()
        return [record for record, _ in self._open.values()]

    def passed(self, partition: int, offset: int) -> bool:
        """Whether this reader has read past ``offset`` and finished everything it read up to it.

        Other readers of the group may hold earlier records; this tracker cannot see them.
        """
        self.settle()
        if self._read_up_to.get(partition, 0) < offset:
            return False
        return not any(
            record[0] == partition and record[1] <= offset for record, _ in self._open.values()
        )

    def watermarks(self) -> dict[int, int]:
        """How far this reader has read, per partition (for progress reports)."""
        self.settle()
        return dict(self._read_up_to)
