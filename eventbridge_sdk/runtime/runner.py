"""A runner: one rule-and-target pair at run time, with its own queue and concurrency.

The dispatcher hands a runner the events its rule matched. The runner applies the target's
transform, builds the delivery and puts it into the sink with at most ``concurrency`` puts in
flight. A runner's queue holds what its target has not taken yet; how much a bus may have in
flight over all its runners is bounded by the dispatcher (``buffer_size``), so a slow target
lets the others run ahead up to that bound and only then holds the bus back. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .._event import Event
from ..sinks.base import BatchError, Delivery, Sink
from ..stores.base import DELIVERING
from ._tasks import supervised
from .offsets import OffsetTracker

__all__ = ["DeliveryObserver", "Runner", "TransformFn"]

logger = logging.getLogger("eventbridge_sdk")

DeliveryObserver = Callable[[Delivery, BaseException | None], None]
"""Called after every delivery attempt with the delivery and its error (``None``: success)."""

TransformFn = Callable[[dict[str, Any]], Any]
"""Turns the event's JSON form into the payload (the new ``data``) a target receives."""

_Item = tuple[int, int, dict[str, Any]]  # partition, offset, the event's JSON form


class Runner:
    """Delivers one rule's matched events to one target."""

    def __init__(
        self,
        *,
        bus: str,
        rule: str,
        target: str,
        sink: Sink,
        tracker: OffsetTracker,
        concurrency: int,
        transform: TransformFn | None = None,
        observers: list[DeliveryObserver] | None = None,
    ) -> None:
        self.bus, self.rule, self.target = bus, rule, target
        self.name = f"{bus}/{rule}/{target}"
        self.sink = sink
        self.tracker = tracker
        self.concurrency = concurrency
        self.transform = transform
        self.observers = observers if observers is not None else []
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the worker coroutines (the sink must already be started)."""
        self.workers = [
            supervised(self._work(), f"eventbridge-runner:{self.name}:{i}")
            for i in range(self.concurrency)
        ]

    def submit(self, partition: int, offset: int, event: dict[str, Any]) -> None:
        """Queue an event for this target; the runner owns ``event`` from now on."""
        self.queue.put_nowait((partition, offset, event))

    async def drain(self) -> None:
        """Wait until every queued event was delivered (or failed)."""
        await self.queue.join()

    async def _work(self) -> None:
        queue, max_batch = self.queue, self.sink.max_batch
        while True:
            items = [await queue.get()]
            while len(items) < max_batch and not queue.empty():
                items.append(queue.get_nowait())
            # A cancelled delivery is not finished: it stays uncommitted and is redelivered.
            await self._deliver(items)
            for partition, offset, _ in items:
                self.tracker.done(partition, offset)
                queue.task_done()

    async def _deliver(self, items: list[_Item]) -> None:
        batch: list[Delivery] = []
        for partition, offset, form in items:
            delivery = self._build(partition, offset, form)
            if delivery is not None:
                batch.append(delivery)
        if not batch:
            return
        delivering = DELIVERING.set(True)
        try:
            await self.sink.put(batch)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the runner is stopping
            # The handler's own work was cancelled: a failed delivery, not a stopping runner.
            for delivery in batch:
                self._finish(delivery, exc)
        except BatchError as exc:
            for index, delivery in enumerate(batch):
                self._finish(delivery, exc.failures.get(index))
        except Exception as exc:
            for delivery in batch:
                self._finish(delivery, exc)
        else:
            for delivery in batch:
                self._finish(delivery, None)
        finally:
            DELIVERING.reset(delivering)

    def _build(self, partition: int, offset: int, form: dict[str, Any]) -> Delivery | None:
        try:
            event = Event._from_trusted(form)
        except Exception as exc:
            logger.error(
                "bus %r: the record at partition %d offset %d is not a valid event (%s); "
                "target %s skips it",
                self.bus,
                partition,
                offset,
                exc,
                self.name,
            )
            return None
        delivery = Delivery(event, self.bus, self.rule, self.target, partition, offset)
        if self.transform is not None:
            try:
                event.data = self.transform(form)
            except Exception as exc:
                self._finish(delivery, exc, "transform failed")
                return None
        return delivery

    def _finish(
        self, delivery: Delivery, error: BaseException | None, what: str = "delivery failed"
    ) -> None:
        if error is not None:
            logger.error(
                "%s: bus=%s rule=%s target=%s event=%s: %s: %s",
                what,
                self.bus,
                self.rule,
                self.target,
                delivery.event.id,
                type(error).__name__,
                error,
                # A permanent failure (bad data, bad reply) says all in its message.
                exc_info=None if getattr(error, "retryable", True) is False else error,
                extra={
                    "eventbridge_bus": self.bus,
                    "eventbridge_rule": self.rule,
                    "eventbridge_target": self.target,
                    "eventbridge_event_id": delivery.event.id,
                },
            )
        for observer in self.observers:
            try:
                observer(delivery, error)
            except Exception:
                logger.exception("delivery observer %r failed", observer)
