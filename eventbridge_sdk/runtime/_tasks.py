"""Tasks of the runtime whose unexpected end is logged, never silent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

__all__ = ["cancel_all", "durably", "supervised"]

logger = logging.getLogger("eventbridge_sdk")


def supervised(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Run a loop of the runtime as a task; an exception that ends it is logged."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_log_death)
    return task


def _log_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "%s stopped on an unexpected error; its work no longer progresses",
            task.get_name(),
            exc_info=task.exception(),
        )


async def cancel_all(tasks: Iterable[asyncio.Task[Any]], grace: float) -> None:
    """Cancel tasks and wait at most ``grace`` seconds for them to end.

    A task that ignores cancellation (a handler that awaits in ``finally``) is left behind
    rather than holding up a stop past its deadline.
    """
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        _, stuck = await asyncio.wait(pending, timeout=grace)
        for task in stuck:
            logger.warning(
                "%s did not end within %.1f s of being cancelled", task.get_name(), grace
            )


async def durably(what: str, step: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run a store write until it succeeds: the events it keeps must not be lost.

    Failures are logged and tried again with a growing pause (0.1 s to 5 s). A stop cancels
    the wait; what the write was for then stays unsettled and is delivered again.
    """
    pause = 0.1
    while True:
        try:
            return await step(*args)
        except Exception:
            logger.exception("%s failed; trying again in %.1f s", what, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
