"""The test kit: run the real pipeline on a memory store and see what each target received.

Nothing is patched: the rules, patterns, runners and handlers are the ones the application
declared, and they run exactly as in production, only on a fresh ``memory://`` store.

Retries run on a :class:`ManualClock`: a test moves time forward with :meth:`Harness.advance`
(or runs every retry with :meth:`Harness.run_retries`) instead of waiting for it.

Example::

    from eventbridge_sdk.testing import run_bridge

    async def test_big_orders_are_notified():
        async with run_bridge(app.bridge) as harness:
            await harness.publish("orders", Event(type="order.created", source="/shop",
                                                  data={"total": 250}))
            assert [e.data for e in harness.received("notify")] == [{"total": 250}]
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ._app import EventBridge
from ._dead_letters import DeadLetterEntry
from ._event import Event
from ._policies import Drop
from .runtime.delays import Clock
from .sinks.base import Delivery
from .stores.base import Store
from .stores.memory import MemoryStore

__all__ = ["CapturedDelivery", "Harness", "ManualClock", "run_bridge"]


class ManualClock(Clock):
    """A clock that only moves when told to: retry delays and event ages without waiting.

    Example::

        clock = ManualClock()
        bridge.override(clock=clock)
        ...
        await clock.advance(60)  # every retry due within the minute is now due
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Event]] = []

    def time(self) -> float:
        return self.now

    async def sleep_until(self, when: float, wake: asyncio.Event) -> None:
        if when <= self.now or wake.is_set():
            return
        entry = (when, wake)
        self._sleepers.append(entry)
        try:
            await wake.wait()
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now + seconds, asyncio.Event())

    async def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose time has come."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.now += seconds
        for when, wake in list(self._sleepers):
            if when <= self.now:
                wake.set()
        await asyncio.sleep(0)

    @property
    def next_wakeup(self) -> float | None:
        """The earliest time a sleeper waits for, if any."""
        return min((when for when, _ in self._sleepers), default=None)


@dataclass(frozen=True, slots=True)
class CapturedDelivery:
    """One delivery attempt the runtime made: where, what, and the error if it failed."""

    bus: str
    rule: str
    target: str
    event: Event
    error: BaseException | None
    attempt: int = 1

    @property
    def ok(self) -> bool:
        """Whether the target took the event."""
        return self.error is None

    @property
    def dropped(self) -> bool:
        """Whether the handler raised :class:`~eventbridge_sdk.Drop`."""
        return isinstance(self.error, Drop)

    @property
    def runner(self) -> str:
        """``bus/rule/target``."""
        return f"{self.bus}/{self.rule}/{self.target}"


class Harness:
    """A running bridge plus everything its targets were handed."""

    def __init__(self, bridge: EventBridge, *, timeout: float, clock: ManualClock) -> None:
        self.bridge = bridge
        self.timeout = timeout
        self.clock = clock
        """The runtime's clock; move it with :meth:`advance`."""
        self.deliveries: list[CapturedDelivery] = []
        self.published: dict[str, list[Event]] = {}
        """Every event published through the bridge, by bus: the test's own and handlers'
        replies, whether or not a rule reads that bus."""

    def _observe(self, delivery: Delivery, error: BaseException | None) -> None:
        self.deliveries.append(
            CapturedDelivery(
                delivery.bus, delivery.rule, delivery.target, delivery.event, error,
                delivery.attempt,
            )
        )  # fmt: skip

    async def publish(
        self,
        bus: str,
        events: Event | Mapping[str, Any] | Sequence[Any],
        *,
        wait: bool = True,
    ) -> list[str]:
        """Publish, then (by default) wait until every target is done with the events."""
        ids = await self.bridge.publish(bus, events)
        if wait:
            await self.wait_idle()
        return ids

    async def wait_idle(self) -> None:
        """Wait until every event published so far was processed by every matching target,
        and every retry due by the clock's time ran (retries due later wait for
        :meth:`advance`).

        Raises ``TimeoutError`` after the harness's ``timeout``, saying where each bus stands.
        """
        try:
            await self.bridge.wait_idle(self.timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the pipeline did not finish within {self.timeout} s: {self.bridge.progress()}"
            ) from None

    async def advance(self, seconds: float) -> None:
        """Move the clock forward ``seconds`` and wait until what came due has run."""
        await self.clock.advance(seconds)
        await self.wait_idle()

    async def run_retries(self, *, max_steps: int = 1000) -> None:
        """Move the clock from one due retry to the next until none is left (paused targets'
        events stay where they are)."""
        await self.wait_idle()
        for _ in range(max_steps):
            due = await self.bridge.next_due()
            if due is None:
                return
            await self.advance(max(0.0, due - self.clock.time()))
        raise RuntimeError(f"retries still scheduled after {max_steps} steps of the clock")

    async def dead_letters(self, target: str | None = None) -> list[DeadLetterEntry]:
        """The dead letters kept so far (of one target or all)."""
        return [entry async for entry in self.bridge.dead_letters.iterate(target=target)]

    def received(self, target: str) -> list[Event]:
        """The events a target took successfully, in delivery order.

        ``target`` is a target name, ``rule/target`` or ``bus/rule/target``; it must name
        exactly one declared target.
        """
        runner = self.bridge.find_target(target).full_name
        return [d.event for d in self.deliveries if d.runner == runner and d.ok]

    def _observe_publish(self, bus: str, events: list[Event]) -> None:
        self.published.setdefault(bus, []).extend(events)

    def failures(self, target: str | None = None) -> list[CapturedDelivery]:
        """The failed delivery attempts (not drops), of one target or of all."""
        runner = self.bridge.find_target(target).full_name if target is not None else None
        return [
            d for d in self.deliveries if not d.ok and not d.dropped and runner in (None, d.runner)
        ]


@asynccontextmanager
async def run_bridge(
    bridge: EventBridge,
    *,
    store: Store | None = None,
    timeout: float = 10.0,
    clock: ManualClock | None = None,
) -> AsyncIterator[Harness]:
    """Start ``bridge`` on a fresh memory store (or ``store``) and capture every delivery.

    ``timeout`` bounds each wait for the pipeline to go idle, so a test that would hang fails
    with ``TimeoutError`` instead. The runtime runs on a :class:`ManualClock` (``clock``, or a
    new one): retries come due when the test moves it.
    """
    harness = Harness(bridge, timeout=timeout, clock=clock if clock is not None else ManualClock())
    with bridge.observe(deliveries=harness._observe, publishes=harness._observe_publish):
        store = store if store is not None else MemoryStore()
        with bridge.override(store=store, clock=harness.clock):
            async with bridge:
                yield harness
