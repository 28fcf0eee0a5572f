"""The worker: one push runtime instance, composing a pipeline per bus and the delay scheduler.

A worker is given the topology (buses, their rules, each rule's targets with their sinks and
delivery policies) and a store. ``start`` starts every sink, runner and pipeline, and the
scheduler that feeds retries and spilled backlog back to the runners; ``stop`` drains within a
deadline and makes the last commit, so that a graceful stop redelivers nothing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import RuntimeStateError
from .._event import Event
from .._policies import DeliveryPolicy
from ..patterns import Pattern
from ..sinks.base import Sink, SinkContext
from ..stores.base import Store
from ..transforms import Transform
from ._tasks import supervised
from .delays import Clock, DelayScheduler
from .offsets import AckTracker, OffsetTracker
from .pipeline import BusPipeline, PipelineOptions
from .pool import DeliveryPool
from .runner import DeliveryObserver, Runner

if TYPE_CHECKING:
    from ..telemetry._otel import Telemetry

__all__ = ["BusSpec", "RuleSpec", "TargetSpec", "Worker", "WorkerOptions"]

logger = logging.getLogger("eventbridge_sdk")

PublishFn = Callable[[str, Sequence[Event]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A target as the runtime sees it: a name, a sink and how to feed it."""

    name: str
    sink: Sink
    concurrency: int | None = None
    transform: Transform | None = None
    """The target's transform: its output becomes the ``data`` the target receives."""
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    queue_size: int | None = None
    rate_limit: float | None = None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as the runtime sees it: a compiled pattern and its targets."""

    name: str
    pattern: Pattern
    targets: tuple[TargetSpec, ...]


@dataclass(frozen=True, slots=True)
class BusSpec:
    """A bus and its rules."""

    name: str
    rules: tuple[RuleSpec, ...]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """The runtime's knobs, taken from the settings."""

    pipeline: PipelineOptions = field(default_factory=lambda: PipelineOptions(group="default"))
    """How each bus is read and buffered."""
    worker_name: str = "worker"
    target_concurrency: int = 16
    target_queue_size: int = 1000
    """Events queued per target at most; more spill to the store's delay queue."""
    grace: float = 1.0
    """Seconds each clean-up step may take after stop()'s deadline passed."""
    observers: tuple[DeliveryObserver, ...] = field(default_factory=tuple)
    clock: Clock = field(default_factory=Clock)
    claim_lease: float = 300.0
    """Seconds a claimed delay-queue entry stays hidden from other claims."""
    delay_poll_interval: float = 5.0
    """Seconds between looks at the delay queue when nothing wakes the scheduler sooner."""
    gc_freeze: bool = False
    """Freeze the objects alive at start out of the collector's full passes (``gc.freeze``)."""
    telemetry: Telemetry | None = None
    """OpenTelemetry spans and instruments (``None``: none)."""
    telemetry_interval: float = 10.0
    """Seconds between looks at the store's retry queues and lag for the gauges."""


class Worker:
    """Runs the push runtime for a set of buses on one store."""

    def __init__(
        self,
        store: Store,
        buses: Iterable[BusSpec],
        *,
        options: WorkerOptions,
        executor: Executor,
        publish: PublishFn,
    ) -> None:
        self.store = store
        self.options = options
        self.executor = executor
        self.publish = publish
        self.specs = {spec.name: spec for spec in buses}
        self.pipelines: dict[str, BusPipeline] = {}
        self.delays = DelayScheduler(
            store,
            options.pipeline.group,
            options.clock,
            lease=options.claim_lease,
            poll_interval=options.delay_poll_interval,
        )
        self.pool = DeliveryPool()
        """The tasks that run every runner's deliveries."""
        self._sinks: list[Sink] = []
        self._froze = False
        self._gauges: asyncio.Task[None] | None = None
        self.running = False

    async def start(self) -> None:
        """Start sinks, runners and one pipeline per bus that has rules."""
        if self.running:
            raise RuntimeStateError("the worker is already running")
        pipeline_options = self.options.pipeline
        try:
            for bus in self.specs.values():
                if not bus.rules:
                    continue
                tracker = AckTracker() if self.store.acks else OffsetTracker()
                rules: list[tuple[str, Pattern, list[Runner]]] = []
                for rule in bus.rules:
                    runners = [
                        await self._runner(bus.name, rule.name, t, tracker) for t in rule.targets
                    ]
                    rules.append((rule.name, rule.pattern, runners))
                self.pipelines[bus.name] = BusPipeline(
                    bus.name,
                    self.store,
                    pipeline_options,
                    rules,
                    tracker,
                    self.delays,
                    telemetry=self.options.telemetry,
                )
            for pipeline in self.pipelines.values():
                for runner in pipeline.runners:
                    self.delays.add(runner)
                await pipeline.start()
            self.delays.start()
            # Everything declared and started lives as long as the worker: keeping it out of
            # the collector's full passes makes each of them scan what is in flight only
            # (a thousand rules: a fifth more throughput). An application that freezes
            # objects itself manages its collector; it is left alone.
            if self.options.gc_freeze and not gc.get_freeze_count():
                gc.freeze()
                self._froze = True
        except BaseException:
            # Undo what started: no listener of an earlier bus may outlive a failed start.
            await self.delays.stop(self.options.grace)
            for pipeline in self.pipelines.values():
                await pipeline.close(self.options.grace)
            await self.pool.cancel(self.options.grace)
            await self._stop_sinks()
            self.pipelines.clear()
            raise
        self.running = True
        telemetry = self.options.telemetry
        if telemetry is not None and telemetry.metered:
            telemetry.attach(self)
            self._gauges = supervised(self._refresh_gauges(telemetry), "eventbridge:gauges")

    async def _refresh_gauges(self, telemetry: Telemetry) -> None:
        """Keep the store's figures (retry queues, lag) fresh for the metric gauges."""
        while True:
            try:
                await telemetry.refresh(self)
            except Exception:
                logger.warning("telemetry: reading the store's queues failed", exc_info=True)
            await asyncio.sleep(self.options.telemetry_interval)

    async def _runner(
        self, bus: str, rule: str, target: TargetSpec, tracker: OffsetTracker | AckTracker
    ) -> Runner:
        concurrency = target.concurrency or self.options.target_concurrency
        context = SinkContext(
            bus=bus,
            rule=rule,
            target=target.name,
            executor=self.executor,
            publish=self.publish,
            concurrency=concurrency,
            telemetry=self.options.telemetry,
        )
        await target.sink.start(context)
        self._sinks.append(target.sink)
        return Runner(
            bus=bus,
            rule=rule,
            target=target.name,
            sink=target.sink,
            tracker=tracker,
            concurrency=concurrency,
            delays=self.delays,
            publish=self.publish,
            policy=target.policy,
            transform=target.transform,
            queue_size=target.queue_size or self.options.target_queue_size,
            rate_limit=target.rate_limit,
            observers=list(self.options.observers),
            pool=self.pool,
            telemetry=self.options.telemetry,
        )

    @property
    def runners(self) -> dict[str, Runner]:
        """Every runner of this worker by its ``bus/rule/target`` name."""
        return dict(self.delays.runners)

    async def wait_delays_settled(self, *, due_only: bool = True) -> None:
        """Wait until every runner is idle and no delay-queue entry waits for a runner that
        could take it: none that is due now (``due_only``), or none at all.

        It looks again at once, then every few milliseconds while it waits; only callers that
        wait (tests, scripts) pay for that, never the runtime.
        """
        clock, runners = self.options.clock, self.delays.runners
        # What came due is usually claimed and delivered within a few turns of the event loop;
        # a store that works in threads takes a millisecond or two. Look soon, then less often.
        pauses = iter((0.0, 0.0, 0.0005, 0.001, 0.002))
        while True:
            await self.delays.flush()
            horizon = clock.time() if due_only else float("inf")
            stats = await self.store.delayed(self.options.pipeline.group)
            waiting = [
                key
                for key, entry in stats.items()
                if entry.next_due <= horizon and key in runners and runners[key].paused is None
            ]
            if (
                not waiting
                and not self.delays.claiming
                and all(runner.idle for runner in runners.values())
            ):
                return
            self.delays.wake()
            await asyncio.sleep(next(pauses, 0.005 if due_only else 0.02))

    async def wait_processed(self, positions: Mapping[str, Mapping[int, int]]) -> None:
        """Wait until each bus's pipeline finished every event up to the given offsets.

        Buses that this worker does not read (no rules) count as finished.
        """
        for bus, offsets in positions.items():
            pipeline = self.pipelines.get(bus)
            if pipeline is None:
                continue
            for partition, offset in offsets.items():
                await pipeline.tracker.wait_passed(partition, offset)

    async def stop(
        self, timeout: float, settle: Callable[[], Awaitable[None]] | None = None
    ) -> bool:
        """Stop within ``timeout`` seconds; return whether everything drained in time.

        First ``settle`` is awaited (the bridge waits there for the events it published), then
        reading stops, buffered and queued events are delivered, the watermark is committed. What
        did not finish by the deadline stays uncommitted and is delivered again on restart.
        """
        if not self.running:
            return True
        self.running = False
        drained = True
        if self._gauges is not None:
            self._gauges.cancel()
            await asyncio.gather(self._gauges, return_exceptions=True)
            self._gauges = None
        try:
            async with asyncio.timeout(timeout):
                if settle is not None:
                    await settle()
                # Due retries not yet fed stay in the store for the next start.
                await self.delays.stop_feeding(self.options.grace)
                for pipeline in self.pipelines.values():
                    await pipeline.stop_reading()
                await asyncio.gather(*(p.drain() for p in self.pipelines.values()))
        except TimeoutError:
            drained = False
            logger.warning(
                "stop: deliveries still in flight after %.1f s were cancelled; they will be "
                "delivered again on restart",
                timeout,
            )
        grace = self.options.grace
        await self.delays.stop_feeding(grace)
        pipelines = list(self.pipelines.values())
        await asyncio.gather(*(p.cancel(grace) for p in pipelines))
        await self.pool.cancel(grace)
        await self.delays.stop_finishing(grace)
        runners = [r for p in pipelines for r in p.runners]
        await asyncio.gather(
            *(_bounded(r.sink.flush(), grace, f"flushing the sink of {r.name}") for r in runners)
        )
        await asyncio.gather(*(p.final_commit(grace) for p in pipelines))
        await self._stop_sinks()
        if self.options.telemetry is not None:
            self.options.telemetry.detach(self)  # with the final counts
        self.pipelines.clear()
        if self._froze:
            self._froze = False
            gc.unfreeze()
        return drained

    async def _stop_sinks(self) -> None:
        grace = self.options.grace
        await asyncio.gather(
            *(_bounded(sink.stop(), grace, f"stopping sink {sink!r}") for sink in self._sinks)
        )
        self._sinks.clear()


async def _bounded(step: Awaitable[None], grace: float, what: str) -> None:
    """Run one clean-up step; log, do not raise, when it fails or overruns ``grace``."""
    try:
        async with asyncio.timeout(grace):
            await step
    except TimeoutError:
        logger.warning("%s took longer than %.1f s; abandoned", what, grace)
    except Exception:
        logger.exception("%s failed", what)
