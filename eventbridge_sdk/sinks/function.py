"""The function sink: a Python handler, sync or async, as a target."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from .._event import Event
from .base import Delivery, SinkContext

__all__ = ["FunctionSink"]


class FunctionSink:
    """Calls a handler with each delivered event.

    An ``async def`` handler is awaited on the event loop; a plain function runs in the runtime's
    bounded thread pool, so it may block without stalling other targets.

    Example::

        sink = FunctionSink(lambda event: print(event.type))
    """

    max_batch = 1

    def __init__(self, handler: Callable[..., Any]) -> None:
        self.handler = handler
        self.is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004 - async callable objects
        )
        self._context: SinkContext | None = None

    def __repr__(self) -> str:
        name = getattr(self.handler, "__qualname__", repr(self.handler))
        return f"FunctionSink({name})"

    async def start(self, context: SinkContext) -> None:
        self._context = context

    async def put(self, batch: Sequence[Delivery]) -> None:
        for delivery in batch:
            await self.call(delivery.event)

    async def call(self, event: Event) -> Any:
        """Run the handler for one event and return what it returned."""
        if self.is_async:
            return await self.handler(event)
        context = self._context
        if context is None:
            return await asyncio.to_thread(self.handler, event)
        return await asyncio.get_running_loop().run_in_executor(
            context.executor, functools.partial(self.handler, event)
        )

    async def flush(self) -> None:
        return None

    async def pre_commit(self) -> None:
        return None

    async def stop(self) -> None:
        self._context = None
