"""A runner: one rule-and-target pair at run time, with its own bounded queue and concurrency.

The dispatcher hands a runner the events its rule matched. The runner applies the target's
transform, builds the delivery and puts it into the sink with at most ``concurrency`` puts in
flight. Its queue is bounded: a slow target fills its own queue, which makes the dispatcher wait,
which fills the bus buffer, which stops the listener. Nothing is dropped. Other targets keep their
own queues and workers, so one slow target does not hold back the others once it stops taking
work — only the shared buffer bounds how far they run ahead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .._event import Event
from ..sinks.base import BatchError, Delivery, Sink
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
        queue_size: int,
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
        self.queue: asyncio.Queue[_Item] = asyncio.Queue(queue_size)
        self._workers: list[asyncio.Task[None]] = []
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        """Start the worker coroutines (the sink must already be started)."""
        self._workers = [
            asyncio.create_task(self._work(), name=f"eventbridge-runner:{self.name}:{i}")
            for i in range(self.concurrency)
        ]

    async def submit(self, partition: int, offset: int, event: dict[str, Any]) -> None:
        """Queue an event for this target; waits while the queue is full (back pressure)."""
        queue = self.queue
        if queue.full():
            await queue.put((partition, offset, event))
        else:
            queue.put_nowait((partition, offset, event))

    async def drain(self) -> None:
        """Wait until every queued event was delivered (or failed)."""
        await self.queue.join()

    async def stop(self) -> None:
        """Cancel the workers; events still queued stay uncommitted and are redelivered later."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    def _build(self, partition: int, offset: int, event: dict[str, Any]) -> Delivery:
        transform = self.transform
        built = (
            Event._from_trusted(event)
            if transform is None
            else Event._from_trusted(event, transform(event))
        )
        return Delivery(built, self.bus, self.rule, self.target, partition, offset)

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
        for partition, offset, event in items:
            try:
                batch.append(self._build(partition, offset, event))
            except Exception as exc:
                self._failed_to_build(event, exc)
        if not batch:
            return
        try:
            await self.sink.put(batch)
        except asyncio.CancelledError:
            raise
        except BatchError as exc:
            for index, delivery in enumerate(batch):
                self._finish(delivery, exc.failures.get(index))
            return
        except Exception as exc:
            for delivery in batch:
                self._finish(delivery, exc)
            return
        for delivery in batch:
            self._finish(delivery, None)

    def _finish(self, delivery: Delivery, error: BaseException | None) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.failed += 1
            logger.error(
                "delivery failed: bus=%s rule=%s target=%s event=%s: %s: %s",
                self.bus,
                self.rule,
                self.target,
                delivery.event.id,
                type(error).__name__,
                error,
                exc_info=error,
                extra={
                    "eventbridge_bus": self.bus,
                    "eventbridge_rule": self.rule,
                    "eventbridge_target": self.target,
                    "eventbridge_event_id": delivery.event.id,
                },
            )
        for observer in self.observers:
            observer(delivery, error)

    def _failed_to_build(self, event: dict[str, Any], error: Exception) -> None:
        self.failed += 1
        logger.error(
            "transform failed: bus=%s rule=%s target=%s event=%s: %s: %s",
            self.bus,
            self.rule,
            self.target,
            event.get("id"),
            type(error).__name__,
            error,
            exc_info=error,
        )
