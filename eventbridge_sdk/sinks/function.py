"""The function sink: a Python handler, sync or async, as a target."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._errors import InvalidEventError, InvalidReplyError
from .._event import Event
from .._handlers import HandlerSignature
from .._policies import DeliveryOutcome
from .base import BatchError, Delivery, SinkContext

__all__ = ["FunctionSink"]

logger = logging.getLogger("eventbridge_sdk")

_TRACE_EXTENSIONS = ("traceparent", "tracestate")
_THREAD_BUDGET = 0.02
"""Seconds of handler calls one hand-off to the thread pool runs before it gives the thread back."""


class FunctionSink:
    """Calls a handler with each delivered event, and publishes what it returns to ``reply_to``.

    An ``async def`` handler is awaited on the event loop; a plain function runs in the runtime's
    bounded thread pool, so it may block without stalling other targets. The handler's parameters
    are filled from their annotations (see :class:`~eventbridge_sdk._handlers.HandlerSignature`).

    A ``put`` carries up to :attr:`max_batch` deliveries; the handler still sees one event per
    call, in order, and one failing event fails alone (:class:`~eventbridge_sdk.sinks.BatchError`).
    A synchronous handler gets the whole batch in one hand-off to the thread pool.

    Example::

        sink = FunctionSink(lambda event: print(event.type))
    """

    max_batch = 64
    traces_deliveries = True
    """With tracing on, each handler call gets its own ``process`` span (not one per batch)."""

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        reply_to: str | None = None,
        signature: HandlerSignature | None = None,
    ) -> None:
        self.handler = handler
        self.signature = signature if signature is not None else HandlerSignature.of(handler)
        self.reply_to = reply_to
        self._invoke = self.signature.invoker()
        # A subclass that overrides call() (to trace or wrap each call) gets it called per event.
        self._calls_through = type(self).call is not FunctionSink.call
        self._on_loop: Callable[[Event], Any] | None = (
            self.call if self._calls_through else self._invoke if self.signature.is_async else None
        )
        """What a delivery calls for each event on the event loop; ``None``: the handler is
        synchronous and runs in the thread pool."""
        self._context: SinkContext | None = None
        self._telemetry: Any = None
        self._warned = False

    def __repr__(self) -> str:
        return f"FunctionSink({self.signature.name})"

    async def start(self, context: SinkContext) -> None:
        self._context = context
        telemetry = context.telemetry
        self._telemetry = telemetry if telemetry is not None and telemetry.tracer else None
        if self._telemetry is None and type(self).put is FunctionSink.put:
            # Without tracing a delivery goes straight to the handlers: one frame less per
            # part, which counts when a thousand targets each get one event at a time.
            self.put = self._deliver  # type: ignore[method-assign]

    async def put(self, batch: Sequence[Delivery]) -> None:
        """Call the handler for each delivery in order, publish what it returns, and fail only
        the deliveries whose handler raised (:class:`BatchError`)."""
        if self._telemetry is not None:
            if len(batch) == 1:
                return await self._put_traced(batch)
            return await self._put_batch_traced(batch)
        return await self._deliver(batch)

    async def _deliver(self, batch: Sequence[Delivery]) -> None:
        invoke = self._on_loop
        outcomes: list[tuple[bool, Any]] = []
        if invoke is None:
            outcomes = await self._in_pool([delivery.event for delivery in batch])
        failures: dict[int, BaseException] | None = None
        for index, delivery in enumerate(batch):
            try:
                if invoke is not None:
                    returned = await invoke(delivery.event)
                else:
                    ok, returned = outcomes[index]
                    if not ok:
                        raise returned
                if returned is not None:
                    await self._returned(delivery, returned)
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the runtime stops
                # The handler's own work was cancelled: that delivery failed.
                failures = failures or {}
                failures[index] = exc
            except (Exception, DeliveryOutcome) as exc:
                failures = failures or {}
                failures[index] = exc
        if failures:
            raise BatchError(failures)

    async def _put_batch_traced(self, batch: Sequence[Delivery]) -> None:
        """:meth:`put` of several events under one ``process`` span, linked to their creation
        contexts and current while the handler runs: a span per event would cost more than a
        fast handler's delivery. Each failed event is a span event with its id and error."""
        telemetry = self._telemetry
        first = batch[0]
        span = telemetry.process_span(
            first.bus, first.rule, first.target, [d.event for d in batch], first.attempt
        )
        token = telemetry.use(span)
        error: BaseException | None = None
        try:
            await self._deliver(batch)
        except BatchError as exc:
            for index, failure in exc.failures.items():
                span.add_event(
                    "delivery failed",
                    {
                        "cloudevents.event_id": batch[index].event.id,
                        "error.type": type(failure).__qualname__,
                    },
                )
            span.set_attribute("eventbridge.delivery.failed_count", len(exc.failures))
            error = next(iter(exc.failures.values()))
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            telemetry.end(span, token, error)

    async def _put_traced(self, batch: Sequence[Delivery]) -> None:
        """:meth:`put` with a ``process`` span per call, current while the handler runs (its
        own spans are children); a synchronous handler's span is current in its thread."""
        telemetry = self._telemetry
        context = self._context
        assert context is not None
        failures: dict[int, BaseException] | None = None
        for index, delivery in enumerate(batch):
            span = telemetry.process_span(
                delivery.bus, delivery.rule, delivery.target, [delivery.event], delivery.attempt
            )
            error: BaseException | None = None
            token = telemetry.use(span)
            try:
                if self.signature.is_async or self._calls_through:
                    returned = await self.call(delivery.event)
                else:
                    call = functools.partial(
                        _in_span, telemetry, span, self._invoke, delivery.event
                    )
                    returned = await asyncio.get_running_loop().run_in_executor(
                        context.executor, call
                    )
                if returned is not None:
                    await self._returned(delivery, returned)
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    error = exc
                    raise
                error = exc
                failures = failures or {}
                failures[index] = exc
            except (Exception, DeliveryOutcome) as exc:
                error = exc
                failures = failures or {}
                failures[index] = exc
            finally:
                telemetry.end(span, token, error)
        if failures:
            raise BatchError(failures)

    async def _in_pool(self, events: list[Event]) -> list[tuple[bool, Any]]:
        """Run a synchronous handler for a batch in as few hand-offs to the thread pool as a
        time budget allows: fast handlers take the whole batch in one, and a slow one gives its
        thread back after each call, so other targets' calls are not queued behind a batch."""
        context = self._context
        outcomes: list[tuple[bool, Any]] = []
        while len(outcomes) < len(events):
            rest = events[len(outcomes) :]
            if context is None:
                outcomes += await asyncio.to_thread(self._call_all, rest)
            elif self._telemetry is not None:  # the current span is current in the thread too
                outcomes += await asyncio.get_running_loop().run_in_executor(
                    context.executor, contextvars.copy_context().run, self._call_all, rest
                )
            else:
                outcomes += await asyncio.get_running_loop().run_in_executor(
                    context.executor, self._call_all, rest
                )
        return outcomes

    def _call_all(self, events: list[Event]) -> list[tuple[bool, Any]]:
        """Run a synchronous handler for events in turn, in a pool thread: ``(ok, result or
        error)`` for each one run. At least one runs; more while the calls so far took less
        than 20 milliseconds (the wall clock, waits for the GIL included)."""
        invoke = self._invoke
        deadline = time.perf_counter() + _THREAD_BUDGET
        outcomes: list[tuple[bool, Any]] = []
        for event in events:
            try:
                outcomes.append((True, invoke(event)))
            except (Exception, DeliveryOutcome) as exc:
                outcomes.append((False, exc))
            if time.perf_counter() > deadline:
                break
        return outcomes

    async def _returned(self, delivery: Delivery, result: Any) -> None:
        if self.reply_to is not None:
            await self._reply(delivery, result)
        elif not self._warned:
            self._warned = True
            logger.warning(
                "handler %s (target %s) returned %s, which is dropped: declare the target "
                "with reply_to=BUS to publish what it returns",
                self.signature.name,
                delivery.runner,
                type(result).__name__,
            )

    async def call(self, event: Event) -> Any:
        """Run the handler for one event and return what it returned."""
        if self.signature.is_async:
            return await self._invoke(event)
        call = functools.partial(self._invoke, event)
        context = self._context
        if context is None:
            return await asyncio.to_thread(call)
        if self._telemetry is not None:  # the current span is current in the thread too
            call = functools.partial(contextvars.copy_context().run, call)
        return await asyncio.get_running_loop().run_in_executor(context.executor, call)

    async def _reply(self, delivery: Delivery, result: Any) -> None:
        context = self._context
        assert context is not None
        assert self.reply_to is not None
        items = result if isinstance(result, list | tuple) else [result]
        replies = [self._reply_event(delivery, item) for item in items]
        if replies:
            await context.publish(self.reply_to, replies)

    def _reply_event(self, delivery: Delivery, item: Any) -> Event:
        where = f"handler {self.signature.name} (target {delivery.runner})"
        if isinstance(item, Event):
            reply = item
        elif isinstance(item, Mapping):
            form = {"specversion": "1.0", "source": f"/{delivery.bus}/{delivery.rule}", **item}
            form.setdefault("id", str(uuid.uuid4()))
            try:
                reply = Event.from_dict(form)
            except InvalidEventError as exc:
                raise InvalidReplyError(f"{where} returned an invalid reply: {exc}") from None
        else:
            raise InvalidReplyError(
                f"{where} returned {type(item).__name__}; with reply_to a handler returns an "
                "Event, a mapping in the CloudEvents JSON form, a list of them, or None"
            )
        original = delivery.event.extensions
        missing = {k: original[k] for k in _TRACE_EXTENSIONS if k in original}
        missing = {k: v for k, v in missing.items() if k not in reply.extensions}
        if missing:
            reply = reply.replace(extensions={**reply.extensions, **missing})
        return reply

    async def flush(self) -> None:
        return None

    async def pre_commit(self) -> None:
        return None

    async def stop(self) -> None:
        self._context = None
        self.__dict__.pop("put", None)


def _in_span(telemetry: Any, span: Any, invoke: Callable[[Event], Any], event: Event) -> Any:
    """Call a synchronous handler in a pool thread with ``span`` as the current span."""
    token = telemetry.use(span)
    try:
        return invoke(event)
    finally:
        telemetry.release(token)
