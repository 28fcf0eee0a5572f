"""The bus target: matched (and transformed) events forwarded to another bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .._errors import ConfigurationError, DeliveryError
from .._names import check_name
from .base import BatchError, Delivery, SinkContext

__all__ = ["BusTarget"]

_PERMANENT = frozenset({"InvalidEvent", "EventTooLarge"})


class _Publisher(Protocol):
    async def put_events(self, bus: str, events: Sequence[Any]) -> Any: ...


class BusTarget:
    """Forward matched events to another bus: of this bridge, or of another application
    through its gateway (pass an :class:`~eventbridge_sdk.AsyncEventBridgeClient`).

    The forwarded event keeps its id, source, type and extensions; a target's transform
    replaces its data, as for any target. The append is durable before the delivery counts as
    done, so forwarding is at-least-once like every other delivery.

    Example::

        audit = bridge.bus("audit")
        orders.rule("all").target(BusTarget("audit"))

        remote = AsyncEventBridgeClient("https://events.example.com/eventbridge", api_key=key)
        orders.rule("paid", pattern={"type": ["order.paid"]}).target(
            BusTarget("billing", client=remote)
        )
    """

    max_batch = 64

    def __init__(self, bus: str, *, client: _Publisher | None = None) -> None:
        check_name("bus", bus, "BusTarget")
        if client is not None and not callable(getattr(client, "put_events", None)):
            raise ConfigurationError(
                f"BusTarget({bus!r}): client must be an AsyncEventBridgeClient (something with "
                f"an async put_events()), got {client!r}"
            )
        self.bus = bus
        self.client = client
        self.name = f"bus-{bus}"[:127]
        self._context: SinkContext | None = None

    @property
    def local(self) -> bool:
        """Whether the events go to a bus of this bridge (not through a client)."""
        return self.client is None

    def __repr__(self) -> str:
        where = "" if self.client is None else f", client={self.client!r}"
        return f"BusTarget({self.bus!r}{where})"

    async def start(self, context: SinkContext) -> None:
        self._context = context

    async def put(self, batch: Sequence[Delivery]) -> None:
        events = [delivery.event for delivery in batch]
        if self.client is None:
            context = self._context
            if context is None:
                raise DeliveryError(f"{self!r} is not started")
            await context.publish(self.bus, events)
            return
        result = await self.client.put_events(self.bus, events)
        if len(result.entries) != len(events):
            # An entry per event, in order: without it, an event left unanswered would count as
            # delivered. Sent again whole (at-least-once).
            raise DeliveryError(
                f"forwarding to bus {self.bus!r}: the client answered {len(result.entries)} "
                f"entries for {len(events)} events"
            )
        failures: dict[int, BaseException] = {}
        for index, entry in enumerate(result.entries):
            if entry.error_code is not None:
                error = DeliveryError(
                    f"forwarding to bus {self.bus!r} failed: {entry.error_code}: "
                    f"{entry.error_message}"
                )
                error.retryable = entry.error_code not in _PERMANENT
                failures[index] = error
        if failures:
            raise BatchError(failures)

    async def flush(self) -> None:
        return None

    async def pre_commit(self) -> None:
        return None

    async def stop(self) -> None:
        return None
