"""The FastAPI starter in process, through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from eventbridge_fastapi import EventPublisher, Publisher, get_publisher, init_app
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from eventbridge_sdk import DeadLetter, Event, EventBridge
from eventbridge_sdk.http import to_binary


class Order(BaseModel):
    order: int
    total: float


def make_app(bridge: EventBridge, lifespan_log: list[str]) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifespan_log.append(f"user startup, bridge running: {bridge.running}")
        yield
        lifespan_log.append(f"user shutdown, bridge running: {bridge.running}")

    app = FastAPI(lifespan=lifespan)
    init_app(app, bridge)

    @app.post("/orders", status_code=202)
    async def create(order: Order, publish: EventPublisher) -> dict[str, str]:
        [event_id] = await publish(
            "orders", {"type": "order.created", "source": "/shop", "data": order.model_dump()}
        )
        return {"event_id": event_id}

    @app.post("/orders-with-depends", status_code=202)
    async def create_plain(
        order: Order,
        publish: Publisher = Depends(get_publisher),  # noqa: B008  (FastAPI's own idiom)
    ) -> None:
        await publish.publish(
            "orders", Event(type="order.created", source="/shop", data=order.model_dump())
        )

    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            yield client


async def test_gateway_and_route_events_reach_the_handler_and_user_lifespan_runs_inside() -> None:
    bridge = EventBridge("memory://")
    received: list[int] = []

    @bridge.bus("orders").rule("created", pattern={"type": ["order.created"]})
    async def record(order: Order) -> None:
        received.append(order.order)

    log: list[str] = []
    app = make_app(bridge, log)
    async with serving(app) as client:
        headers, body = to_binary(
            Event(type="order.created", source="/partner", data={"order": 1, "total": 5})
        )
        answer = await client.post(
            "/eventbridge/buses/orders/events", headers=headers, content=body
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["failed_entry_count"] == 0
        answer = await client.post("/orders", json={"order": 2, "total": 7})
        assert answer.status_code == 202, answer.text
        answer = await client.post("/orders-with-depends", json={"order": 3, "total": 9})
        assert answer.status_code == 202, answer.text
        await bridge.wait_idle(10)
        assert sorted(received) == [1, 2, 3]
    assert log == ["user startup, bridge running: True", "user shutdown, bridge running: True"]
    assert not bridge.running


async def test_gateway_answers_with_problem_details_under_a_custom_prefix() -> None:
    bridge = EventBridge("memory://")
    bridge.bus("orders")
    app = FastAPI()
    init_app(app, bridge, prefix="/events/")
    async with serving(app) as client:
        unknown = await client.post(
            "/events/buses/nope/events",
            json={"specversion": "1.0", "id": "1", "type": "t", "source": "/s"},
            headers={"content-type": "application/cloudevents+json"},
        )
        wrong_method = await client.get("/events/buses/orders/events")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "UnknownBus"
    assert wrong_method.status_code == 405


async def test_readiness_lists_runners_lag_retries_and_paused_targets() -> None:
    bridge = EventBridge("memory://")
    orders = bridge.bus("orders")
    failed = asyncio.Event()

    @orders.rule("paid", pattern={"type": ["order.paid"]}).target(tolerance="none")
    async def charge(event: Event) -> None:
        failed.set()
        raise DeadLetter("card refused")

    @orders.rule("created", pattern={"type": ["order.created"]})
    async def ship(event: Event) -> None:
        pass

    app = FastAPI()
    init_app(app, bridge)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        before = await client.get("/eventbridge/health/ready")
        async with app.router.lifespan_context(app):
            live = await client.get("/eventbridge/health/live")
            await bridge.publish("orders", Event(type="order.paid", source="/shop"))
            await asyncio.wait_for(failed.wait(), 10)
            ready = await client.get("/eventbridge/health/ready")
    assert before.status_code == 503
    assert before.json()["reasons"] == [
        "the push runtime is not running (not started yet, or stopping)"
    ]
    assert live.status_code == 200
    assert live.json() == {"live": True, "running": True}
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert body["paused"] == ["orders/paid/charge"]
    states = {runner["name"]: runner["state"] for runner in body["runners"]}
    assert states == {"orders/paid/charge": "paused", "orders/created/ship": "running"}
    assert {"lag", "retry_queue", "buses", "dead_letters"} <= set(body)
    assert [bus["name"] for bus in body["buses"]] == ["orders", "dead-letters"]


async def test_not_ready_while_the_store_is_unreachable() -> None:
    pytest.importorskip("redis")
    with socket_nobody_listens_on() as port:
        bridge = EventBridge(f"redis://127.0.0.1:{port}/0")
        bridge.bus("orders")
        app = FastAPI()
        init_app(app, bridge, runtime=False, health_timeout=5)
        async with serving(app) as client:
            ready = await client.get("/eventbridge/health/ready")
    assert ready.status_code == 503
    [reason] = ready.json()["reasons"]
    assert reason.startswith(("the store is unreachable", "the store did not answer")), reason


@contextlib.contextmanager
def socket_nobody_listens_on() -> Iterator[int]:
    # Bound but never listening: connections to it are refused for as long as it is held.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_a_route_without_init_app_is_told_what_to_do() -> None:
    app = FastAPI()

    @app.post("/orders")
    async def create(publish: EventPublisher) -> None:
        await publish("orders", {"type": "t", "source": "/s"})

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        with pytest.raises(RuntimeError, match=r"call eventbridge_fastapi.init_app\(app, bridge\)"):
            await client.post("/orders")


async def test_the_metrics_route_serves_the_prometheus_text_format() -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider

    bridge = EventBridge("memory://")
    reader = PrometheusMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    bridge.instrument(meter_provider=meter_provider)
    bridge.bus("orders").rule("all").target(name="audit")(lambda event: None)
    app = FastAPI()
    init_app(app, bridge)
    try:
        async with serving(app) as client:
            await bridge.publish("orders", [Event(type="t", source="/s") for _ in range(2)])
            await bridge.wait_idle(10)
            answer = await client.get("/eventbridge/metrics")
    finally:
        meter_provider.shutdown()  # takes the reader out of the default registry
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    delivered = [
        line
        for line in answer.text.splitlines()
        if line.startswith("eventbridge_deliveries_total{") and '"delivered"' in line
    ]
    assert len(delivered) == 1
    assert delivered[0].endswith(" 2.0")


async def test_the_metrics_route_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import eventbridge_sdk.telemetry as telemetry

    monkeypatch.setattr(telemetry, "_installed", lambda module: module != "prometheus_client")
    app = FastAPI()
    init_app(app, EventBridge("memory://"))
    async with serving(app) as client:
        answer = await client.get("/eventbridge/metrics")
    assert answer.status_code == 404
    assert "eventbridge-sdk[prometheus]" in answer.text
    assert "METRICS_EXPORTER=prometheus" in answer.text


async def test_the_metrics_route_is_404_while_nothing_is_exported_to_prometheus() -> None:
    app = FastAPI()
    init_app(app, EventBridge("memory://"))
    async with serving(app) as client:
        answer = await client.get("/eventbridge/metrics")
    assert answer.status_code == 404
    assert "no OpenTelemetry metrics are exported in the Prometheus format" in answer.text
