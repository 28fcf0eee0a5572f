"""A runner: one rule-and-target pair at run time, with its own bounded queue and concurrency.

The dispatcher offers a runner the records its rule matched; the delay scheduler feeds it the
retries and backlog that came due. The runner applies the target's transform, puts deliveries
into the sink with at most ``concurrency`` puts in flight (and at most ``rate_limit`` events per
second), and settles each outcome:

- delivered, or dropped (the handler raised :class:`~eventbridge_sdk.Drop`): finished;
- failed with attempts and age left: scheduled in the store's delay queue for the retry policy's
  time, finished here;
- failed for good (attempts or age ran out, a non-retryable error, :class:`DeadLetter`):
  published to the dead-letter bus with what happened, or, under tolerance ``"none"``, kept in
  the delay queue while the runner pauses until it is resumed.

Its queue is bounded by ``queue_size``: a runner that is full or paused refuses new records, and
the dispatcher spills them to the delay queue, so a slow target holds back nobody but itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from .._errors import TransformFailedError
from .._event import Event
from .._policies import DeadLetter, DeliveryPolicy, Drop, Retry
from ..sinks.base import BatchError, Delivery, Sink
from ..stores.base import Claimed, Delayed, Record
from ..telemetry import runner_attributes, trace_id_of
from ..transforms import Transform, TransformContext
from ._tasks import durably
from .delays import Backlog, DelayScheduler, Envelope, encode_envelope, read_backlog
from .offsets import AckTracker, OffsetTracker
from .pool import DELIVERING, DeliveryPool

if TYPE_CHECKING:
    from ..telemetry._otel import Telemetry

__all__ = [
    "DELIVERING",
    "DeliveryObserver",
    "Pause",
    "Runner",
    "RunnerCounts",
    "dead_letter_reason",
]

logger = logging.getLogger("eventbridge_sdk")


DeliveryObserver = Callable[[Delivery, BaseException | None], None]
"""Called after every delivery attempt with the delivery and its error (``None``: success)."""


PublishFn = Callable[[str, Sequence[Event]], Awaitable[Any]]

_Source = Record | Envelope | Backlog  # a bus record, a retry, an event of a backlog
_Item = tuple[_Source, dict[str, Any]]  # where it came from, the event's JSON form

_EXTENSION_PREFIX = "deadletter"

_perf = time.perf_counter

_QUICK_PUT = 200e-6
_QUICK_EVENT = 20e-6
"""A put that took less than ``_QUICK_PUT + _QUICK_EVENT * events`` seconds did not wait on
anything worth overlapping (a no-op, a cache, a fast handler in one hand-off to the threads)."""
_QUICK_STREAK = 4
"""Quick puts in a row before a target takes what waits in one part: one quick put of a target
that is mostly slow (a handler that skips some events at once) does not make it a quick one."""


class Pause(NamedTuple):
    """Why a runner under tolerance ``"none"`` stopped: the event that failed for good."""

    since: datetime
    event_id: str
    reason: str
    error: str


@dataclass(slots=True)
class RunnerCounts:
    """What a runner did since the worker started."""

    matched: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    retried: int = 0
    dead_lettered: int = 0
    dropped: int = 0
    spilled: int = 0


def dead_letter_reason(error: BaseException, policy: DeliveryPolicy) -> str | None:
    """Why ``error`` ends the retries at once (``None``: it may be retried)."""
    if isinstance(error, DeadLetter):
        return "dead-letter"
    if isinstance(error, Retry):
        return None
    if policy.non_retryable and isinstance(error, policy.non_retryable):
        return "non-retryable"
    if getattr(error, "retryable", True) is False:
        return "non-retryable"
    return None


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


class _TokenBucket:
    """At most ``rate`` events per second on average, in bursts of a tenth of a second's worth."""

    def __init__(self, rate: float, time: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = max(1.0, rate / 10)
        self.tokens = self.burst
        self.time = time
        self.stamp = time()

    def allowance(self, count: int) -> int:
        """How many of ``count`` events to take now: the tokens at hand, at least one."""
        now = self.time()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return max(1, min(count, int(self.tokens)))

    def take(self, count: int) -> float:
        """Take ``count`` tokens; return how long to wait before using them (0: at once)."""
        now = self.time()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= count
        return -self.tokens / self.rate if self.tokens < 0 else 0.0


class Runner:
    """Delivers one rule's matched events to one target."""

    # Slots: a thousand targets are a thousand runners, each touched for each of its events;
    # an attribute in a slot is read at a fixed place, not looked up in a dict of its own.
    __slots__ = (
        "_bucket", "_drained", "_max_batch", "_quick", "_room", "_span_puts",
        "_transform_context", "_unfinished", "active", "bus", "clock", "concurrency", "counts",
        "delays", "metric_attributes", "name", "observers", "paused", "policy", "pool",
        "publish", "queue", "queue_size", "rate_limit", "rng", "rule", "scheduled", "sink",
        "spilling", "spills_in_flight", "target", "telemetry", "tracker", "transform",
    )  # fmt: skip

    def __init__(
        self,
        *,
        bus: str,
        rule: str,
        target: str,
        sink: Sink,
        tracker: OffsetTracker | AckTracker,
        concurrency: int,
        delays: DelayScheduler,
        publish: PublishFn,
        policy: DeliveryPolicy | None = None,
        transform: Transform | None = None,
        queue_size: int = 1000,
        rate_limit: float | None = None,
        observers: list[DeliveryObserver] | None = None,
        rng: random.Random | None = None,
        pool: DeliveryPool | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.bus, self.rule, self.target = bus, rule, target
        self.telemetry = telemetry
        # A sink that traces each delivery itself (a handler's) gets no span per put.
        self._span_puts = telemetry is not None and telemetry.tracer is not None
        self._span_puts = self._span_puts and not getattr(sink, "traces_deliveries", False)
        self.name = f"{bus}/{rule}/{target}"
        self.sink = sink
        self.tracker = tracker
        self.concurrency = concurrency
        self.delays = delays
        self.clock = delays.clock
        self.publish = publish
        self.policy = policy if policy is not None else DeliveryPolicy()
        self.transform = transform.apply if transform is not None else None
        self._transform_context = getattr(transform, "uses_context", False) is True
        """Whether the transform reads the delivery context (AWS's reserved variables)."""
        self.queue_size = queue_size
        self.rate_limit = rate_limit
        self.observers = observers if observers is not None else []
        self.rng = rng
        self.queue: deque[_Item] = deque()
        """Events waiting for a worker; at most ``queue_size`` from the dispatcher."""
        self.pool = pool if pool is not None else DeliveryPool(f"eventbridge-runner:{self.name}")
        self.scheduled = False
        """Whether the runner is in the pool's ready line."""
        self.active = 0
        """Deliveries in flight (at most ``concurrency``)."""
        self._max_batch = 1 if self.policy.tolerance == "none" else sink.max_batch
        """Under tolerance "none" nothing after an event that fails for good may be delivered
        before it, so such a target takes one event at a time."""
        self._quick = 0
        """Puts in a row that were quick, delivered or not (see :meth:`take_part`)."""
        self._unfinished = 0
        self._drained: asyncio.Future[None] | None = None
        """Created by :meth:`drain` while it waits; resolved when nothing is unfinished."""
        self.counts = RunnerCounts()
        self.metric_attributes = runner_attributes(bus, rule, target)
        """The target's attributes on metrics."""
        self.spilling = False
        """New records go to the delay queue while an earlier backlog waits there (order)."""
        self.spills_in_flight = 0
        """Backlog entries for this runner being written: the backlog is not through yet."""
        self.paused: Pause | None = None
        self._bucket = _TokenBucket(rate_limit, self.clock.time) if rate_limit else None
        self._room: asyncio.Future[None] | None = None
        """Created by :meth:`wait_for_room` while the dispatcher waits; resolved when the
        queue has room or the runner pauses."""

    # -- intake ----------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Whether nothing is queued or being delivered."""
        return not self._unfinished

    @property
    def queued(self) -> int:
        """Events queued or being delivered."""
        return self._unfinished

    def room(self) -> int:
        """How many more events the queue takes now (0 while paused)."""
        if self.paused is not None:
            return 0
        return self.queue_size - len(self.queue)

    def full(self) -> bool:
        """Whether the queue is at ``queue_size`` (and the runner is not paused)."""
        return self.paused is None and len(self.queue) >= self.queue_size

    async def wait_for_room(self) -> None:
        """Wait until the queue takes another record or the runner pauses: for a dispatcher
        whose bus has no other target to keep going, waiting costs less than spilling to the
        store and reading it back."""
        while self.full() and not self.spilling:
            self._room = asyncio.get_running_loop().create_future()
            await self._room

    def _wake_dispatcher(self) -> None:
        room = self._room
        if room is not None:
            self._room = None
            if not room.done():
                room.set_result(None)

    def offer(self, record: Record, form: dict[str, Any]) -> bool:
        """Queue a record if the runner takes it now (it then owns ``form``). ``False``: it is
        full, paused, or a backlog of its waits in the store and goes first; the caller spills
        the record to the delay queue."""
        self.counts.matched += 1
        queue = self.queue
        if self.spilling or self.paused is not None or len(queue) >= self.queue_size:
            self.spilling = self.paused is None
            return False
        queue.append((record, form))
        self._unfinished += 1
        if not self.scheduled and self.active < self.concurrency and self.paused is None:
            self.pool.schedule(self)
        return True

    def _put(self, item: _Item) -> None:
        self.queue.append(item)
        self._unfinished += 1
        self._schedule()

    def _finished(self, count: int) -> None:
        self._unfinished -= count
        if not self._unfinished and self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
            self._drained = None

    async def feed(self, claimed: Sequence[Claimed]) -> None:
        """Queue delay-queue entries that came due (the scheduler checked ``room()``): a retry
        is one event; a backlog entry names events that are read from the bus now."""
        broken: list[int | str] = []
        loads = orjson.loads
        for entry in claimed:
            try:
                fields = loads(entry.body)
                if "offsets" in fields:
                    for item in await read_backlog(self.delays.store, self.bus, entry, fields):
                        self._put((item, loads(item.record[2])))
                else:
                    self._put((Envelope(entry, fields), fields["event"]))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                logger.error(
                    "target %s: delay-queue entry %r is not an entry this library wrote (%s); "
                    "removed",
                    self.name,
                    entry.id,
                    exc,
                )
                broken.append(entry.id)
        if broken:
            self.delays.finish_soon(broken)

    async def drain(self) -> None:
        """Wait until every queued event was delivered (or settled otherwise)."""
        while self._unfinished:
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)

    # -- pause -----------------------------------------------------------------------------

    def resume(self) -> bool:
        """Resume a runner paused under tolerance ``"none"``; return whether it was paused.

        The event that paused it and everything that arrived meanwhile wait in the delay queue
        and are delivered first, the failed event with a fresh retry budget.
        """
        if self.paused is None:
            return False
        logger.info("target %s resumed", self.name)
        self.paused = None
        self.spilling = True
        self.delays.wake()
        self._schedule()
        return True

    # -- delivery --------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Join the pool's ready line if events wait and a delivery may start."""
        if (
            not self.scheduled
            and self.queue
            and self.active < self.concurrency
            and self.paused is None
        ):
            self.pool.schedule(self)

    def take_part(self) -> list[_Item]:
        """Take this delivery's part of the queue (empty while paused or at concurrency).

        What waits is shared among the deliveries the runner may still start, so that a
        target with ``concurrency`` N has N deliveries going when enough events wait. Unless
        the last few puts were quick (nothing in them waited) and none is in flight: then one
        part takes it all (up to the sink's ``max_batch``), since splitting would pay a put's
        overhead again for each part with nothing to overlap. The price: should such a target
        turn slow, that one part waits on one call after the other; the next is shared again.
        """
        queue = self.queue
        waiting = len(queue)
        active, workers = self.active, self.concurrency
        if not waiting or active >= workers or self.paused is not None:
            return []
        # A part of what waits per delivery the target may have in flight, free now or not: a
        # delivery that ends while the others still run must not take the whole backlog.
        if workers == 1 or (not active and self._quick >= _QUICK_STREAK):
            count = waiting
        else:
            count = -(-waiting // workers)
        if count > self._max_batch:
            count = self._max_batch
        if self._bucket is not None:
            count = self._bucket.allowance(count)
        if count == waiting:
            items = list(queue)
            queue.clear()
        else:
            popleft = queue.popleft
            items = [popleft() for _ in range(count)]
        if self._room is not None:
            self._wake_dispatcher()
        self.active = active = active + 1
        if count < waiting and active < workers:
            self.pool.schedule(self)  # the rest may start now, beside this delivery
        return items

    async def run(self, items: list[_Item]) -> None:
        """Deliver a part taken with :meth:`take_part` and settle every outcome.

        Runs in a task of the delivery pool, where DELIVERING is set for good. A cancelled
        delivery is not finished: it stays unsettled and comes again.
        """
        count = len(items)
        try:
            if self.paused is not None:
                await self._spill_items(items)  # paused since the part was taken
                return  # resume() schedules the runner again
            if self._bucket is not None:
                wait = self._bucket.take(count)
                if wait:
                    await self.clock.sleep(wait)
            build = self._build
            batch: list[Delivery] = []
            sent = items  # the items whose delivery goes to the sink: all of them, as a rule
            unsent: list[tuple[_Item, Delivery | None, BaseException | None]] | None = None
            for item in items:
                delivery, error = build(item)
                if error is None and delivery is not None:
                    batch.append(delivery)
                    if unsent is not None:
                        sent.append(item)
                else:
                    if unsent is None:
                        unsent = []
                        sent = items[: len(batch)]  # those before this one all went
                    unsent.append((item, delivery, error))
            errors: dict[int, BaseException] | None = None
            if batch:
                measured = self._measure(batch) if self.telemetry is not None else None
                started = _perf()
                try:
                    await self.sink.put(batch)
                except asyncio.CancelledError as exc:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        if measured is not None:
                            self._measured(measured, batch, None, exc)
                        raise  # the runner is stopping
                    # The handler's own work was cancelled: a failed delivery, not a stop.
                    errors = dict.fromkeys(range(len(batch)), exc)
                except BatchError as exc:
                    errors = exc.failures
                except (Exception, Retry, DeadLetter, Drop) as exc:
                    errors = dict.fromkeys(range(len(batch)), exc)
                if _perf() - started < _QUICK_PUT + _QUICK_EVENT * len(batch):
                    self._quick += 1
                else:
                    self._quick = 0
                if measured is not None:
                    self._measured(measured, batch, errors, None)
            if errors is None:  # the common case: everything sent was delivered
                if self.observers:
                    for delivery in batch:
                        self._observe(delivery, None)
                self.counts.delivered += len(batch)
                records = [source for source, _ in sent if type(source) is Record]
                if records:
                    self.tracker.done_soon(records)
                if len(records) < len(sent):
                    for source, _ in sent:
                        if type(source) is not Record:
                            source.settle(self.delays)  # type: ignore[union-attr]
            else:
                for index, (item, delivery) in enumerate(zip(sent, batch, strict=True)):
                    await self._outcome(item, delivery, errors.get(index))
            if unsent:
                for item, delivery, error in unsent:
                    await self._outcome(item, delivery, error)
        finally:
            self.active -= 1
            self._finished(count)
        if self.spilling and len(self.queue) <= self.queue_size // 2:
            self.delays.wake()
        if self.queue and not self.scheduled:
            self._schedule()

    def _measure(self, batch: list[Delivery]) -> tuple[Any, object, float]:
        """Start measuring a delivery: its ``process`` span (current while the sink works, so
        that its requests carry it; a sink that traces each delivery itself gets none) and
        its clock."""
        telemetry = self.telemetry
        assert telemetry is not None
        span = token = None
        if self._span_puts:
            events = [delivery.event for delivery in batch]
            span = telemetry.process_span(
                self.bus, self.rule, self.target, events, batch[0].attempt
            )
            token = telemetry.use(span)
        return span, token, time.perf_counter()

    def _measured(
        self,
        measured: tuple[Any, object, float],
        batch: list[Delivery],
        errors: dict[int, BaseException] | None,
        raised: BaseException | None,
    ) -> None:
        """End what :meth:`_measure` started, with the delivery's outcome."""
        telemetry = self.telemetry
        assert telemetry is not None
        span, token, started = measured
        first = raised or (next(iter(errors.values())) if errors else None)
        if span is not None:
            if errors and len(batch) > 1:
                span.set_attribute("eventbridge.delivery.failed_count", len(errors))
            telemetry.end(span, token, first)
        if telemetry.metered:
            self._record(telemetry, batch, errors, first, time.perf_counter() - started)

    def _record(
        self,
        telemetry: Telemetry,
        batch: list[Delivery],
        errors: dict[int, BaseException] | None,
        first: BaseException | None,
        elapsed: float,
    ) -> None:
        attributes = self.metric_attributes
        if first is not None:
            attributes = {**attributes, "error.type": type(first).__qualname__}
        telemetry.process_duration.record(elapsed, attributes)
        # One latency per delivery call, of its oldest event delivered: a value per event
        # would cost more than the delivery of a fast handler's batch.
        for index, delivery in enumerate(batch):
            sent = delivery.event.time
            if sent is not None and (errors is None or index not in errors):
                latency = max(time.time() - sent.timestamp(), 0.0)
                telemetry.latency.record(latency, attributes)
                break

    async def _outcome(
        self, item: _Item, delivery: Delivery | None, error: BaseException | None
    ) -> None:
        """Settle one delivery of a batch that did not wholly succeed."""
        if delivery is not None:
            self._observe(delivery, error)
        if error is None:
            self.counts.delivered += delivery is not None
        elif isinstance(error, Drop):
            self.counts.dropped += 1
        else:
            # A dead letter, like a reply, must not wait for room in a bounded store.
            delivering = DELIVERING.set(True)
            try:
                await self._failed(item, delivery, error)
            finally:
                DELIVERING.reset(delivering)
        self._settle(item[0])

    def _settle(self, source: _Source) -> None:
        """This runner is done with ``source``: a record counts as finished for the commit, a
        delay-queue entry is deleted."""
        if type(source) is Record:
            self.tracker.done(source)
        else:
            source.settle(self.delays)  # type: ignore[union-attr]

    def _build(self, item: _Item) -> tuple[Delivery | None, BaseException | None]:
        source, form = item
        try:
            event = Event._from_trusted(form)
        except Exception as exc:
            # Only bytes written by something other than this library end up here.
            logger.error(
                "bus %r: a record is not a valid event (%s); target %s skips it",
                self.bus,
                exc,
                self.name,
            )
            return None, None
        if type(source) is Record:
            delivery = Delivery(
                event, self.bus, self.rule, self.target, source[0], source[1], source[3]
            )
        else:
            delivery = Delivery(
                event, self.bus, self.rule, self.target, source_partition(source),
                source_offset(source), source.attempt,  # type: ignore[union-attr]
            )  # fmt: skip
        if self.transform is not None:
            try:
                if self._transform_context:
                    context = TransformContext(self.bus, self.rule, source_appended(source))
                    event.data = self.transform(form, context)
                else:
                    event.data = self.transform(form)
            except Exception as exc:
                failed = TransformFailedError(
                    f"the transform of target {self.name} failed on event {event.id!r}: "
                    f"{_describe(exc)}"
                )
                failed.__cause__ = exc
                return delivery, failed
        return delivery, None

    def _observe(self, delivery: Delivery, error: BaseException | None) -> None:
        for observer in self.observers:
            try:
                observer(delivery, error)
            except Exception:
                logger.exception("delivery observer %r failed", observer)

    # -- failures --------------------------------------------------------------------------

    async def _failed(self, item: _Item, delivery: Delivery | None, error: BaseException) -> None:
        """Settle a failed attempt durably: schedule the retry, dead-letter, or pause."""
        self.counts.failed_attempts += 1
        source = item[0]
        now = self.clock.time()  # the attempt just ended: close enough to when it started
        if type(source) is Record:
            attempt, first = source[3], now
        else:
            attempt = source.attempt  # type: ignore[union-attr]
            first = source.first or now  # type: ignore[union-attr]
        retry = self.policy.retry
        reason = dead_letter_reason(error, self.policy)
        if reason is None and attempt >= retry.max_attempts:
            reason = "attempts"
        if reason is None:
            if isinstance(error, Retry) and error.after is not None:
                delay = error.after
            else:
                delay = retry.delay(attempt, self.rng)
                # A server's Retry-After (a webhook target's error) is a floor, not a cap: the
                # more patient of the two waits.
                after = getattr(error, "retry_after", None)
                if after is not None and after > delay:
                    delay = after
            due = now + delay
            if retry.max_event_age is not None and due - first > retry.max_event_age:
                reason = "age"
            else:
                self._log_failure(delivery, error, f"retry in {delay:.3g} s", attempt, final=False)
                body = self._event_body(source)
                entry = Delayed(
                    self.name, due, encode_envelope(self.name, body, attempt + 1, first,
                                                    _describe(error), source_appended(source))
                )  # fmt: skip
                await durably(f"target {self.name}: scheduling a retry", self.delays.put, [entry])
                self.counts.retried += 1
                return
        body = self._event_body(source)
        if self.policy.tolerance == "none":
            await self._pause(body, delivery, error, reason, attempt, source_appended(source))
            return
        dead_letter = self.policy.dead_letter
        if dead_letter is None:
            self._log_failure(
                delivery, error, f"dropped: {reason} and the target has no dead-letter bus",
                attempt,
            )  # fmt: skip
            return
        event = self._dead_letter(body, error, reason, attempt, first, now)
        telemetry = self.telemetry
        if telemetry is not None and telemetry.tracer is not None:
            span = telemetry.dead_letter_span(event, dead_letter, reason, attempt, self.name)
            token = telemetry.use(span)
            try:
                await durably(
                    f"target {self.name}: dead-lettering", self.publish, dead_letter, [event]
                )
            finally:
                telemetry.end(span, token)
        else:
            await durably(f"target {self.name}: dead-lettering", self.publish, dead_letter, [event])
        self.counts.dead_lettered += 1
        self._log_failure(
            delivery, error, f"dead-lettered to bus {dead_letter!r} ({reason})", attempt
        )

    def _event_body(self, source: _Source) -> bytes:
        return source[2] if type(source) is Record else source.event_body  # type: ignore[union-attr]

    def _dead_letter(
        self,
        body: bytes,
        error: BaseException,
        reason: str,
        attempts: int,
        first: float,
        last: float,
    ) -> Event:
        form = orjson.loads(body)
        message = error.reason if isinstance(error, DeadLetter) else str(error)
        p = _EXTENSION_PREFIX
        form.update(
            {
                f"{p}bus": self.bus,
                f"{p}rule": self.rule,
                f"{p}target": self.target,
                f"{p}reason": reason,
                f"{p}errortype": type(error).__qualname__,
                f"{p}error": message[:2000],
                f"{p}attempts": attempts,
                f"{p}firsttime": _iso(first),
                f"{p}lasttime": _iso(last),
            }
        )
        return Event._from_trusted(form)

    async def _pause(
        self,
        body: bytes,
        delivery: Delivery | None,
        error: BaseException,
        reason: str,
        attempt: int,
        appended: float | None,
    ) -> None:
        # The event waits in the delay queue, due at once and with a fresh retry budget: it is
        # the first one delivered when the runner resumes.
        entry = Delayed(
            self.name, self.clock.time(), encode_envelope(self.name, body, 1, None, None, appended)
        )
        await durably(f"target {self.name}: keeping the failed event", self.delays.put, [entry])
        if self.paused is None:
            event_id = delivery.event.id if delivery is not None else "?"
            since = datetime.fromtimestamp(self.clock.time(), UTC)
            self.paused = Pause(since, event_id, reason, _describe(error))
            self._wake_dispatcher()  # a paused runner's records go to the store
            self._log_failure(
                delivery, error,
                f"target paused (tolerance 'none', {reason}); the event and all that follows "
                f"wait in the store until bridge.resume({self.name!r})",
                attempt,
            )  # fmt: skip
        await self._spill_items(self._take_queued(), done=True)

    def _take_queued(self) -> list[_Item]:
        items = list(self.queue)
        self.queue.clear()
        return items

    async def _spill_items(self, items: list[_Item], *, done: bool = False) -> None:
        """Hand items back to the delay queue, due at once (the runner is paused)."""
        if not items:
            return
        now = self.clock.time()
        entries = [
            encode_backlog_copy(self.name, now, source)
            if type(source) is Record
            else source.requeued(self.name, now)  # type: ignore[union-attr]
            for source, _ in items
        ]
        await durably(
            f"target {self.name}: handing events back to the delay queue", self.delays.put, entries
        )
        self.counts.spilled += len(entries)
        for source, _ in items:
            self._settle(source)
        if done:
            self._finished(len(items))

    def _log_failure(
        self,
        delivery: Delivery | None,
        error: BaseException,
        outcome: str,
        attempt: int,
        *,
        final: bool = True,
    ) -> None:
        event_id = delivery.event.id if delivery is not None else "?"
        trace_id = trace_id_of(delivery.event.extensions) if delivery is not None else None
        # A traceback on the first failure and the last; retries in between say one line.
        # An endpoint's answer (log_traceback False) says everything; a stack adds nothing.
        trace = (
            (final or attempt == 1)
            and getattr(error, "retryable", True) is not False
            and getattr(error, "log_traceback", True)
        )
        logger.log(
            logging.ERROR if final else logging.WARNING,
            "delivery failed: bus=%s rule=%s target=%s event=%s attempt=%d: %s; %s",
            self.bus,
            self.rule,
            self.target,
            event_id,
            attempt,
            _describe(error),
            outcome,
            exc_info=error if trace and isinstance(error, Exception) else None,
            extra={
                "eventbridge_bus": self.bus,
                "eventbridge_rule": self.rule,
                "eventbridge_target": self.target,
                "eventbridge_event_id": event_id,
                "eventbridge_attempt": attempt,
                "trace_id": trace_id,
            },
        )


def encode_backlog_copy(runner: str, due: float, record: Record) -> Delayed:
    """A delay-queue entry that carries a copy of a bus record (a paused runner hands it back;
    the record itself is committed past)."""
    return Delayed(
        runner, due, encode_envelope(runner, record[2], record[3], None, None, record[5])
    )


def source_appended(source: _Source) -> float | None:
    """When the event was appended to its bus (Unix seconds; ``None`` when unknown)."""
    if type(source) is Record:
        return source[5]
    if type(source) is Backlog:
        return source.record[5]
    return source.appended  # type: ignore[union-attr]


def source_partition(source: _Source) -> int:
    """The bus partition of a record (0 for a retry)."""
    if type(source) is Record:
        return source[0]
    return source.record[0] if type(source) is Backlog else 0


def source_offset(source: _Source) -> int:
    """The bus offset of a record (0 for a retry)."""
    if type(source) is Record:
        return source[1]
    return source.record[1] if type(source) is Backlog else 0
