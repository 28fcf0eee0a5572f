"""The delivery pool: the tasks that run every runner's deliveries.

A runner with events waiting is *ready*; the pool's tasks take ready runners in turn and
deliver a part of each one's queue. Two things make this cheaper than a task per runner waiting
on its own queue: an event for an idle target costs no wake-up of its own (a burst of events
spread over a thousand targets wakes one pool task, which goes through the ready runners one
after the other), and a target's events are delivered as a batch where they wait together.

A slow target holds back nobody else: before a pool task starts a delivery (which may wait on
the handler, the network or a rate limit) it makes sure that another task is awake for the
runners still ready, waking an idle one or starting a new one. So the pool grows to the number
of deliveries that wait at the same time, never beyond the sum of the runners' concurrency, and
its tasks stay for the next burst.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ._tasks import cancel_all, supervised

if TYPE_CHECKING:
    from .runner import Runner

__all__ = ["DELIVERING", "DeliveryPool"]

DELIVERING: ContextVar[bool] = ContextVar("eventbridge_delivering", default=False)
"""True while the runtime hands an event to a target (a handler publishing a reply, say): such an
append must not wait for room in a bounded store, since the room could only come from that very
delivery finishing."""


class DeliveryPool:
    """Runs the deliveries of the runners that have events waiting."""

    def __init__(self, name: str = "eventbridge-delivery") -> None:
        self.name = name
        self.ready: deque[Runner] = deque()
        """Runners with events waiting and room for one more delivery in flight."""
        self.tasks: list[asyncio.Task[None]] = []
        self._idle: deque[asyncio.Future[None]] = deque()
        self._on_call = 0
        """Tasks woken or started that have not yet looked at :attr:`ready`."""

    def schedule(self, runner: Runner) -> None:
        """Put ``runner`` in the ready line (the runner checked that it is not in it)."""
        runner.scheduled = True
        self.ready.append(runner)
        if not self._on_call:
            self._call()

    def _call(self) -> None:
        """Make sure one task will look at the ready line: wake an idle one, or start one."""
        self._on_call += 1
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.tasks.append(supervised(self._work(), f"{self.name}:{len(self.tasks)}"))

    async def _work(self) -> None:
        ready, idle = self.ready, self._idle
        loop = asyncio.get_running_loop()
        # Everything this task runs hands events to targets: a handler's reply or a dead
        # letter must not wait for room that only this very delivery could free.
        DELIVERING.set(True)
        self._on_call -= 1  # started on call: this task now looks
        while True:
            if not ready:
                waiter = loop.create_future()
                idle.append(waiter)
                try:
                    await waiter
                finally:
                    if not waiter.done():
                        waiter.cancel()  # stays in the line; a wake-up skips it
                self._on_call -= 1
                continue
            runner = ready.popleft()
            runner.scheduled = False
            items = runner.take_part()
            if not items:
                continue
            if ready and not self._on_call:
                self._call()  # this delivery may wait: someone else goes on with the line
            await runner.run(items)

    async def cancel(self, grace: float) -> None:
        """Cancel the pool's tasks (deliveries in flight stay unsettled and come again)."""
        await cancel_all(self.tasks, grace)
        self.tasks.clear()
        self.ready.clear()
        self._idle.clear()
        self._on_call = 0
