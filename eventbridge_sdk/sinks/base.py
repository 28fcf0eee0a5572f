"""The sink SPI, shaped after the OpenMessaging Connect API's ``SinkTask``.

The runtime drives a sink through ``start`` → ``put`` (many times, concurrently up to the
target's concurrency) → ``flush`` → ``stop``, and calls ``pre_commit`` before it commits the bus
offset past events the sink took. A ``put`` that returns means every delivery of the batch is done;
a ``put`` that raises means the batch failed (``BatchError`` names the deliveries that failed when
only some did).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._event import Event

__all__ = ["BatchError", "Delivery", "Sink", "SinkContext"]


@dataclass(slots=True)
class Delivery:
    """One event on its way to one target.

    ``event`` is the event as the target sees it (after the target's transform); ``bus``, ``rule``
    and ``target`` name the runner; ``partition`` and ``offset`` locate the event in its bus.
    """

    event: Event
    bus: str
    rule: str
    target: str
    partition: int = 0
    offset: int = 0
    attempt: int = 1

    @property
    def runner(self) -> str:
        """The runner's full name, ``bus/rule/target``."""
        return f"{self.bus}/{self.rule}/{self.target}"


@dataclass(slots=True)
class SinkContext:
    """What the runtime hands a sink when it starts it."""

    bus: str
    rule: str
    target: str
    executor: Executor
    """The bounded thread pool where synchronous user code runs."""
    publish: Callable[[str, Sequence[Event]], Awaitable[Any]]
    """Append events to a bus of this bridge (replies, forwarding)."""
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("eventbridge_sdk"))
    concurrency: int = 1
    """How many ``put`` calls the runtime may have in flight at once for this target (a sink
    that holds connections sizes its pool by it)."""
    telemetry: Any = None
    """The bridge's OpenTelemetry spans and instruments, ``None`` when off (a sink that makes
    requests puts the current trace context in them)."""

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking callable in the bounded thread pool and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


class BatchError(Exception):
    """Raised by ``Sink.put`` when some deliveries of a batch failed and others succeeded.

    ``failures`` maps the index of each failed delivery in the batch to its exception.
    """

    def __init__(self, failures: dict[int, BaseException]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} deliveries of the batch failed")


@runtime_checkable
class Sink(Protocol):
    """Where a target's events go: a Python handler, an HTTP endpoint, another bus.

    Example::

        class PrintSink:
            max_batch = 100

            async def start(self, context: SinkContext) -> None: ...
            async def put(self, batch: Sequence[Delivery]) -> None:
                for delivery in batch:
                    print(delivery.event)
            async def flush(self) -> None: ...
            async def pre_commit(self) -> None: ...
            async def stop(self) -> None: ...
    """

    max_batch: int
    """How many deliveries one ``put`` may carry (1 for handlers that take single events)."""

    async def start(self, context: SinkContext) -> None:
        """Prepare to take deliveries (open connections, look up the executor)."""

    async def put(self, batch: Sequence[Delivery]) -> None:
        """Deliver a batch; return when done, raise when it failed."""

    async def flush(self) -> None:
        """Push out anything buffered inside the sink."""

    async def pre_commit(self) -> None:
        """Make everything ``put`` accepted so far permanent before the offset moves past it."""

    async def stop(self) -> None:
        """Release resources; no ``put`` follows."""
