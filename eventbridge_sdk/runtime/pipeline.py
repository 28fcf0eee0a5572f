"""The pipeline of one bus: listener → bounded buffer → dispatcher → runners, and the committer.

One listener per bus per worker, shared by every rule of the bus: the bus is read once, whatever
the number of rules. The dispatcher matches each record against the bus's rule index once and
offers it to the runner of every target of every matching rule, each with its own copy of the
event. A runner that is full or paused refuses it, and the dispatcher spills the record for that
runner to the store's delay queue: a slow target never holds back the others, and memory stays
bounded whatever its backlog. At most ``buffer_size`` records of a bus are open (dispatched, not
yet finished by every runner); at that bound the dispatcher waits, the small read-ahead queue
between listener and dispatcher fills, and the listener stops reading (back pressure) — nothing
is dropped. The committer settles what every runner finished: it commits the low watermark
(watermark stores) or acknowledges each record (ack stores), and in ack stores keeps the claims
of records still in flight from lapsing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..patterns import Pattern, RuleIndex
from ..sinks.function import FunctionSink
from ..stores.base import Record, Store
from ..telemetry import SYSTEM
from ._tasks import cancel_all, durably, supervised
from .delays import DelayScheduler, encode_backlog
from .offsets import AckTracker, OffsetTracker
from .runner import Runner

if TYPE_CHECKING:
    from ..telemetry._otel import Telemetry

__all__ = ["FETCH_BATCH", "BusPipeline", "PipelineOptions", "default_fetch_batch"]

logger = logging.getLogger("eventbridge_sdk")


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """How one bus pipeline reads and buffers."""

    group: str
    buffer_size: int = 10_000
    """Events of the bus in flight at most: dispatched and not yet finished by every runner."""
    fetch_batch: int | None = None
    """Records one store read returns at most; ``None``: :func:`default_fetch_batch`."""
    poll_timeout: float = 1.0
    extend_interval: float | None = None
    """Seconds between extensions of the claims of records in flight (ack stores); by default a
    third of the store's :attr:`~eventbridge_sdk.stores.base.Store.ack_timeout`, so that two
    extensions may fail before another worker takes the records over."""


FETCH_BATCH = 500
"""Records one read of a bus returns at most, unless the bus has many targets."""


def default_fetch_batch(targets: int, buffer_size: int) -> int:
    """How many records one read of a bus with ``targets`` targets returns at most.

    :data:`FETCH_BATCH`, or twice the number of targets where that is more, up to a quarter
    of ``buffer_size`` (two reads wait ahead of the dispatcher beside the records in flight):
    what one read brings is delivered target by target, and with events spread over a
    thousand targets a read of 500 would give each of them half an event, so that every
    delivery would carry one event and pay a delivery's fixed cost for it.
    """
    return max(FETCH_BATCH, min(2 * targets, buffer_size // 4))


@dataclass(slots=True)
class _Route:
    rule: str
    runners: list[Runner] = field(default_factory=list)


class BusPipeline:
    """Reads one bus and feeds the runners of its rules."""

    def __init__(
        self,
        bus: str,
        store: Store,
        options: PipelineOptions,
        rules: Sequence[tuple[str, Pattern, Sequence[Runner]]],
        tracker: OffsetTracker | AckTracker,
        delays: DelayScheduler,
        *,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.bus = bus
        self.telemetry = telemetry
        self.store = store
        self.options = options
        self.tracker = tracker
        self.delays = delays
        self.index: RuleIndex[str] = RuleIndex()
        self.routes: dict[str, _Route] = {}
        for rule, pattern, runners in rules:
            self.index.add(rule, pattern)
            self.routes[rule] = _Route(rule, list(runners))
        # The sinks that do something before a commit (a handler's sink has nothing to do).
        self._pre_commit = [
            runner.sink
            for runner in self.runners
            if getattr(type(runner.sink), "pre_commit", None) is not FunctionSink.pre_commit
        ]
        self.fetch_batch = (
            options.fetch_batch
            if options.fetch_batch is not None
            else default_fetch_batch(len(self.runners), options.buffer_size)
        )
        """Records one read returns at most."""
        # Read ahead by two batches: enough to keep the dispatcher busy while the store answers.
        self.buffer: asyncio.Queue[Sequence[Record] | None] = asyncio.Queue(2)
        # Batches fetched and not yet wholly tracked (ack stores extend their claims too).
        self._unseen: deque[Sequence[Record]] = deque()
        self._listener: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._committer: asyncio.Task[None] | None = None
        self._extender: asyncio.Task[None] | None = None
        self._committed: dict[int, int] = {}

    @property
    def runners(self) -> list[Runner]:
        return [runner for route in self.routes.values() for runner in route.runners]

    async def start(self) -> None:
        """Seed the watermark from the committed offsets and start the three loops."""
        await self.store.rewind(self.bus, self.options.group)
        self.tracker.seed(await self.store.committed(self.bus, self.options.group))
        self._committed = dict(self.tracker.watermarks())
        name = f"eventbridge:{self.bus}"
        self._listener = supervised(self._listen(), f"{name}:listener")
        self._dispatcher = supervised(self._dispatch(), f"{name}:dispatcher")
        self._committer = supervised(self._commit_loop(), f"{name}:committer")
        if self.store.acks:
            self._extender = supervised(self._extend_loop(), f"{name}:extender")

    async def _listen(self) -> None:
        store, bus, options, tracker = self.store, self.bus, self.options, self.tracker
        fetch_batch = self.fetch_batch
        while True:
            try:
                records = await store.fetch(
                    bus, options.group, max_count=fetch_batch, timeout=options.poll_timeout
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                # The cursor moves only on a successful fetch, so the next one resumes here.
                logger.exception("reading bus %r failed; retrying in 1 s", bus)
                await asyncio.sleep(1.0)
                continue
            if records:
                if store.acks:
                    self._unseen.append(records)
                await self.buffer.put(records)
            elif tracker.waiting:
                # Idle here, yet someone waits for offsets: another process may hold the
                # bus (a standby reader) or share it (a competing worker) and have finished them.
                try:
                    if isinstance(tracker, AckTracker):
                        stats = await store.stats(bus, options.group)
                        if stats.pending == 0:
                            tracker.observe_settled(stats.last_offset)
                    else:
                        tracker.observe_committed(await store.committed(bus, options.group))
                except Exception:
                    logger.exception("reading the progress of bus %r failed; retrying in 1 s", bus)
                    await asyncio.sleep(1.0)

    async def _dispatch(self) -> None:
        buffer, index, routes, tracker = self.buffer, self.index, self.routes, self.tracker
        limit = self.options.buffer_size
        loads = orjson.loads
        spills: list[tuple[Runner, Record]] = []
        telemetry = self.telemetry
        tracing = telemetry is not None and telemetry.tracer is not None
        # A bus with one target has nobody to protect from it: when its queue is full the
        # dispatcher waits (the bus itself keeps the backlog) instead of copying records to
        # the delay queue and reading them back.
        runners_of_bus = self.runners
        sole = runners_of_bus[0] if len(runners_of_bus) == 1 else None
        sole_queue = sole.queue if sole is not None else None
        sole_size = sole.queue_size if sole is not None else 0
        traced: list[dict[str, Any]] = []  # the matched events' forms, for the dispatch span
        while True:
            records = await buffer.get()
            if records is None:
                return
            for record in records:
                body = record[2]
                try:
                    event: dict[str, Any] = loads(body)
                    matched = index.match(event)
                except Exception as exc:
                    self._skip(record, exc)
                    continue
                if not matched:
                    tracker.track(record, 0)
                    continue
                if tracing:
                    traced.append(event)
                runners = (
                    routes[matched[0]].runners
                    if len(matched) == 1
                    else [r for rule in matched for r in routes[rule].runners]
                )
                if tracker.open_events >= limit:
                    if spills:
                        await self._spill(spills)
                    await tracker.wait_for_room(limit)
                if not tracker.track(record, len(runners)):
                    continue  # read twice (a log store read again): dispatched already
                form: dict[str, Any] | None = event
                if sole_queue is not None and len(sole_queue) >= sole_size:
                    await sole.wait_for_room()  # type: ignore[union-attr]
                for runner in runners:
                    # Each target gets its own copy: a handler may change the data it gets.
                    if runner.offer(record, form if form is not None else loads(body)):
                        form = None
                    else:
                        spills.append((runner, record))
            if spills:
                await self._spill(spills)
            if self._unseen:
                self._unseen.popleft()
            if telemetry is not None:
                self._measure(telemetry, records, traced)
                traced = []

    def _measure(
        self, telemetry: Telemetry, records: Sequence[Record], traced: list[dict[str, Any]]
    ) -> None:
        """A batch was dispatched: its span, and the count of events read."""
        if telemetry.tracer is not None:
            telemetry.dispatch_span(self.bus, len(records), len(traced), traced)
        if telemetry.metered:
            telemetry.consumed.add(len(records), self._consumed_attributes)

    @functools.cached_property
    def _consumed_attributes(self) -> dict[str, str]:
        return {
            "messaging.system": SYSTEM,
            "messaging.operation.name": "receive",
            "messaging.destination.name": self.bus,
            "messaging.consumer.group.name": self.options.group,
        }

    async def _spill(self, spills: list[tuple[Runner, Record]]) -> None:
        """Hand records that full or paused runners refused to the delay queue, due now.

        One entry per runner names its records; the store keeps them in the bus until the
        runner is through with them, so a backlog costs no copy of the events.
        """
        backlogs: dict[tuple[Runner, int], list[Record]] = {}
        for runner, record in spills:
            backlogs.setdefault((runner, record[0]), []).append(record)
        now = self.delays.clock.time()
        entries = [
            encode_backlog(runner.name, now, records) for (runner, _), records in backlogs.items()
        ]
        # A runner with room left takes its backlog only when the scheduler looks; a full one
        # wakes the scheduler itself once it has room again.
        wake = any(runner.room() > runner.queue_size // 2 for runner, _ in backlogs)
        for runner, _ in backlogs:
            runner.spills_in_flight += 1
        # Until the write succeeds the records stay open, so the watermark waits for them.
        await durably(
            f"bus {self.bus!r}: spilling {len(spills)} events to the delay queue",
            functools.partial(self.delays.put, entries, wake=wake),
        )
        for runner, _ in backlogs:
            runner.spills_in_flight -= 1
        for runner, record in spills:
            runner.counts.spilled += 1
            self.tracker.done(record)
        spills.clear()

    def _skip(self, record: Record, error: Exception) -> None:
        # Only bytes appended by something other than this library end up here; keeping them
        # would block the watermark forever, so they are logged and passed over.
        logger.error(
            "bus %r: the record at partition %d offset %d is not an event (%s); skipped",
            self.bus,
            record[0],
            record[1],
            error,
        )
        self.tracker.track(record, 0)

    async def _commit_loop(self) -> None:
        changed = self.tracker.changed
        while True:
            await changed.wait()
            changed.clear()
            try:
                await self.commit()
            except Exception:
                logger.exception("committing bus %r failed; retrying in 1 s", self.bus)
                await asyncio.sleep(1.0)
                changed.set()

    async def commit(self) -> None:
        """Settle what every runner finished: commit watermarks, or ack records."""
        tracker = self.tracker
        if isinstance(tracker, AckTracker):
            finished = tracker.take_finished()
            if not finished:
                return
            try:
                for sink in self._pre_commit:
                    await sink.pre_commit()
                await self.store.ack(self.bus, self.options.group, finished)
            except BaseException:
                tracker.restore(finished)
                raise
            return
        moved = {
            partition: offset
            for partition, offset in tracker.watermarks().items()
            if self._committed.get(partition, -1) < offset
        }
        if not moved:
            return
        for sink in self._pre_commit:
            await sink.pre_commit()
        await self.store.commit(self.bus, self.options.group, moved)
        self._committed.update(moved)

    async def _extend_loop(self) -> None:
        tracker = self.tracker
        assert isinstance(tracker, AckTracker)
        interval = self.options.extend_interval
        if interval is None:
            timeout = self.store.ack_timeout
            interval = timeout / 3 if timeout else 10.0
        while True:
            await asyncio.sleep(interval)
            records = tracker.open_records()
            for batch in self._unseen:
                records.extend(batch)
            if records:
                try:
                    await self.store.extend(self.bus, self.options.group, records)
                except Exception:
                    logger.exception(
                        "bus %r: extending the claims of %d records failed", self.bus, len(records)
                    )

    async def stop_reading(self) -> None:
        """Stop the listener; events already buffered are dispatched."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await self.buffer.put(None)

    async def drain(self) -> None:
        """Dispatch what is buffered and wait until the runners finished it."""
        if self._dispatcher is not None:
            await self._dispatcher
            self._dispatcher = None
        for runner in self.runners:
            await runner.drain()

    def tasks(self) -> list[asyncio.Task[None]]:
        """The pipeline's loops (its runners' deliveries run in the worker's pool)."""
        return [
            t
            for t in (self._listener, self._dispatcher, self._committer, self._extender)
            if t is not None
        ]

    async def cancel(self, grace: float = 1.0) -> None:
        """Cancel what is still running, waiting ``grace`` seconds at most."""
        await cancel_all(self.tasks(), grace)
        self._listener = self._dispatcher = self._committer = self._extender = None

    async def final_commit(self, grace: float = 1.0) -> None:
        """Commit the watermark one last time; a failure only means redeliveries later."""
        try:
            async with asyncio.timeout(grace):
                await self.commit()
        except Exception:
            logger.exception(
                "the final commit of bus %r failed; events may be redelivered", self.bus
            )

    async def close(self, grace: float = 1.0) -> None:
        """Cancel what is still running and make the last commit."""
        await self.cancel(grace)
        await self.final_commit(grace)
