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

from ..stores.base import Claimed, Delayed, Store
from ._tasks import cancel_all, supervised

if TYPE_CHECKING:
    from .runner import Runner

__all__ = ["Clock", "DelayScheduler", "Envelope", "encode_envelope"]

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
    runner: str, event: bytes, attempt: int, first: float | None, error: str | None = None
) -> bytes:
    """The delay-queue body of ``event`` (its JSON bytes) for ``runner``'s attempt ``attempt``."""
    return orjson.dumps(
        {
            "runner": runner,
            "attempt": attempt,
            "first": first,
            "error": error,
            "event": orjson.Fragment(event),
        }
    )


class Envelope:
    """A decoded delay-queue entry: what to deliver, to whom, and its history."""

    __slots__ = ("attempt", "claimed", "error", "first", "runner")

    def __init__(self, claimed: Claimed, fields: dict[str, Any]) -> None:
        self.claimed = claimed
        self.runner: str = fields["runner"]
        self.attempt: int = fields["attempt"]
        self.first: float | None = fields["first"]
        self.error: str | None = fields.get("error")

    @property
    def event_body(self) -> bytes:
        """The original event's JSON bytes (decoded again: a handler may have changed its copy)."""
        return orjson.dumps(orjson.loads(self.claimed.body)["event"])


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
        self._task: asyncio.Task[None] | None = None
        self._unknown: set[str] = set()

    def add(self, runner: Runner) -> None:
        """Feed ``runner`` the entries scheduled under its name."""
        self.runners[runner.name] = runner

    def wake(self) -> None:
        """Look at the delay queue again now (an entry was added, a runner has room)."""
        self._wake.set()

    async def put(self, entries: Sequence[Delayed]) -> None:
        """Schedule entries durably and wake the scheduler."""
        await self.store.schedule(self.group, entries)
        self._wake.set()

    async def finish(self, ids: Sequence[int | str]) -> None:
        """Delete entries that were delivered, rescheduled or dead-lettered."""
        await self.store.finish(self.group, ids)

    def start(self) -> None:
        self._task = supervised(self._run(), f"eventbridge-delays:{self.group}")

    async def stop(self, grace: float) -> None:
        if self._task is not None:
            await cancel_all([self._task], grace)
            self._task = None

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
            claimed = await self.store.claim(
                self.group, key, now=now, max_count=room, lease=self.lease
            )
            runner.feed(claimed)
            if len(claimed) == room:
                wake_at = now  # more may be due
            else:
                runner.spilling = False  # the backlog is through: new events go straight in
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
