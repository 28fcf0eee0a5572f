"""Spans and instruments, on the OpenTelemetry API.

The trace of an event: the ``traceparent`` extension carries its *creation context*, set once
where the event first enters (a ``send`` span of a publish, or the gateway's ``receive`` span
for an event that arrives without one) and never changed after. Every later span belongs to the
trace of that context and links to it: ``dispatch`` (a batch read from the store and matched),
``process`` (each delivery attempt, parent of what the target does, a webhook's HTTP request
included), ``dead_letter``. HTTP hops carry their own context in the ``traceparent`` header.

Counts that change per event (matched, delivered, retried, ...) are kept as plain integers by
the runtime and read by observable instruments when metrics are collected, so that measuring
costs nothing per event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.span import TraceState

from .._errors import ConfigurationError
from .._event import Event
from . import SYSTEM, runner_attributes
from . import TRACEPARENT as _TRACEPARENT

if TYPE_CHECKING:
    from httpx import URL as httpx_url
    from opentelemetry.metrics import CallbackOptions, Observation

    from .._settings import TelemetrySettings
    from ..runtime.worker import Worker

__all__ = ["Telemetry", "build_telemetry", "fail"]

logger = logging.getLogger("eventbridge_sdk")


_SCOPE = "eventbridge_sdk"
_MAX_LINKS = 32
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_PROPAGATOR = TraceContextTextMapPropagator()


def traceparent_of(context: SpanContext) -> str:
    """The W3C ``traceparent`` of a span context."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def with_trace(event: Event, traceparent: str, tracestate: str) -> Event:
    """A copy of ``event`` carrying the creation context (the caller's event is left alone)."""
    copy = Event.__new__(Event)
    for name in Event.__slots__:
        setattr(copy, name, getattr(event, name))
    extensions = {**event.extensions, "traceparent": traceparent}
    if tracestate:
        extensions["tracestate"] = tracestate
    copy.extensions = extensions
    return copy


class Telemetry:
    """What the bridge traces and measures with; ``None`` stands for "nothing to do" in the
    runtime, so that code paths test one attribute.

    ``tracer`` is ``None`` without tracing; the instruments are ``None`` without metrics.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
        *,
        group: str,
        owned: Sequence[Any] = (),
    ) -> None:
        from .. import __version__

        self.group = group
        self.tracer = (
            tracer_provider.get_tracer(_SCOPE, __version__) if tracer_provider is not None else None
        )
        self._owned = list(owned)
        self._contexts: dict[str, SpanContext | None] = {}
        self._parents: dict[int, tuple[otel_context.Context, list[Link]]] = {}
        self._workers: weakref.WeakSet[Worker] = weakref.WeakSet()
        self._delayed: dict[str, int] = {}
        self._lag: dict[str, int] = {}
        self._retired: dict[str, dict[str, int]] = {}
        """Counts of runners of stopped workers, by runner name."""
        self.metered = meter_provider is not None
        if meter_provider is None:
            return
        meter = meter_provider.get_meter(_SCOPE, __version__)
        self.sent = meter.create_counter(
            "messaging.client.sent.messages", "{message}", "Events appended to a bus by publish."
        )
        self.received = meter.create_counter(
            "eventbridge.gateway.received.events",
            "{event}",
            "Events the gateway received, by outcome (accepted, rejected).",
        )
        self.consumed = meter.create_counter(
            "messaging.client.consumed.messages",
            "{message}",
            "Events the runtime read from a bus for its consumer group.",
        )
        self.process_duration = meter.create_histogram(
            "messaging.process.duration",
            "s",
            "How long a delivery to a target took (one value per delivery call).",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.latency = meter.create_histogram(
            "eventbridge.delivery.latency",
            "s",
            "From an event's time to its delivery to a target.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        meter.create_observable_counter(
            "eventbridge.events.matched",
            [self._observe_matched],
            "{event}",
            "Events a rule matched, per target.",
        )
        meter.create_observable_counter(
            "eventbridge.deliveries",
            [self._observe_deliveries],
            "{delivery}",
            "Delivery outcomes per target: delivered, failed (an attempt), retried, "
            "dead_lettered, dropped.",
        )
        meter.create_observable_up_down_counter(
            "eventbridge.buffer.depth",
            [self._observe_buffer],
            "{event}",
            "Events of a bus read and not yet finished by every target.",
        )
        meter.create_observable_up_down_counter(
            "eventbridge.target.in_flight",
            [self._observe_in_flight],
            "{delivery}",
            "Deliveries a target has running.",
        )
        meter.create_observable_up_down_counter(
            "eventbridge.target.queued",
            [self._observe_queued],
            "{event}",
            "Events queued in memory for a target.",
        )
        meter.create_observable_up_down_counter(
            "eventbridge.retry_queue.depth",
            [self._observe_delayed],
            "{event}",
            "Events of a target waiting in the store's delay queue (retries and backlog).",
        )
        meter.create_observable_up_down_counter(
            "messaging.consumer.lag",
            [self._observe_lag],
            "{message}",
            "Events of a bus its consumer group has not finished.",
        )

    # -- the runtime -----------------------------------------------------------------------

    def attach(self, worker: Worker) -> None:
        """Measure ``worker`` (its runners and pipelines) until it stops."""
        self._workers.add(worker)

    def detach(self, worker: Worker) -> None:
        """Stop measuring ``worker``; what its runners counted stays in the counters' totals
        (a cumulative counter must not go back when the bridge starts again)."""
        for runner in list(worker.runners.values()):
            totals = self._retired.setdefault(runner.name, {})
            for name, value in dataclasses.asdict(runner.counts).items():
                totals[name] = totals.get(name, 0) + value
        self._workers.discard(worker)

    async def refresh(self, worker: Worker) -> None:
        """Read what only the store knows (retry queues, consumer lag) for the gauges."""
        store, group = worker.store, self.group
        delayed = await store.delayed(group)
        # New dicts swapped in whole: the metric reader's thread iterates the old ones.
        sizes = dict.fromkeys(self._delayed, 0)
        sizes.update({key: stats.size for key, stats in delayed.items()})
        lag = dict(self._lag)
        for bus in list(worker.pipelines):
            stats = await store.stats(bus, group)
            if stats.pending is not None:
                lag[bus] = stats.pending
        self._delayed, self._lag = sizes, lag

    async def flush(self) -> None:
        """Export what the providers this bridge configured hold (at stop), in a thread: an
        export over the network must not hold up the event loop."""
        for provider in self._owned:
            try:
                await asyncio.to_thread(provider.force_flush, 5_000)
            except Exception:
                logger.exception("telemetry: flushing %r failed", provider)

    # -- contexts --------------------------------------------------------------------------

    def creation_context(self, extensions: Mapping[str, Any]) -> SpanContext | None:
        """The span context an event's ``traceparent``/``tracestate`` carry (cached: the events
        of one publish share it)."""
        value = extensions.get("traceparent")
        if value is None:
            return None
        state = extensions.get("tracestate")
        key = value if state is None else f"{value} {state}"
        contexts = self._contexts
        found = contexts.get(key, False)
        if found is not False:
            return found  # type: ignore[return-value]
        match = _TRACEPARENT.match(value) if isinstance(value, str) else None
        context: SpanContext | None = None
        if match is not None:
            trace_state = TraceState.from_header([state]) if isinstance(state, str) else None
            context = SpanContext(
                int(match.group(1), 16),
                int(match.group(2), 16),
                is_remote=True,
                trace_flags=TraceFlags(int(match.group(3), 16)),
                trace_state=trace_state,
            )
            if not context.is_valid:
                context = None
        if len(contexts) >= 1024:
            contexts.clear()
        contexts[key] = context
        return context

    def _links(self, forms: Iterable[Mapping[str, Any]]) -> list[Link]:
        """A link to each distinct creation context of ``forms`` (at most 32). The events of
        one publish share theirs: the string is compared before anything is parsed."""
        seen: dict[int, Link] = {}
        # One form per distinct traceparent, found in one pass over the batch.
        distinct = {form.get("traceparent"): form for form in forms}
        distinct.pop(None, None)
        for form in distinct.values():
            context = self.creation_context(form)
            if context is not None and context.span_id not in seen:
                seen[context.span_id] = self._parent(context)[1][0]
                if len(seen) >= _MAX_LINKS:
                    break
        return list(seen.values())

    def stamp(self, events: list[Event], span: trace.Span) -> list[Event]:
        """Give the events without a creation context the context of ``span``."""
        context = span.get_span_context()
        if not context.is_valid:
            return events
        traceparent = traceparent_of(context)
        tracestate = context.trace_state.to_header() if context.trace_state else ""
        return [
            event
            if "traceparent" in event.extensions
            else with_trace(event, traceparent, tracestate)
            for event in events
        ]

    def stamped_bodies(self, events: Sequence[Event], span: trace.Span) -> list[bytes] | None:
        """The JSON bodies of ``events``, those without a creation context given the context
        of ``span``; ``None`` when the span has no valid context (encode as usual). The events
        themselves are left as they are: cheaper than copies, and the caller's objects are
        not changed."""
        context = span.get_span_context()
        if not context.is_valid:
            return None
        extra = {"traceparent": traceparent_of(context)}
        if context.trace_state:
            extra["tracestate"] = context.trace_state.to_header()
        return [
            event.to_json() if "traceparent" in event.extensions else event._to_json_with(extra)
            for event in events
        ]

    @staticmethod
    def inject(headers: MutableMapping[str, str], span: trace.Span | None = None) -> None:
        """Put the context of ``span`` (else the current one) in HTTP headers
        (``traceparent``, ``tracestate``): the context of this hop."""
        context = trace.set_span_in_context(span) if span is not None else None
        _PROPAGATOR.inject(headers, context=context)

    def http_span(self, method: str, url: httpx_url) -> trace.Span:
        """A CLIENT span for one HTTP request (a webhook delivery, a publish to a gateway)."""
        assert self.tracer is not None
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.full": str(url.copy_with(query=None)),
            "server.address": url.host,
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        return self.tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)

    def add_links(self, span: trace.Span, events: Sequence[Event]) -> None:
        """Link ``span`` to the creation contexts of ``events`` (known after it started)."""
        for link in self._links(event.extensions for event in events):
            span.add_link(link.context)

    @staticmethod
    def server_done(span: trace.Span, status: int, code: str | None) -> None:
        """End a SERVER span with its answer (5xx is an error of the server, 4xx is not)."""
        span.set_attribute("http.response.status_code", status)
        if code is not None:
            span.set_attribute("error.type", code)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    @staticmethod
    def http_done(span: trace.Span, status: int | None, error: BaseException | None) -> None:
        """End an HTTP span with the answer's status (4xx and 5xx are errors of a client)."""
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 400 and error is None:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
        if error is not None:
            fail(span, error)
        span.end()

    # -- spans -----------------------------------------------------------------------------

    def _attributes(
        self, operation: str, kind: str, bus: str, events: Sequence[Event]
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.operation.name": operation,
            "messaging.operation.type": kind,
            "messaging.destination.name": bus,
        }
        if len(events) == 1:
            event = events[0]
            attributes["messaging.message.id"] = event.id
            attributes["cloudevents.event_id"] = event.id
            attributes["cloudevents.event_source"] = event.source
            attributes["cloudevents.event_type"] = event.type
            attributes["cloudevents.event_spec_version"] = event.specversion
            if event.subject is not None:
                attributes["cloudevents.event_subject"] = event.subject
        elif events:
            attributes["messaging.batch.message_count"] = len(events)
        return attributes

    def send_span(self, bus: str, events: Sequence[Event], operation: str = "send") -> trace.Span:
        """A PRODUCER span for appending ``events`` to ``bus`` (publish, a dead-letter replay)."""
        assert self.tracer is not None
        return self.tracer.start_span(
            f"{operation} {bus}",
            kind=SpanKind.PRODUCER,
            attributes=self._attributes(operation, "send", bus, events),
        )

    def receive_span(
        self, bus: str, headers: Mapping[str, str], events: Sequence[Event]
    ) -> trace.Span:
        """The gateway's SERVER span: child of the HTTP hop's context, linked to each event's
        creation context."""
        assert self.tracer is not None
        parent = _PROPAGATOR.extract(headers)
        return self.tracer.start_span(
            f"receive {bus}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=self._attributes("receive", "receive", bus, events),
            links=self._links(event.extensions for event in events),
        )

    def dispatch_span(
        self, bus: str, count: int, matched: int, forms: Sequence[Mapping[str, Any]]
    ) -> None:
        """A batch of ``count`` events read from ``bus``, ``matched`` of them by some rule."""
        assert self.tracer is not None
        now = time.time_ns()
        links = self._links(forms)
        parent = None
        if len(links) == 1:  # the batch belongs to one trace: show it there
            parent = trace.set_span_in_context(trace.NonRecordingSpan(links[0].context))
        span = self.tracer.start_span(
            f"dispatch {bus}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": SYSTEM,
                "messaging.operation.name": "dispatch",
                "messaging.operation.type": "receive",
                "messaging.destination.name": bus,
                "messaging.consumer.group.name": self.group,
                "messaging.batch.message_count": count,
                "eventbridge.matched_count": matched,
            },
            links=links,
            start_time=now,
        )
        span.end(now)

    def _parent(self, context: SpanContext) -> tuple[otel_context.Context, list[Link]]:
        """The parent context and the links of a span in the trace of ``context`` (cached:
        the events of one publish share them)."""
        found = self._parents.get(context.span_id)
        if found is None or found[1][0].context is not context:
            if len(self._parents) >= 1024:
                self._parents.clear()
            parent = trace.set_span_in_context(trace.NonRecordingSpan(context))
            found = self._parents[context.span_id] = (parent, [Link(context)])
        return found

    def process_span(
        self, bus: str, rule: str, target: str, events: Sequence[Event], attempt: int
    ) -> trace.Span:
        """A CONSUMER span for one delivery attempt of ``events`` to a target: child of the
        event's creation context (one event) and linked to every creation context.

        The span carries what the conventions require and what a search needs (event id,
        type, source), and no more: every attribute costs on each delivery.
        """
        assert self.tracer is not None
        parent = None
        if len(events) == 1:
            event = events[0]
            creation = self.creation_context(event.extensions)
            if creation is not None:
                parent, links = self._parent(creation)
            else:
                links = []
            attributes: dict[str, Any] = {
                "messaging.system": SYSTEM,
                "messaging.operation.name": "process",
                "messaging.destination.name": bus,
                "messaging.destination.subscription.name": rule,
                "eventbridge.target": target,
                "eventbridge.delivery.attempt": attempt,
                "cloudevents.event_id": event.id,
                "cloudevents.event_source": event.source,
                "cloudevents.event_type": event.type,
            }
        else:
            links = self._links([event.extensions for event in events])
            if len(links) == 1:
                parent = self._parent(links[0].context)[0]
            attributes = self._attributes("process", "process", bus, events)
            attributes["messaging.destination.subscription.name"] = rule
            attributes["eventbridge.target"] = target
            attributes["eventbridge.delivery.attempt"] = attempt
        return self.tracer.start_span(
            f"process {bus}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=links,
        )

    def dead_letter_span(
        self, event: Event, dead_letter_bus: str, reason: str, attempts: int, runner: str
    ) -> trace.Span:
        """A PRODUCER span for dead-lettering ``event``, in its trace."""
        return self._in_trace(
            "dead_letter",
            event,
            dead_letter_bus,
            {
                "eventbridge.dead_letter.reason": reason,
                "eventbridge.delivery.attempt": attempts,
                "eventbridge.target": runner,
            },
        )

    def replay_span(self, event: Event, dead_letter_bus: str, runner: str) -> trace.Span:
        """A PRODUCER span for a dead letter queued again for its target, in its trace."""
        return self._in_trace("replay", event, dead_letter_bus, {"eventbridge.target": runner})

    def _in_trace(
        self, operation: str, event: Event, bus: str, extra: Mapping[str, Any]
    ) -> trace.Span:
        """A PRODUCER span about ``event``: child of its creation context, linked to it."""
        assert self.tracer is not None
        context = self.creation_context(event.extensions)
        parent, links = self._parent(context) if context is not None else (None, None)
        attributes = self._attributes(operation, "send", bus, [event])
        attributes.update(extra)
        return self.tracer.start_span(
            f"{operation} {bus}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes=attributes,
            links=links,
        )

    @staticmethod
    def use(span: trace.Span) -> object:
        """Make ``span`` the current span; give the token to :meth:`end`."""
        return otel_context.attach(trace.set_span_in_context(span))

    @staticmethod
    def release(token: object) -> None:
        """Undo :meth:`use` (the span stays open)."""
        otel_context.detach(token)  # type: ignore[arg-type]

    @staticmethod
    def end(span: trace.Span, token: object | None, error: BaseException | None = None) -> None:
        """End ``span`` with its outcome: ``ERROR`` and ``error.type`` for a failure; a handler
        that dropped the event (``Drop``) is an outcome, not an error."""
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]
        if error is not None:
            if type(error).__name__ == "Drop":
                span.set_attribute("eventbridge.delivery.outcome", "dropped")
            else:
                fail(span, error)
        span.end()

    # -- metrics ---------------------------------------------------------------------------

    def _runners(self) -> list[Any]:
        # Snapshots: the reader's thread must not iterate what the event loop changes.
        return [
            runner for worker in list(self._workers) for runner in list(worker.runners.values())
        ]

    def _counts(self) -> Iterable[tuple[dict[str, Any], dict[str, int]]]:
        """Each runner's attributes and counts, those of stopped workers added in."""
        seen = set()
        for runner in self._runners():
            seen.add(runner.name)
            counts = dataclasses.asdict(runner.counts)
            for name, value in self._retired.get(runner.name, {}).items():
                counts[name] += value
            yield runner.metric_attributes, counts
        for name, counts in list(self._retired.items()):
            if name not in seen:
                bus, rule, target = name.split("/", 2)
                yield runner_attributes(bus, rule, target), counts

    def _observe_matched(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for attributes, counts in self._counts():
            yield Observation(counts["matched"], attributes)

    def _observe_deliveries(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for base, counts in self._counts():
            for outcome, field in (
                ("delivered", "delivered"),
                ("failed", "failed_attempts"),
                ("retried", "retried"),
                ("dead_lettered", "dead_lettered"),
                ("dropped", "dropped"),
            ):
                yield Observation(counts[field], {**base, "eventbridge.outcome": outcome})

    def _observe_buffer(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for worker in list(self._workers):
            for bus, pipeline in list(worker.pipelines.items()):
                yield Observation(
                    pipeline.tracker.open_events,
                    {"messaging.system": SYSTEM, "messaging.destination.name": bus},
                )

    def _observe_in_flight(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for runner in self._runners():
            yield Observation(runner.active, runner.metric_attributes)

    def _observe_queued(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for runner in self._runners():
            yield Observation(len(runner.queue), runner.metric_attributes)

    def _observe_delayed(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        runners = {runner.name: runner for runner in self._runners()}
        for key, size in list(self._delayed.items()):
            runner = runners.get(key)
            if runner is not None:
                yield Observation(size, runner.metric_attributes)

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for bus, pending in list(self._lag.items()):
            yield Observation(
                pending,
                {
                    "messaging.system": SYSTEM,
                    "messaging.destination.name": bus,
                    "messaging.consumer.group.name": self.group,
                },
            )


def fail(span: trace.Span, error: BaseException) -> None:
    """Mark ``span`` failed by ``error``: ``error.type`` and an ``ERROR`` status."""
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, str(error)[:500]))


# -- providers -------------------------------------------------------------------------------


def _is_set(provider: object) -> bool:
    """Whether the application set a real global provider (not the API's proxy or no-op)."""
    name = type(provider).__name__
    return not name.startswith(("_Proxy", "Proxy", "NoOp"))


def _sdk(what: str) -> Any:
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            f"telemetry: {what} needs the OpenTelemetry SDK: pip install 'eventbridge-sdk[otel]'"
        ) from None
    from opentelemetry.sdk.resources import Resource

    return Resource


def _otlp(module: str, cls: str, settings: TelemetrySettings, path: str) -> Any:
    try:
        exporter = getattr(__import__(module, fromlist=[cls]), cls)
    except ImportError:
        raise ConfigurationError(
            "telemetry: the OTLP exporter is not installed: pip install 'eventbridge-sdk[otlp]'"
        ) from None
    if settings.otlp_endpoint:
        return exporter(endpoint=settings.otlp_endpoint.rstrip("/") + path)
    return exporter()


def _tracer_provider(settings: TelemetrySettings) -> tuple[trace.TracerProvider | None, bool]:
    """The provider spans go to, and whether the bridge made it."""
    if settings.traces_exporter == "none":
        provider = trace.get_tracer_provider()
        return (provider, False) if _is_set(provider) else (None, False)
    resource = _sdk("EVENTBRIDGE_TELEMETRY__TRACES_EXPORTER")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    exporter: Any
    if settings.traces_exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        exporter = _otlp(
            "opentelemetry.exporter.otlp.proto.http.trace_exporter",
            "OTLPSpanExporter",
            settings,
            "/v1/traces",
        )
    sdk_provider = TracerProvider(resource=resource.create({"service.name": settings.service_name}))
    sdk_provider.add_span_processor(BatchSpanProcessor(exporter))
    if not _is_set(trace.get_tracer_provider()):
        trace.set_tracer_provider(sdk_provider)
    return sdk_provider, True


def _meter_provider(settings: TelemetrySettings) -> tuple[metrics.MeterProvider | None, bool]:
    if settings.metrics_exporter == "none":
        provider = metrics.get_meter_provider()
        return (provider, False) if _is_set(provider) else (None, False)
    resource = _sdk("EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricReader,
        PeriodicExportingMetricReader,
    )

    interval = settings.export_interval * 1000
    reader: MetricReader
    if settings.metrics_exporter == "prometheus":
        try:
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
        except ImportError:
            raise ConfigurationError(
                "telemetry: the Prometheus reader is not installed: pip install "
                "'eventbridge-sdk[prometheus]'"
            ) from None
        reader = PrometheusMetricReader()
    elif settings.metrics_exporter == "console":
        reader = PeriodicExportingMetricReader(
            ConsoleMetricExporter(), export_interval_millis=interval
        )
    else:
        exporter = _otlp(
            "opentelemetry.exporter.otlp.proto.http.metric_exporter",
            "OTLPMetricExporter",
            settings,
            "/v1/metrics",
        )
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=interval)
    sdk_provider = MeterProvider(
        metric_readers=[reader],
        resource=resource.create({"service.name": settings.service_name}),
    )
    if not _is_set(metrics.get_meter_provider()):
        metrics.set_meter_provider(sdk_provider)
    return sdk_provider, True


_BUILT: dict[tuple[Any, ...], tuple[Any, bool, Any, bool]] = {}


def build_telemetry(settings: TelemetrySettings, *, group: str) -> Telemetry | None:
    """Telemetry for ``settings``: the global providers, or the bridge's own when an exporter is
    named (made once per process for the same settings: a Prometheus reader registers itself
    in the default registry, and twice would be refused)."""
    key = (
        settings.traces_exporter,
        settings.metrics_exporter,
        settings.service_name,
        settings.otlp_endpoint,
        settings.export_interval,
    )
    built = _BUILT.get(key) if key[:2] != ("none", "none") else None
    if built is None:
        tracer_provider, own_tracer = _tracer_provider(settings)
        meter_provider, own_meter = _meter_provider(settings)
        built = (tracer_provider, own_tracer, meter_provider, own_meter)
        if own_tracer or own_meter:
            _BUILT[key] = built
    tracer_provider, own_tracer, meter_provider, own_meter = built
    if tracer_provider is None and meter_provider is None:
        return None
    owned = [p for p, own in ((tracer_provider, own_tracer), (meter_provider, own_meter)) if own]
    return Telemetry(tracer_provider, meter_provider, group=group, owned=owned)
