"""The delay lane: retries and a slow target's backlog wait in the store, not in memory.

Every entry of a group's delay queue is an envelope for one runner (``bus/rule/target``): the
original event, the attempt it is for, when the first attempt was made and the last error. A
failed delivery is scheduled there for its retry time; a runner whose queue is full (or that is
paused) gets its new events there, due at once. In both cases the bus offset moves on, so a
retry waiting for minutes holds back neither the commit nor memory.

One :class:`DelayScheduler` per worker claims due entries for runners that have room and feeds
them in; it sleeps until the next due time or until something wakes it (a new entry, a runner
with room again), never polling faster than it must.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from ..stores.base import Claimed, Delayed, Record, Store
from ._tasks import cancel_all, supervised

if TYPE_CHECKING:
    from .runner import Runner

__all__ = ["Backlog", "Clock", "DelayScheduler", "Envelope", "encode_backlog", "encode_envelope"]

logger = logging.getLogger("eventbridge_sdk")


class Clock:
    """Wall-clock time for due times and event ages, and a sleep that can be woken early.

    The test kit's :class:`~eventbridge_sdk.testing.ManualClock` replaces it, so that retry
    schedules of minutes run in no time.
    """

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    async def sleep_until(self, when: float, wake: asyncio.Event) -> None:
        """Return at ``when`` (clock time) or as soon as ``wake`` is set, whichever is first."""
        delay = when - self.time()
        if delay <= 0 or wake.is_set():
            return
        try:
            async with asyncio.timeout(delay):
                await wake.wait()
        except TimeoutError:
            pass

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        await self.sleep_until(self.time() + seconds, asyncio.Event())


def encode_envelope(
    runner: str,
    event: bytes,
    attempt: int,
    first: float | None,
    error: str | None = None,
    appended: float | None = None,
) -> bytes:
    """The delay-queue body of ``event`` (its JSON bytes) for ``runner``'s attempt ``attempt``;
    ``appended`` is when the event was appended to its bus (its ingestion time)."""
    return orjson.dumps(
        {
            "runner": runner,
            "attempt": attempt,
            "first": first,
            "error": error,
            "appended": appended,
            "event": orjson.Fragment(event),
        }
    )


def encode_backlog(runner: str, due: float, records: Sequence[Record]) -> Delayed:
    """A delay-queue entry, due now, that names a runner's backlog: records of one bus
    partition it could not take. The entry keeps them in the bus instead of copying them.

    An ack store may hand records out of offset order (a redelivery behind newer records), so
    the run is sorted: it keeps the bus from its lowest offset on."""
    records = sorted(records, key=lambda record: record[1])
    first = records[0]
    body = orjson.dumps(
        {
            "runner": runner,
            "partition": first[0],
            "offsets": [record[1] for record in records],
            "deliveries": [record[3] for record in records],
        }
    )
    bus = runner.partition("/")[0]
    return Delayed(runner, due, body, len(records), (bus, first[0], first[1]))


class Envelope:
    """A decoded delay-queue entry for one event: what to deliver, to whom, and its history."""

    __slots__ = ("appended", "attempt", "claimed", "error", "first", "runner")

    def __init__(self, claimed: Claimed, fields: dict[str, Any]) -> None:
        self.claimed = claimed
        self.runner: str = fields["runner"]
        self.attempt: int = fields["attempt"]
        self.first: float | None = fields["first"]
        self.error: str | None = fields.get("error")
        self.appended: float | None = fields.get("appended")

    @property
    def event_body(self) -> bytes:
        """The original event's JSON bytes (decoded again: a handler may have changed its copy)."""
        return orjson.dumps(orjson.loads(self.claimed.body)["event"])

    def requeued(self, runner: str, due: float) -> Delayed:
        """The same entry again, due at ``due`` (a paused runner hands it back)."""
        return Delayed(runner, due, self.claimed.body)

    def settle(self, delays: DelayScheduler) -> None:
        """The runner is done with it: delete the entry."""
        delays.finish_soon([self.claimed.id])


class _Run:
    """A claimed backlog entry: deleted once the runner settled each event it names."""

    __slots__ = ("id", "remaining")

    def __init__(self, entry_id: int | str, remaining: int) -> None:
        self.id = entry_id
        self.remaining = remaining


class Backlog:
    """One event of a runner's backlog, read from its bus when the backlog entry came due."""

    __slots__ = ("record", "run")

    first: float | None = None

    def __init__(self, run: _Run, record: Record) -> None:
        self.run = run
        self.record = record

    @property
    def attempt(self) -> int:
        return self.record[3]

    @property
    def event_body(self) -> bytes:
        return self.record[2]

    def requeued(self, runner: str, due: float) -> Delayed:
        record = self.record
        return Delayed(
            runner, due, encode_envelope(runner, record[2], record[3], None, None, record[5])
        )

    def settle(self, delays: DelayScheduler) -> None:
        run = self.run
        run.remaining -= 1
        if not run.remaining:
            delays.finish_soon([run.id])


async def read_backlog(
    store: Store, bus: str, claimed: Claimed, fields: dict[str, Any]
) -> list[Backlog]:
    """The events a backlog entry names, read from the bus it keeps them in."""
    offsets: list[int] = fields["offsets"]
    deliveries: list[int] = fields["deliveries"]
    # The run's offsets need not be adjacent (on an ack store other workers took the records
    # between them): read the span in pages, keeping only the run's records.
    wanted = set(offsets)
    low, last = min(offsets), max(offsets)
    page_size = min(last - low + 1, max(2 * len(offsets), 1000))
    found: dict[int, Record] = {}
    after = low - 1
    while after < last:
        page = await store.read(bus, after=after, max_count=page_size)
        if not page:
            break
        for item in page:
            if item[1] in wanted:
                found[item[1]] = item
        after = page[-1][1]
    run = _Run(claimed.id, 0)
    out = []
    for offset, count in zip(offsets, deliveries, strict=True):
        record = found.get(offset)
        if record is None:
            logger.error(
                "bus %r: the event at offset %d, in the backlog of %s, is gone from the bus "
                "(deleted by hand?); it is skipped",
                bus,
                offset,
                fields["runner"],
            )
            continue
        out.append(Backlog(run, record._replace(deliveries=count)))
    run.remaining = len(out)
    return out


class DelayScheduler:
    """Feeds due delay-queue entries of one consumer group to the runners of this worker."""

    def __init__(
        self,
        store: Store,
        group: str,
        clock: Clock,
        *,
        lease: float = 300.0,
        poll_interval: float = 5.0,
        claim_batch: int = 500,
    ) -> None:
        self.store = store
        self.group = group
        self.clock = clock
        self.lease = lease
        self.poll_interval = poll_interval
        self.claim_batch = claim_batch
        self.runners: dict[str, Runner] = {}
        self._wake = asyncio.Event()
        self.claiming = 0
        """Claims under way: entries taken from the store and not yet in their runner's queue
        (neither due in the store nor queued: :meth:`Worker.wait_delays_settled` waits)."""
        self._task: asyncio.Task[None] | None = None
        self._finisher: asyncio.Task[None] | None = None
        self._finished: list[int | str] = []
        self._finish_wanted = asyncio.Event()
        self._unknown: set[str] = set()

    def add(self, runner: Runner) -> None:
        """Feed ``runner`` the entries scheduled under its name."""
        self.runners[runner.name] = runner

    def wake(self) -> None:
        """Look at the delay queue again now (an entry was added, a runner has room)."""
        self._wake.set()

    async def put(self, entries: Sequence[Delayed], *, wake: bool = True) -> None:
        """Schedule entries durably; wake the scheduler unless told it need not look."""
        await self.store.schedule(self.group, entries)
        if wake:
            self._wake.set()

    async def finish(self, ids: Sequence[int | str]) -> None:
        """Delete entries that were delivered, rescheduled or dead-lettered, now."""
        await self.store.finish(self.group, ids)

    def finish_soon(self, ids: Sequence[int | str]) -> None:
        """Delete entries in the next batch of deletions: one store write for many entries.

        Until then they stay claimed; should the process die first, they come back when their
        claim ends (at-least-once).
        """
        self._finished.extend(ids)
        self._finish_wanted.set()

    async def flush(self) -> None:
        """Delete the entries waiting to be finished now."""
        ids, self._finished = self._finished, []
        if not ids:
            return
        try:
            await self.store.finish(self.group, ids)
        except BaseException:
            self._finished[:0] = ids
            raise

    async def _finish_loop(self) -> None:
        while True:
            await self._finish_wanted.wait()
            self._finish_wanted.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("finishing delay-queue entries failed; again in 1 s")
                await asyncio.sleep(1.0)
                self._finish_wanted.set()

    def start(self) -> None:
        self._task = supervised(self._run(), f"eventbridge-delays:{self.group}")
        self._finisher = supervised(self._finish_loop(), f"eventbridge-delays:{self.group}:finish")

    async def stop(self, grace: float) -> None:
        """Stop feeding runners and finishing entries."""
        await self.stop_feeding(grace)
        await self.stop_finishing(grace)

    async def stop_feeding(self, grace: float) -> None:
        """Stop feeding runners (what is due stays in the store for the next start)."""
        if self._task is not None:
            await cancel_all([self._task], grace)
            self._task = None

    async def stop_finishing(self, grace: float) -> None:
        """Stop the batch deletions after a last one (the runners have stopped)."""
        if self._finisher is not None:
            await cancel_all([self._finisher], grace)
            self._finisher = None
        try:
            async with asyncio.timeout(grace):
                await self.flush()
        except Exception:
            logger.exception(
                "deleting %d finished delay-queue entries failed; they are delivered again "
                "when their claims end",
                len(self._finished),
            )

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                wake_at = await self.feed()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "reading the delay queue of group %r failed; again in 1 s", self.group
                )
                wake_at = self.clock.time() + 1.0
            await self.clock.sleep_until(wake_at, self._wake)

    async def feed(self) -> float:
        """Hand due entries to runners with room; return when to look again."""
        now = self.clock.time()
        wake_at = now + self.poll_interval
        for key, stats in (await self.store.delayed(self.group)).items():
            runner = self.runners.get(key)
            if runner is None:
                self._warn_unknown(key, stats.size)
                continue
            if stats.next_due > now:
                wake_at = min(wake_at, stats.next_due)
                continue
            room = min(runner.room(), self.claim_batch)
            if room <= 0:
                continue  # the runner wakes the scheduler when it has room again
            self.claiming += 1
            try:
                claimed = await self.store.claim(
                    self.group, key, now=now, max_count=room, lease=self.lease
                )
                await runner.feed(claimed)
            finally:
                self.claiming -= 1
            weight = sum(entry.weight for entry in claimed)
            if weight >= room:
                wake_at = now  # more may be due
            else:
                if not runner.spills_in_flight:
                    runner.spilling = False  # the backlog is through: new events go straight in
                if claimed and stats.size > weight:
                    # The key's other entries come due later: look again at once to learn when
                    # (its next_due was that of the entries just claimed).
                    wake_at = now
        return wake_at

    def _warn_unknown(self, key: str, count: int) -> None:
        if key not in self._unknown:
            self._unknown.add(key)
            logger.warning(
                "group %r: %d delayed event(s) wait for target %r, which this worker does not "
                "run; they stay in the store until a worker that declares it starts",
                self.group,
                count,
                key,
            )
