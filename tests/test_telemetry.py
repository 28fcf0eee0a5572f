"""OpenTelemetry: one event followed from the client through the gateway, the store, a failed
and a retried delivery to a webhook, in one connected trace; the metrics of every runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from servers import read_body, serve, until

from eventbridge_sdk import (
    AsyncEventBridgeClient,
    ConfigurationError,
    DeadLetter,
    Event,
    EventBridge,
    HttpTarget,
    RetryPolicy,
    Settings,
)
from eventbridge_sdk.http import Gateway
from eventbridge_sdk.telemetry import resolve_telemetry, trace_id_of
from eventbridge_sdk.testing import run_bridge


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def meters() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


class Receiver:
    """A webhook endpoint that records each request's headers; the first answer is a 503."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        status = 503 if len(self.headers) == 1 else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def value(found: dict[str, list[Any]], name: str, **attributes: Any) -> Any:
    wanted = {
        f"eventbridge.{k}" if k in ("outcome", "target") else k: v for k, v in attributes.items()
    }
    matching = [
        p for p in found.get(name, []) if all(p.attributes.get(k) == v for k, v in wanted.items())
    ]
    assert len(matching) == 1, (name, attributes, found.get(name))
    point = matching[0]
    return point.count if hasattr(point, "count") and not hasattr(point, "value") else point.value


def traceparent(span: ReadableSpan) -> str:
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


async def test_one_event_client_to_gateway_to_webhook_is_one_connected_trace(
    tmp_path: Path,
    spans: tuple[TracerProvider, InMemorySpanExporter],
    meters: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    tracer_provider, exporter = spans
    meter_provider, reader = meters
    receiver = Receiver()
    bridge = EventBridge(f"sqlite:///{tmp_path}/events.db")
    bridge.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    orders = bridge.bus("orders")
    async with serve(receiver) as receiver_url:
        orders.rule("paid", pattern={"type": ["order.paid"]}).target(
            HttpTarget(f"{receiver_url}/hooks"),
            name="crm",
            retry=RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0),
        )
        async with serve(Gateway(bridge)) as gateway_url:
            async with AsyncEventBridgeClient(
                gateway_url, tracer_provider=tracer_provider
            ) as client:
                event = Event(type="order.paid", source="/shop", data={"order": 1})
                await client.publish("orders", event)
            await until(lambda: len(receiver.headers) == 2)
            await bridge.wait_idle(10)
            found = points(reader)

    finished = exporter.get_finished_spans()
    [send] = by_name(finished, "send orders")
    [received] = by_name(finished, "receive orders")
    [dispatched] = by_name(finished, "dispatch orders")
    processed = sorted(by_name(finished, "process orders"), key=lambda s: s.start_time or 0)
    posts = sorted(by_name(finished, "POST"), key=lambda s: s.start_time or 0)
    assert len(processed) == 2
    assert len(posts) == 2

    # The client's send span is the event's creation context, and the root of one trace.
    assert send.kind == SpanKind.PRODUCER
    assert send.parent is None
    trace_id = send.context.trace_id
    created = traceparent(send)
    assert send.attributes["cloudevents.event_id"] == event.id
    assert {s.context.trace_id for s in finished} == {trace_id}

    # The gateway's span is the child of the client's HTTP hop and links to the event.
    assert received.kind == SpanKind.SERVER
    assert received.parent is not None
    assert received.parent.span_id == send.context.span_id
    assert [link.context.span_id for link in received.links] == [send.context.span_id]

    # Dispatch and both delivery attempts link to the creation context.
    for span in (dispatched, *processed):
        assert [link.context.span_id for link in span.links] == [send.context.span_id]
    first, second = processed
    assert first.attributes["eventbridge.delivery.attempt"] == 1
    assert first.status.status_code == StatusCode.ERROR
    assert first.attributes["error.type"] == "HttpDeliveryError"
    assert second.attributes["eventbridge.delivery.attempt"] == 2
    assert second.status.status_code == StatusCode.UNSET
    assert second.attributes["messaging.destination.subscription.name"] == "paid"
    assert second.attributes["eventbridge.target"] == "crm"
    assert second.attributes["cloudevents.event_type"] == "order.paid"

    # Each webhook request is a CLIENT span under its attempt; the receiver saw that span's
    # context in traceparent (this hop) and the creation context, unchanged, in ce-traceparent.
    for attempt, post, headers in zip(processed, posts, receiver.headers, strict=True):
        assert post.kind == SpanKind.CLIENT
        assert post.parent is not None
        assert post.parent.span_id == attempt.context.span_id
        assert headers["traceparent"] == traceparent(post)
        assert headers["ce-traceparent"] == created
    assert posts[0].attributes["http.response.status_code"] == 503
    assert posts[1].attributes["http.response.status_code"] == 204

    # The counters of that story.
    runner = {"target": "crm", "messaging.destination.subscription.name": "paid"}
    assert value(found, "eventbridge.deliveries", outcome="delivered", **runner) == 1
    assert value(found, "eventbridge.deliveries", outcome="failed", **runner) == 1
    assert value(found, "eventbridge.deliveries", outcome="retried", **runner) == 1
    assert value(found, "eventbridge.deliveries", outcome="dead_lettered", **runner) == 0
    assert value(found, "eventbridge.events.matched", **runner) == 1
    assert (
        value(found, "messaging.client.sent.messages", **{"messaging.destination.name": "orders"})
        == 1
    )
    assert value(found, "eventbridge.gateway.received.events", outcome="accepted") == 1
    assert (
        value(found, "messaging.process.duration", **runner, **{"error.type": "HttpDeliveryError"})
        == 1
    )
    durations = [p for p in found["messaging.process.duration"] if "error.type" not in p.attributes]
    assert [p.count for p in durations] == [1]
    assert [p.count for p in found["eventbridge.delivery.latency"]] == [1]


async def test_an_event_keeps_a_traceparent_it_came_with_and_gets_one_when_it_has_none(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    tracer_provider, exporter = spans
    bridge = EventBridge("memory://")
    bridge.instrument(tracer_provider=tracer_provider)
    seen: list[Event] = []
    bridge.bus("orders").rule("all").target(name="h")(seen.append)
    given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    mine = Event(type="t", source="/s", extensions={"traceparent": given, "tracestate": "k=v"})
    bare = Event(type="t", source="/s")
    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [mine, bare])
    assert "traceparent" not in bare.extensions  # the caller's object is left alone
    by_id = {event.id: event for event in seen}
    assert by_id[mine.id].extensions["traceparent"] == given
    assert by_id[mine.id].extensions["tracestate"] == "k=v"
    [send] = by_name(exporter.get_finished_spans(), "send orders")
    assert send.attributes["messaging.batch.message_count"] == 2
    stamped = by_id[bare.id].extensions["traceparent"]
    assert stamped == traceparent(send)
    # Each delivery is its own span, child of its event's creation context.
    processed = {
        s.attributes["cloudevents.event_id"]: s
        for s in exporter.get_finished_spans()
        if s.name == "process orders"
    }
    assert processed[mine.id].context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert processed[mine.id].parent is not None
    assert processed[mine.id].parent.span_id == 0xB7AD6B7169203331
    assert processed[bare.id].parent is not None
    assert processed[bare.id].parent.span_id == send.context.span_id


def test_a_batch_span_links_each_creation_context_once(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    from eventbridge_sdk.telemetry._otel import Telemetry

    tracer_provider, exporter = spans
    telemetry = Telemetry(tracer_provider, None, group="g")
    contexts = [f"00-{trace:032x}-{span:016x}-01" for trace, span in ((1, 2), (3, 4), (1, 5))]
    events = [
        Event(type="t", source="/s", extensions={"traceparent": contexts[n]})
        for n in (0, 1, 0, 2, 1)
    ] + [Event(type="t", source="/s")]
    telemetry.process_span("orders", "all", "h", events, 1).end()
    [span] = exporter.get_finished_spans()
    assert [(link.context.trace_id, link.context.span_id) for link in span.links] == [
        (1, 2),
        (3, 4),
        (1, 5),
    ]
    assert span.parent is None  # events of several traces: the span is in none of them
    assert span.attributes["messaging.batch.message_count"] == 6
    # Events of one trace: the span is a child of its context, and linked to it.
    telemetry.process_span("orders", "all", "h", events[:1] + events[2:3], 1).end()
    one = exporter.get_finished_spans()[-1]
    assert one.parent is not None
    assert one.parent.span_id == 2
    assert [link.context.span_id for link in one.links] == [2]


async def test_a_handler_span_is_current_in_the_handler_sync_or_async(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    from opentelemetry import trace

    tracer_provider, exporter = spans
    bridge = EventBridge("memory://")
    bridge.instrument(tracer_provider=tracer_provider)
    current: dict[str, int] = {}
    orders = bridge.bus("orders")

    @orders.rule("a").target(name="async")
    async def in_loop(event: Event) -> None:
        current["async"] = trace.get_current_span().get_span_context().span_id

    @orders.rule("s").target(name="sync")
    def in_thread(event: Event) -> None:
        current["sync"] = trace.get_current_span().get_span_context().span_id

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", Event(type="t", source="/s"))
    spans_by_target = {
        s.attributes["eventbridge.target"]: s.context.span_id
        for s in exporter.get_finished_spans()
        if s.name == "process orders"
    }
    assert current == spans_by_target


async def test_dead_lettering_and_replay_are_spans_in_the_events_trace_and_logs_carry_it(
    spans: tuple[TracerProvider, InMemorySpanExporter], caplog: pytest.LogCaptureFixture
) -> None:
    tracer_provider, exporter = spans
    bridge = EventBridge("memory://")
    bridge.instrument(tracer_provider=tracer_provider)
    calls = 0

    @bridge.bus("orders").rule("all").target(name="h", dead_letter="failed")
    async def refuse_once(event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DeadLetter("no such customer")

    with caplog.at_level(logging.ERROR, logger="eventbridge_sdk"):
        async with run_bridge(bridge) as harness:
            [event_id] = await harness.publish("orders", Event(type="t", source="/s"))
            assert await bridge.dead_letters.replay() == 1
            await harness.wait_idle()
    assert calls == 2
    finished = exporter.get_finished_spans()
    [send] = by_name(finished, "send orders")
    [dead] = by_name(finished, "dead_letter failed")
    assert dead.kind == SpanKind.PRODUCER
    assert dead.context.trace_id == send.context.trace_id
    assert dead.attributes["eventbridge.dead_letter.reason"] == "dead-letter"
    # The dead letter's own append is a send span beneath it.
    [resend] = by_name(finished, "send failed")
    assert resend.parent is not None
    assert resend.parent.span_id == dead.context.span_id
    [replayed] = by_name(finished, "replay failed")
    assert replayed.context.trace_id == send.context.trace_id
    assert replayed.attributes["eventbridge.target"] == "orders/all/h"
    attempts = by_name(finished, "process orders")
    assert [s.context.trace_id for s in attempts] == [send.context.trace_id] * 2
    [record] = [r for r in caplog.records if getattr(r, "eventbridge_event_id", None) == event_id]
    assert record.trace_id == f"{send.context.trace_id:032x}"  # type: ignore[attr-defined]
    assert trace_id_of({"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}) == "a" * 32


async def test_metrics_without_tracing_and_the_gauges(
    meters: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    meter_provider, reader = meters
    settings = Settings.model_validate(
        {"store": "memory://", "telemetry": {"export_interval": 0.02}}
    )
    bridge = EventBridge(settings=settings)
    bridge.instrument(meter_provider=meter_provider)
    release = asyncio.Event()
    orders = bridge.bus("orders")

    @orders.rule("all").target(name="slow", concurrency=2)
    async def slow(event: Event) -> None:
        await release.wait()

    async with bridge:
        await bridge.publish("orders", [Event(type="t", source="/s") for _ in range(5)])
        await until(
            lambda: value(points(reader), "eventbridge.target.in_flight", target="slow") == 2
        )
        found = points(reader)
        # Two deliveries run, each holding its part of the five events; the rest is queued.
        assert 0 <= value(found, "eventbridge.target.queued", target="slow") <= 3
        assert value(found, "eventbridge.buffer.depth") == 5
        # What only the store knows (the group's lag) is read every export_interval.
        await until(lambda: value(points(reader), "messaging.consumer.lag") == 5)
        release.set()
        await bridge.wait_idle(10)
        found = points(reader)
    assert value(found, "eventbridge.deliveries", outcome="delivered", target="slow") == 5
    assert value(found, "messaging.client.consumed.messages") == 5


def test_nothing_is_set_up_without_providers_or_exporters() -> None:
    assert resolve_telemetry(Settings().telemetry, group="g") is None
    assert EventBridge("memory://").telemetry is None


def test_an_exporter_without_its_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def without_otlp(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentelemetry.exporter.otlp"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_otlp)
    settings = Settings.model_validate({"telemetry": {"traces_exporter": "otlp"}})
    with pytest.raises(ConfigurationError, match=r"eventbridge-sdk\[otlp\]"):
        resolve_telemetry(settings.telemetry, group="g")


def test_instrument_needs_a_provider() -> None:
    with pytest.raises(ConfigurationError, match="tracer_provider, a meter_provider"):
        EventBridge("memory://").instrument()


EXPORTERS_SCRIPT = """
import asyncio
from eventbridge_sdk import Event, EventBridge
from eventbridge_sdk.telemetry import prometheus_text

bridge = EventBridge("memory://")
orders = bridge.bus("orders")
orders.rule("all").target(name="audit")(lambda event: None)


async def main():
    async with bridge:
        await bridge.publish("orders", [Event(type="t", source="/s") for _ in range(3)])
        await bridge.wait_idle(10)
        body, content_type = prometheus_text()
        print(content_type)
        print(body.decode())


asyncio.run(main())
"""


def test_exporters_come_from_the_environment(tmp_path: Path) -> None:
    # In a process of its own: the bridge installs its providers as the global ones.
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER": "prometheus",
        "EVENTBRIDGE_TELEMETRY__TRACES_EXPORTER": "console",
        "EVENTBRIDGE_TELEMETRY__SERVICE_NAME": "shop",
    }
    done = subprocess.run(
        [sys.executable, "-c", EXPORTERS_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert out.startswith("text/plain; version=0.0.4")
    assert "eventbridge_deliveries_total{" in out
    delivered = [
        line
        for line in out.splitlines()
        if line.startswith("eventbridge_deliveries_total{")
        and 'eventbridge_outcome="delivered"' in line
    ]
    assert len(delivered) == 1
    assert delivered[0].endswith(" 3.0")
    assert 'service_name="shop"' in out  # the resource, from the settings
    # The console exporter printed the spans, flushed at stop.
    assert '"name": "process orders"' in out


OTLP_SCRIPT = """
import asyncio
from eventbridge_sdk import Event, EventBridge

bridge = EventBridge("memory://")
bridge.bus("orders").rule("all").target(name="audit")(lambda event: None)


async def main():
    async with bridge:  # the spans are flushed to the collector at stop
        await bridge.publish("orders", Event(type="t", source="/s"))
        await bridge.wait_idle(10)


asyncio.run(main())
"""


async def test_spans_reach_an_otlp_collector_named_in_the_settings(tmp_path: Path) -> None:
    import os
    import sys

    posts: list[tuple[str, str, bytes]] = []

    async def collector(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = dict(scope["headers"])
        posts.append((scope["path"], headers.get(b"content-type", b"").decode(), body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with serve(collector) as url:
        env = {
            **os.environ,
            "EVENTBRIDGE_TELEMETRY__TRACES_EXPORTER": "otlp",
            "EVENTBRIDGE_TELEMETRY__OTLP_ENDPOINT": url,
            "EVENTBRIDGE_TELEMETRY__SERVICE_NAME": "shop",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", OTLP_SCRIPT, env=env, cwd=tmp_path
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
    assert posts, "no request reached the collector"
    path, content_type, _ = posts[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    received = b"".join(body for _, _, body in posts)
    for expected in (b"shop", b"send orders", b"dispatch orders", b"process orders"):
        assert expected in received


async def test_counters_keep_counting_across_a_restart(
    meters: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    meter_provider, reader = meters
    bridge = EventBridge("memory://")
    bridge.instrument(meter_provider=meter_provider)
    bridge.bus("orders").rule("all").target(name="audit")(lambda event: None)
    for count in (2, 1):
        async with bridge:
            await bridge.publish("orders", [Event(type="t", source="/s") for _ in range(count)])
            await bridge.wait_idle(10)
    # Stopped: the counts of the stopped worker are still reported, and never go back.
    found = points(reader)
    assert value(found, "eventbridge.deliveries", outcome="delivered", target="audit") == 3
    assert value(found, "eventbridge.events.matched", target="audit") == 3
