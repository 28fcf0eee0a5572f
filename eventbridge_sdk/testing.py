"""The test kit: run the real pipeline on a memory store and see what each target received.

Nothing is patched: the rules, patterns, runners and handlers are the ones the application
declared, and they run exactly as in production, only on a fresh ``memory://`` store.

Example::

    from eventbridge_sdk.testing import run_bridge

    async def test_big_orders_are_notified():
        async with run_bridge(app.bridge) as harness:
            await harness.publish("orders", Event(type="order.created", source="/shop",
                                                  data={"total": 250}))
            assert [e.data for e in harness.received("notify")] == [{"total": 250}]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ._app import EventBridge
from ._event import Event
from .sinks.base import Delivery
from .stores.base import Store
from .stores.memory import MemoryStore

__all__ = ["CapturedDelivery", "Harness", "run_bridge"]


@dataclass(frozen=True, slots=True)
class CapturedDelivery:
    """One delivery attempt the runtime made: where, what, and the error if it failed."""

    bus: str
    rule: str
    target: str
    event: Event
    error: BaseException | None

    @property
    def ok(self) -> bool:
        """Whether the target took the event."""
        return self.error is None

    @property
    def runner(self) -> str:
        """``bus/rule/target``."""
        return f"{self.bus}/{self.rule}/{self.target}"


class Harness:
    """A running bridge plus everything its targets were handed."""

    def __init__(self, bridge: EventBridge, *, timeout: float) -> None:
        self.bridge = bridge
        self.timeout = timeout
        self.deliveries: list[CapturedDelivery] = []
        self.published: dict[str, list[Event]] = {}
        """Every event published through the bridge, by bus: the test's own and handlers'
        replies, whether or not a rule reads that bus."""

    def _observe(self, delivery: Delivery, error: BaseException | None) -> None:
        self.deliveries.append(
            CapturedDelivery(delivery.bus, delivery.rule, delivery.target, delivery.event, error)
        )

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
        """Wait until every event published so far was processed by every matching target.

        Raises ``TimeoutError`` after the harness's ``timeout``, saying where each bus stands.
        """
        try:
            await self.bridge.wait_idle(self.timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the pipeline did not finish within {self.timeout} s: {self.bridge._progress()}"
            ) from None

    def received(self, target: str) -> list[Event]:
        """The events a target took successfully, in delivery order.

        ``target`` is a target name, ``rule/target`` or ``bus/rule/target``; it must name
        exactly one declared target.
        """
        runner = self._resolve(target)
        return [d.event for d in self.deliveries if d.runner == runner and d.ok]

    def _observe_publish(self, bus: str, events: list[Event]) -> None:
        self.published.setdefault(bus, []).extend(events)

    def failures(self, target: str | None = None) -> list[CapturedDelivery]:
        """The failed deliveries, of one target or of all."""
        runner = self._resolve(target) if target is not None else None
        return [d for d in self.deliveries if not d.ok and runner in (None, d.runner)]

    def _resolve(self, target: str) -> str:
        names = [
            t.full_name
            for bus in self.bridge.buses.values()
            for rule in bus.rules.values()
            for t in rule.targets.values()
        ]
        found = [n for n in names if n == target or n.endswith("/" + target)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise LookupError(f"no target {target!r}; declared targets: {names}")
        raise LookupError(f"{target!r} names several targets ({found}); use bus/rule/target")


@asynccontextmanager
async def run_bridge(
    bridge: EventBridge, *, store: Store | None = None, timeout: float = 10.0
) -> AsyncIterator[Harness]:
    """Start ``bridge`` on a fresh memory store (or ``store``) and capture every delivery.

    ``timeout`` bounds each wait for the pipeline to go idle, so a test that would hang fails
    with ``TimeoutError`` instead.
    """
    harness = Harness(bridge, timeout=timeout)
    bridge._observers.append(harness._observe)
    bridge._publish_observers.append(harness._observe_publish)
    try:
        with bridge.override(store=store if store is not None else MemoryStore()):
            async with bridge:
                yield harness
    finally:
        bridge._observers.remove(harness._observe)
        bridge._publish_observers.remove(harness._observe_publish)
