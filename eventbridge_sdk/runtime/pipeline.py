"""The pipeline of one bus: listener → bounded buffer → dispatcher → runners, and the committer.

One listener per bus per worker, shared by every rule of the bus: the bus is read once, whatever
the number of rules. The buffer between the listener and the dispatcher is bounded; when it is
full the listener stops reading (back pressure) — it never drops. The dispatcher matches each
event against the bus's rule index once and queues it to the runner of every target of every
matching rule. The committer commits the low watermark whenever it moves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..patterns import Pattern, RuleIndex
from ..stores.base import Record, Store
from .offsets import OffsetTracker
from .runner import Runner

__all__ = ["BusPipeline", "PipelineOptions"]

logger = logging.getLogger("eventbridge_sdk")


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """How one bus pipeline reads and buffers."""

    group: str
    buffer_size: int = 10_000
    fetch_batch: int = 500
    poll_timeout: float = 1.0


@dataclass(slots=True)
class _Route:
    rule: str
    runners: list[Runner] = field(default_factory=list)


class BusPipeline:
    """Reads one bus and feeds the runners of its rules."""

    def __init__(
        self,
        bus: str,
        store: Store,
        options: PipelineOptions,
        rules: Sequence[tuple[str, Pattern, Sequence[Runner]]],
        tracker: OffsetTracker,
    ) -> None:
        self.bus = bus
        self.store = store
        self.options = options
        self.tracker = tracker
        self.index: RuleIndex[str] = RuleIndex()
        self.routes: dict[str, _Route] = {}
        for rule, pattern, runners in rules:
            self.index.add(rule, pattern)
            self.routes[rule] = _Route(rule, list(runners))
        slots = max(1, options.buffer_size // max(1, options.fetch_batch))
        self.buffer: asyncio.Queue[Sequence[Record] | None] = asyncio.Queue(slots)
        self._listener: asyncio.Task[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._committer: asyncio.Task[None] | None = None
        self._committed: dict[int, int] = {}
        self.dispatched = 0
        self.undecodable = 0

    @property
    def runners(self) -> list[Runner]:
        return [runner for route in self.routes.values() for runner in route.runners]

    async def start(self) -> None:
        """Seed the watermark from the committed offsets and start the three loops."""
        self.tracker.seed(await self.store.committed(self.bus, self.options.group))
        self._committed = dict(self.tracker.watermarks())
        name = f"eventbridge:{self.bus}"
        self._listener = _supervised(self._listen(), f"{name}:listener")
        self._dispatcher = _supervised(self._dispatch(), f"{name}:dispatcher")
        self._committer = _supervised(self._commit_loop(), f"{name}:committer")

    async def _listen(self) -> None:
        store, bus, options = self.store, self.bus, self.options
        await store.rewind(bus, options.group)
        while True:
            try:
                records = await store.fetch(
                    bus, options.group, max_count=options.fetch_batch, timeout=options.poll_timeout
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reading bus %r failed; retrying in 1 s", bus)
                await asyncio.sleep(1.0)
                await store.rewind(bus, options.group)
                continue
            if records:
                await self.buffer.put(records)

    async def _dispatch(self) -> None:
        buffer, index, routes, tracker = self.buffer, self.index, self.routes, self.tracker
        loads = orjson.loads
        while True:
            records = await buffer.get()
            if records is None:
                return
            for partition, offset, body in records:
                try:
                    event: dict[str, Any] = loads(body)
                    matched = index.match(event)
                except Exception as exc:
                    self._skip(partition, offset, exc)
                    continue
                if not matched:
                    tracker.track(partition, offset, 0)
                    continue
                runners = [r for rule in matched for r in routes[rule].runners]
                tracker.track(partition, offset, len(runners))
                for runner in runners:
                    await runner.submit(partition, offset, event)
            self.dispatched += len(records)

    def _skip(self, partition: int, offset: int, error: Exception) -> None:
        # Only bytes appended by something other than this library end up here; keeping them
        # would block the watermark forever, so they are logged and passed over.
        self.undecodable += 1
        logger.error(
            "bus %r: the record at partition %d offset %d is not an event (%s); skipped",
            self.bus,
            partition,
            offset,
            error,
        )
        self.tracker.track(partition, offset, 0)

    async def _commit_loop(self) -> None:
        changed = self.tracker.changed
        while True:
            await changed.wait()
            changed.clear()
            try:
                await self.commit()
            except Exception:
                logger.exception("committing bus %r failed; retrying in 1 s", self.bus)
                await asyncio.sleep(1.0)
                changed.set()

    async def commit(self) -> None:
        """Commit the watermarks that moved since the last commit."""
        moved = {
            partition: offset
            for partition, offset in self.tracker.watermarks().items()
            if self._committed.get(partition, -1) < offset
        }
        if not moved:
            return
        for runner in self.runners:
            await runner.sink.pre_commit()
        await self.store.commit(self.bus, self.options.group, moved)
        self._committed.update(moved)

    async def stop_reading(self) -> None:
        """Stop the listener; events already buffered are dispatched."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await self.buffer.put(None)

    async def drain(self) -> None:
        """Dispatch what is buffered and wait until the runners finished it."""
        if self._dispatcher is not None:
            await self._dispatcher
            self._dispatcher = None
        for runner in self.runners:
            await runner.drain()

    async def close(self) -> None:
        """Cancel what is still running and make the last commit."""
        tasks = [t for t in (self._listener, self._dispatcher, self._committer) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._listener = self._dispatcher = self._committer = None
        for runner in self.runners:
            await runner.stop()
        try:
            await self.commit()
        except Exception:
            logger.exception(
                "the final commit of bus %r failed; events may be redelivered", self.bus
            )


def _supervised(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Run a pipeline loop as a task whose unexpected death is logged, not silent."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_log_death)
    return task


def _log_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "%s stopped on an unexpected error; the bus is no longer read",
            task.get_name(),
            exc_info=task.exception(),
        )
