"""The application object: declarations, publishing and the runtime's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from ._container import OVERRIDABLE, Container
from ._dead_letters import DeadLetters
from ._declarations import UNSET as _UNSET
from ._declarations import Bus, Target, check_declarable, delivery_options
from ._errors import ConfigurationError, InvalidEventError, RuntimeStateError, UnknownBusError
from ._event import Event, new_event_id
from ._names import check_name
from ._policies import DeliveryPolicy, RetryPolicy, Tolerance
from ._replay import Replay, ReplayProgress, apply_retention, start_replay
from ._retention import Retention, check_retention
from ._settings import Settings, check_store_url
from ._status import BridgeStatus, collect_status
from .runtime.delays import Clock
from .runtime.runner import DELIVERING, DeliveryObserver
from .runtime.worker import BusSpec, RuleSpec, TargetSpec, Worker
from .stores.base import Store
from .telemetry import SYSTEM, resolve_telemetry

if TYPE_CHECKING:
    from .telemetry._otel import Telemetry

__all__ = ["EventBridge"]

logger = logging.getLogger("eventbridge_sdk")

EventInput = Event | Mapping[str, Any]


@functools.lru_cache(maxsize=1024)
def _sent_attributes(bus: str) -> dict[str, str]:
    return {
        "messaging.system": SYSTEM,
        "messaging.operation.name": "send",
        "messaging.destination.name": bus,
    }


def _encode_all(events: list[Event], bus: str) -> list[bytes]:
    """The events' JSON bodies; an invalid one raises, naming its index in the batch."""
    try:
        return [event.to_json() for event in events]
    except InvalidEventError:
        # Again, one by one, to say which event of the batch is wrong.
        total = len(events)
        return [_encode(event, index, total, bus) for index, event in enumerate(events)]


class EventBridge:
    """The application's event bus: declare buses, rules and targets; publish; run.

    ``store`` is a store URL (``sqlite:///path.db``, ``memory://``, ...); without it the URL
    comes from the settings (``EVENTBRIDGE_STORE``), by default an embedded SQLite file under
    ``./.eventbridge/``.

    Example::

        bridge = EventBridge("memory://")
        orders = bridge.bus("orders")

        @orders.rule("big", pattern={"data": {"total": [{"numeric": [">", 100]}]}})
        async def notify(event: Event) -> None:
            print("big order", event.data)

        async with bridge:
            await bridge.publish("orders", Event(type="order.created", source="/shop",
                                                 data={"total": 250}))
    """

    def __init__(self, store: str | None = None, *, settings: Settings | None = None) -> None:
        settings = settings if settings is not None else Settings()
        if store is not None:
            try:
                check_store_url(store)
            except ValueError as exc:
                raise ConfigurationError(f"EventBridge({store!r}): {exc}") from None
            settings = settings.model_copy(update={"store": store})
        self.settings = settings
        self._container = Container(settings=settings)
        self._buses: dict[str, Bus] = {}
        self._observers: list[DeliveryObserver] = []
        self._publish_observers: list[Callable[[str, list[Event]], None]] = []
        self._published: dict[str, dict[int, int]] = {}
        self._store_open: asyncio.Lock | None = None
        self._store: Store | None = None
        self._retired_stores: list[Store] = []
        self._worker: Worker | None = None
        self._stopping: asyncio.Future[bool] | None = None
        self._telemetry: Telemetry | None = None
        self._telemetry_resolved = False

    # -- declarations ----------------------------------------------------------------------

    def bus(
        self,
        name: str,
        *,
        retry: RetryPolicy | Mapping[str, Any] = _UNSET,
        dead_letter: str | None = _UNSET,
        tolerance: Tolerance = _UNSET,
        non_retryable: type[BaseException] | tuple[type[BaseException], ...] = _UNSET,
        retention: Retention | Mapping[str, Any] | None = _UNSET,
    ) -> Bus:
        """Declare the bus ``name``, or return it if it is declared already.

        ``retry``, ``dead_letter``, ``tolerance`` and ``non_retryable`` are defaults for the
        targets of the bus's rules (see :meth:`Rule.target`); give them once, on any one of the
        declarations of the bus. ``retention`` makes the bus an archive that :meth:`replay`
        reads: consumed events are kept up to its age and count limits (see
        :class:`Retention`); without it they are pruned once consumed.

        Example::

            payments = bridge.bus("payments", retry=RetryPolicy.AWS, dead_letter="payments-dlq")
            orders = bridge.bus("orders", retention=Retention(max_age=timedelta(days=7)))
        """
        kept = None if retention is _UNSET else check_retention(f"bus {name!r}", retention)
        delivery = delivery_options(
            f"bus {name!r}",
            retry=retry,
            dead_letter=dead_letter,
            tolerance=tolerance,
            non_retryable=non_retryable,
        )
        existing = self._buses.get(name) if isinstance(name, str) else None
        if existing is not None:
            if delivery and existing.delivery and delivery != existing.delivery:
                raise ConfigurationError(
                    f"bus {name!r} is declared already with other delivery options "
                    f"({dict(existing.delivery)}); give them on one declaration only"
                )
            if delivery:
                existing.delivery = delivery
            if retention is not _UNSET and kept != existing.retention:
                if existing.retention is not None:
                    raise ConfigurationError(
                        f"bus {name!r} is declared already with retention "
                        f"{existing.retention}; give it on one declaration only"
                    )
                check_declarable(self, f"the retention of bus {name!r}")
                existing.retention = kept
            return existing
        check_declarable(self, f"bus {name!r}")
        check_name("bus", name)
        if delivery.get("dead_letter") == name:
            raise ConfigurationError(
                f"bus {name!r}: dead_letter is the bus itself; a dead letter would come back to "
                "the rule that failed it. Name another bus"
            )
        bus = self._buses[name] = Bus(self, name, delivery, kept)
        return bus

    @property
    def buses(self) -> Mapping[str, Bus]:
        """The declared buses by name."""
        return self._buses

    def override(self, **components: Any) -> contextlib.AbstractContextManager[None]:
        """Replace runtime components: ``store``, ``executor``, ``function_sink``, ...

        The override holds until the returned context manager exits (or for good when it is
        not used as one). Call it before ``start()``.

        Example::

            bridge.override(store=MemoryStore())
            with bridge.override(function_sink=RecordingSink):
                ...
        """
        unknown = sorted(set(components) - set(OVERRIDABLE))
        if unknown:
            raise ValueError(
                f"cannot override {unknown}; overridable components: {list(OVERRIDABLE)}"
            )
        if self._worker is not None:
            raise RuntimeStateError("override components before start(), not while running")
        contexts = [
            getattr(self._container, name).override(providers.Object(value))
            for name, value in components.items()
        ]
        replaces_store = "store" in components
        if replaces_store:
            self._forget_store()
        return _Overrides(contexts, self, replaces_store)

    def _forget_store(self) -> None:
        """Drop the opened store (closed at the next stop) and the positions it gave."""
        if self._store is not None:
            self._retired_stores.append(self._store)
            self._store = None
        self._published.clear()

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, bus: str | Bus, events: EventInput | Sequence[EventInput]) -> list[str]:
        """Append one event or a list of events to ``bus``; return their ids once durable.

        Every event is validated first: if one is invalid, nothing is stored. Events may be
        :class:`Event` objects or mappings in the CloudEvents JSON form; like ``Event(...)``, a
        mapping needs only ``type`` and ``source`` (``specversion``, ``id`` and ``time``
        default).

        Example::

            await bridge.publish("orders", {"type": "order.created", "source": "/shop",
                                            "data": {"order": 1}})
        """
        name = bus.name if isinstance(bus, Bus) else bus
        if name not in self._buses:
            declared = ", ".join(repr(b) for b in self._buses) or "none"
            raise UnknownBusError(
                f"cannot publish to bus {name!r}: it is not declared (declared: {declared}); "
                f"declare it with bridge.bus({name!r})"
            )
        batch: Sequence[Any] = [events] if isinstance(events, Event | Mapping) else events
        if isinstance(batch, str | bytes) or not isinstance(batch, Sequence):
            raise InvalidEventError(
                f"publish to bus {name!r}: expected an Event, a mapping or a list of them, got "
                f"{type(events).__name__}"
            )
        total = len(batch)
        accepted = [
            item if item.__class__ is Event else _as_event(item, index, total, name)
            for index, item in enumerate(batch)
        ]
        telemetry = self._telemetry if self._telemetry_resolved else self.telemetry
        if telemetry is not None and telemetry.tracer is not None:
            return await self._traced_append(telemetry, name, accepted)
        return await self._append(name, accepted, _encode_all(accepted, name))

    async def _traced_append(
        self, telemetry: Telemetry, name: str, events: list[Event]
    ) -> list[str]:
        """Append under a ``send`` span whose context becomes the creation context of the
        events that have none."""
        span = telemetry.send_span(name, events)
        try:
            try:
                bodies = telemetry.stamped_bodies(events, span)
            except InvalidEventError:
                bodies = None  # encoded again below, one by one, to say which one is wrong
            if bodies is None:
                bodies = _encode_all(events, name)
            ids = await self._append(name, events, bodies)
        except BaseException as exc:
            telemetry.end(span, None, exc)
            raise
        span.end()
        return ids

    def instrument(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Trace and measure with these OpenTelemetry providers rather than the global ones
        (tests with an in-memory exporter, or an application that keeps several). Call it
        before ``start()``.

        Example::

            from opentelemetry.sdk.trace import TracerProvider

            bridge.instrument(tracer_provider=TracerProvider())
        """
        if self._worker is not None:
            raise RuntimeStateError("instrument() must be called before start()")
        if tracer_provider is None and meter_provider is None:
            raise ConfigurationError(
                "instrument() needs a tracer_provider, a meter_provider or both"
            )
        from .telemetry._otel import Telemetry

        self._telemetry = Telemetry(tracer_provider, meter_provider, group=self.settings.group)
        self._telemetry_resolved = True

    @property
    def telemetry(self) -> Telemetry | None:
        """The OpenTelemetry tracer and instruments the bridge uses (``None``: neither the
        application nor the settings asked for telemetry). Decided at the first publish or
        start, from ``settings.telemetry`` and the global providers set by then."""
        if not self._telemetry_resolved:
            self._telemetry = resolve_telemetry(self.settings.telemetry, group=self.settings.group)
            self._telemetry_resolved = True
        return self._telemetry

    async def _append(self, name: str, accepted: list[Event], bodies: list[bytes]) -> list[str]:
        """Append validated events, encoded as ``bodies``, to the declared bus ``name``."""
        if not bodies:
            return []
        store = await self._opened_store()
        # A handler's reply never waits for room its own delivery would have to free.
        positions = await store.append(name, bodies, block=not DELIVERING.get())
        highest = self._published.setdefault(name, {})
        # Offsets grow within a partition: the last position of each partition is its highest.
        for partition, offset in dict(positions).items():
            if offset > highest.get(partition, -1):
                highest[partition] = offset
        for observer in self._publish_observers:
            observer(name, accepted)
        telemetry = self._telemetry
        if telemetry is not None and telemetry.metered:
            telemetry.sent.add(len(bodies), _sent_attributes(name))
        return [event.id for event in accepted]

    async def _opened_store(self) -> Store:
        if self._store is not None:
            return self._store
        if self._store_open is None:
            self._store_open = asyncio.Lock()
        async with self._store_open:
            if self._store is None:
                store: Store = self._container.store()
                await store.open()
                try:
                    await apply_retention(self, store)
                except BaseException:
                    await store.close()  # not kept: the next call opens it again
                    raise
                self._store = store
        return self._store

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the push runtime runs."""
        return self._worker is not None

    async def start(self) -> None:
        """Open the store and start the push runtime: a listener per bus that has rules."""
        if self._worker is not None:
            raise RuntimeStateError("the bridge is already running")
        self._check_reply_buses()
        for dead_letter in self.dead_letter_buses():
            self.bus(dead_letter)  # a dead-letter bus needs no declaration of its own
        store = await self._opened_store()
        await apply_retention(self, store)  # buses declared since the store was opened
        specs = [self._bus_spec(bus) for bus in self._buses.values()]
        telemetry = self.telemetry
        with (
            self._container.observers.override(providers.Object(tuple(self._observers))),
            self._container.telemetry.override(providers.Object(telemetry)),
        ):
            worker: Worker = self._container.worker(store=store, buses=specs, publish=self.publish)
        await worker.start()
        self._worker = worker
        read = [spec.name for spec in specs if spec.rules]
        logger.info(
            "eventbridge: worker %s started on %s, group %r, reading %s",
            self.settings.worker_name,
            getattr(store, "location", store.url),
            self.settings.group,
            ", ".join(repr(name) for name in read) or "no bus (no rule has a target)",
        )

    def _check_reply_buses(self) -> None:
        for bus in self._buses.values():
            for rule in bus.rules.values():
                for target in rule.targets.values():
                    if target.reply_to is not None and target.reply_to not in self._buses:
                        raise UnknownBusError(
                            f"target {target.full_name!r} replies to bus {target.reply_to!r}, "
                            f"which is not declared; declare it with "
                            f"bridge.bus({target.reply_to!r})"
                        )
                    forward = getattr(target.sink, "bus", None)
                    if getattr(target.sink, "local", False) and forward not in self._buses:
                        raise UnknownBusError(
                            f"target {target.full_name!r} forwards to bus {forward!r}, which "
                            f"is not declared; declare it with bridge.bus({forward!r})"
                        )

    def delivery_policy(self, target: Target) -> DeliveryPolicy:
        """The delivery policy a target runs with: its own options, else its rule's, its
        bus's, then the bridge's settings (``EVENTBRIDGE_DELIVERY__*``)."""
        defaults = self.settings.delivery
        resolved: dict[str, Any] = {
            "retry": defaults.retry_policy(),
            "dead_letter": defaults.dead_letter,
            "tolerance": defaults.tolerance,
        }
        rule = target.rule
        for level in (rule.bus.delivery, rule.delivery, target.delivery):
            resolved.update(level)
        return DeliveryPolicy(**resolved)

    def targets(self) -> list[Target]:
        """Every declared target, bus by bus, rule by rule."""
        return [
            target
            for bus in self._buses.values()
            for rule in bus.rules.values()
            for target in rule.targets.values()
        ]

    def find_target(self, name: str) -> Target:
        """The target ``name`` names: a target name, ``rule/target`` or ``bus/rule/target``.

        Raises :class:`LookupError` when it names none or several.
        """
        targets = self.targets()
        found = [t for t in targets if t.full_name == name or t.full_name.endswith("/" + name)]
        if len(found) == 1:
            return found[0]
        if not found:
            declared = [t.full_name for t in targets]
            raise LookupError(f"no target {name!r}; declared targets: {declared}")
        names = [t.full_name for t in found]
        raise LookupError(f"{name!r} names several targets ({names}); use bus/rule/target")

    def dead_letter_buses(self) -> list[str]:
        """The buses that targets of this bridge dead-letter to, in declaration order."""
        names = [self.delivery_policy(t).dead_letter for t in self.targets()]
        default = self.settings.delivery.dead_letter
        return list(
            dict.fromkeys([n for n in names if n is not None] or ([default] if default else []))
        )

    @property
    def clock(self) -> Clock:
        """The runtime's clock: due times of retries, ages of events (tests replace it)."""
        clock: Clock = self._container.clock()
        return clock

    @property
    def dead_letters(self) -> DeadLetters:
        """List, inspect, replay and purge dead letters.

        Example::

            for letter in await bridge.dead_letters.list():
                print(letter.runner, letter.reason, letter.error)
            await bridge.dead_letters.replay(target="orders/paid/charge")
        """
        return DeadLetters(self)

    async def status(self) -> BridgeStatus:
        """Where every bus and target stands: appended, committed, pending, retries waiting,
        dead letters, paused targets, and what each runner did since the start.

        Example::

            status = await bridge.status()
            for target in status.targets:
                print(target.name, target.delayed, target.paused)
        """
        return await collect_status(self, await self._opened_store(), self._worker)

    def replay(
        self,
        bus: str,
        start: datetime | float,
        end: datetime | float,
        *,
        rules: Sequence[str] | None = None,
        name: str | None = None,
        on_progress: Callable[[ReplayProgress], None] | None = None,
        dry_run: bool = False,
    ) -> Replay:
        """Deliver again the archived events of ``bus`` appended from ``start`` (included) to
        ``end`` (excluded), to the targets of ``rules`` (names of the bus's rules; all when
        ``None``) whose pattern matches, each event marked with the extension attribute
        ``replayname`` = ``name``. Returns a :class:`Replay` at once: await it for the final
        :class:`ReplayProgress`, read ``progress``, or ``cancel()`` it; ``on_progress`` is
        called after each page. ``dry_run`` counts what would be queued and queues nothing.

        The events are read without a consumer group (no group's position moves) and queued
        once per target through the delay queue, where retries and dead letters apply; the
        running worker delivers them (or the next one to start). Times are aware datetimes or
        Unix seconds; the window is by the time the store appended each event (see
        ``docs/delivery.md``). Only what the bus still keeps can be replayed: declare the bus
        with a ``retention``.

        Example::

            replay = bridge.replay("orders", datetime(2026, 5, 1, tzinfo=UTC),
                                   datetime(2026, 5, 2, tzinfo=UTC), rules=["paid"])
            progress = await replay
            print(progress.state, progress.read, progress.enqueued)
        """
        return start_replay(
            self,
            bus,
            start,
            end,
            rules=rules,
            name=name,
            on_progress=on_progress,
            dry_run=dry_run,
        )

    def _wake_delays(self) -> None:
        """Make the running worker look at the delay queue now (a replay was scheduled)."""
        if self._worker is not None:
            self._worker.delays.wake()

    def resume(self, target: str) -> bool:
        """Resume a target paused under tolerance ``"none"``; return whether it was paused.

        ``target`` is a target name, ``rule/target`` or ``bus/rule/target``.
        """
        name = self.find_target(target).full_name
        worker = self._worker
        if worker is None:
            raise RuntimeStateError("resume() needs a running bridge; a restart resumes anyway")
        return worker.runners[name].resume()

    def _bus_spec(self, bus: Bus) -> BusSpec:
        function_sink = self._container.function_sink()
        rules = []
        for rule in bus.rules.values():
            targets = []
            for target in rule.targets.values():
                sink = target.sink
                if sink is None:
                    assert target.handler is not None
                    sink = function_sink(
                        target.handler, reply_to=target.reply_to, signature=target.signature
                    )
                targets.append(
                    TargetSpec(
                        target.name,
                        sink,
                        target.concurrency,
                        target.transform,
                        self.delivery_policy(target),
                        target.queue_size,
                        target.rate_limit,
                    )
                )
            if targets:
                rules.append(RuleSpec(rule.name, rule.pattern, tuple(targets)))
        return BusSpec(bus.name, tuple(rules))

    async def stop(self, timeout: float | None = None) -> bool:
        """Drain in-flight deliveries within ``timeout`` seconds, commit, and close the store.

        Events published through this bridge are delivered before the runtime stops, within the
        deadline. Returns whether everything drained in time; what did not is delivered again
        on the next start.
        """
        if self._stopping is not None:
            # A stop is under way (a signal and an exiting `async with`, say): share its end
            # rather than close the store beneath it.
            return await asyncio.shield(self._stopping)
        self._stopping = asyncio.ensure_future(self._stop(timeout))
        try:
            return await asyncio.shield(self._stopping)
        finally:
            if self._stopping.done():
                self._stopping = None

    async def _stop(self, timeout: float | None) -> bool:
        if timeout is None:
            timeout = self.settings.runtime.stop_timeout
        worker, self._worker = self._worker, None
        drained = True
        if worker is not None:
            drained = await worker.stop(timeout, functools.partial(self._settle, worker))
            logger.info(
                "eventbridge: worker %s stopped%s",
                self.settings.worker_name,
                "" if drained else " before everything drained; the rest is redelivered later",
            )
        if self._telemetry is not None:
            await self._telemetry.flush()
        # The store object is kept (a restart reopens it); only its connections close.
        for store in [*self._retired_stores, *([self._store] if self._store else [])]:
            await store.close()
        self._retired_stores.clear()
        self._store = None
        self._store_open = None  # an asyncio lock belongs to one event loop
        # Positions belong to the store they were appended to; the next run may use another.
        self._published.clear()
        return drained

    async def wait_idle(self, timeout: float | None = None, *, retries: bool = False) -> None:
        """Wait until every event published through this bridge so far has been processed:
        delivered to every matching target, dead-lettered, or waiting for a retry that is not
        due yet. A slow target's backlog in the store is waited for, as are retries due now and
        the events that handlers publish meanwhile (replies, dead letters). With
        ``retries=True`` the wait lasts until no retry of a running, unpaused target is left in
        the store, however far off it is due, so give a ``timeout``.

        Example::

            await bridge.publish("orders", event)
            await bridge.wait_idle(60, retries=True)
        """
        worker = self._worker
        if worker is None:
            raise RuntimeStateError("wait_idle() needs a running bridge; call start() first")
        async with asyncio.timeout(timeout):
            while True:
                await self._settle(worker)
                await worker.wait_delays_settled(due_only=not retries)
                if self.idle:
                    return

    def observe(
        self,
        *,
        deliveries: DeliveryObserver | None = None,
        publishes: Callable[[str, list[Event]], None] | None = None,
    ) -> contextlib.AbstractContextManager[None]:
        """Call ``deliveries(delivery, error)`` after every delivery attempt and
        ``publishes(bus, events)`` after every publish, while the returned context lasts.

        Delivery observers are taken when the runtime starts: enter the block before it.
        """
        return _Observing(self, deliveries, publishes)

    @property
    def idle(self) -> bool:
        """Whether everything published through this bridge is processed and no target has
        work queued (retries due later may still wait in the store)."""
        worker = self._worker
        if worker is None:
            return True
        for bus, offsets in self._published.items():
            pipeline = worker.pipelines.get(bus)
            if pipeline is not None and not all(
                pipeline.tracker.passed(partition, offset) for partition, offset in offsets.items()
            ):
                return False
        return all(runner.idle for runner in worker.runners.values())

    async def wait_delays_settled(self) -> None:
        """Wait until every target is idle and no retry or backlog of a running, unpaused
        target is due by the runtime's clock (the test kit moves that clock)."""
        worker = self._worker
        if worker is None:
            raise RuntimeStateError("the bridge is not running; call start() first")
        await worker.wait_delays_settled()

    async def next_due(self) -> float | None:
        """When the next retry or backlog entry of a running, unpaused target is due (clock
        time), or ``None`` when none waits."""
        worker = self._worker
        if worker is None:
            return None
        runners = worker.runners
        stats = await worker.store.delayed(self.settings.group)
        due = [
            entry.next_due
            for key, entry in stats.items()
            if key in runners and runners[key].paused is None
        ]
        return min(due, default=None)

    def progress(self) -> str:
        """Where each bus this bridge published to stands: for a timed-out wait's message."""
        worker = self._worker
        parts = []
        for bus, offsets in self._published.items():
            pipeline = worker.pipelines.get(bus) if worker is not None else None
            if pipeline is None:
                parts.append(f"bus {bus!r}: not read by this worker (no rule with a target)")
                continue
            done = pipeline.tracker.watermarks()
            parts.append(
                f"bus {bus!r}: published up to {dict(offsets)}, finished up to {done}, "
                f"{pipeline.tracker.in_flight} deliveries in flight"
            )
        return "; ".join(parts) or "nothing published through this bridge"

    async def _settle(self, worker: Worker) -> None:
        while True:
            published = {bus: dict(offsets) for bus, offsets in self._published.items()}
            await worker.wait_processed(published)
            if published == self._published:
                return

    async def __aenter__(self) -> EventBridge:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def run(self) -> bool:
        """Run the push runtime until SIGINT or SIGTERM, then stop gracefully.

        Returns whether the stop drained everything in time (see :meth:`stop`), so that a
        script can exit with a status a supervisor understands::

            raise SystemExit(0 if bridge.run() else 1)
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.serve())
        raise RuntimeStateError(
            "run() starts its own event loop and cannot be called inside a running one; "
            "use 'await bridge.serve()' there"
        )

    async def serve(self) -> bool:
        """Like :meth:`run`, inside a running event loop: serve until SIGINT or SIGTERM."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await self.start()
            try:
                await stopping.wait()
                logger.info("eventbridge: stop requested by a signal; draining")
            finally:
                drained = await self.stop()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return drained

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EventBridge(store={self.settings.store!r}, buses={list(self._buses)}, {state})"


class _Observing(contextlib.AbstractContextManager[None]):
    def __init__(
        self,
        bridge: EventBridge,
        deliveries: DeliveryObserver | None,
        publishes: Callable[[str, list[Event]], None] | None,
    ) -> None:
        self._bridge = bridge
        self._deliveries = deliveries
        self._publishes = publishes
        if deliveries is not None:
            bridge._observers.append(deliveries)
        if publishes is not None:
            bridge._publish_observers.append(publishes)

    def __exit__(self, *exc: object) -> None:
        if self._deliveries is not None:
            self._bridge._observers.remove(self._deliveries)
        if self._publishes is not None:
            self._bridge._publish_observers.remove(self._publishes)


class _Overrides(contextlib.AbstractContextManager[None]):
    def __init__(self, contexts: list[Any], bridge: EventBridge, replaces_store: bool) -> None:
        self._contexts = contexts
        self._bridge = bridge
        self._replaces_store = replaces_store

    def __exit__(self, *exc: object) -> None:
        if self._bridge.running:
            raise RuntimeStateError(
                "the override block ends while the bridge still runs on the overridden "
                "components; stop the bridge inside the block"
            )
        for context in reversed(self._contexts):
            context.__exit__(None, None, None)
        if self._replaces_store:
            self._bridge._forget_store()


def _as_event(item: object, index: int, total: int, bus: str) -> Event:
    where = f"publish to bus {bus!r}" + (f", event #{index}" if total > 1 else "")
    if isinstance(item, Event):
        return item
    if isinstance(item, Mapping):
        # Like Event(...), a published mapping needs only type and source; the rest defaults.
        form = {"specversion": "1.0", "id": new_event_id(), **item}
        try:
            event = Event.from_dict(form)
        except InvalidEventError as exc:
            raise InvalidEventError(f"{where}: {exc}") from None
        if event.time is None and "time" not in item:
            event.time = datetime.now(UTC)
        return event
    raise InvalidEventError(f"{where}: expected an Event or a mapping, got {type(item).__name__}")


def _encode(event: Event, index: int, total: int, bus: str) -> bytes:
    try:
        return event.to_json()
    except InvalidEventError as exc:
        where = f"publish to bus {bus!r}" + (f", event #{index}" if total > 1 else "")
        raise InvalidEventError(f"{where}: {exc}") from None
