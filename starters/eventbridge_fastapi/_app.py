"""Wire a bridge into a FastAPI application: lifespan, gateway, health, publisher."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from eventbridge_sdk import Event, EventBridge
from eventbridge_sdk._health import liveness, readiness
from eventbridge_sdk.http import Gateway
from eventbridge_sdk.telemetry import metrics_response

__all__ = ["EventPublisher", "Publisher", "get_publisher", "init_app"]

_STATE_KEY = "eventbridge_publisher"

EventInput = Event | Mapping[str, Any]


class Publisher:
    """Publishes events to the buses of the application's bridge; what a route depends on.

    Example::

        @app.post("/orders")
        async def create(order: Order, publish: EventPublisher) -> dict[str, str]:
            await publish("orders", {"type": "order.created", "source": "/shop",
                                     "data": order.model_dump()})
            return {"status": "accepted"}
    """

    def __init__(self, bridge: EventBridge) -> None:
        self.bridge = bridge

    async def __call__(self, bus: str, events: EventInput | Sequence[EventInput]) -> list[str]:
        """Append one event or a list of events to ``bus``; return their ids once durable."""
        return await self.bridge.publish(bus, events)

    publish = __call__


def get_publisher(request: Request) -> Publisher:
    """The FastAPI dependency that gives a route the publisher of ``init_app``'s bridge.

    Example::

        @app.post("/orders")
        async def create(publish: Publisher = Depends(get_publisher)) -> None:
            await publish("orders", Event(type="order.created", source="/shop"))
    """
    publisher = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(publisher, Publisher):
        raise RuntimeError(
            "no event bridge is wired into this application: call "
            "eventbridge_fastapi.init_app(app, bridge) where the FastAPI app is created"
        )
    return publisher


EventPublisher = Annotated[Publisher, Depends(get_publisher)]
"""A route parameter annotated with this gets the publisher: ``publish: EventPublisher``."""


class _MountedGateway:
    """The gateway under ``prefix``: it sees the path below the prefix, as in a ``Mount``."""

    def __init__(self, gateway: Gateway, prefix: str) -> None:
        self.gateway = gateway
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
        await self.gateway(scope, receive, send)


def init_app(
    app: FastAPI,
    bridge: EventBridge,
    *,
    prefix: str = "/eventbridge",
    runtime: bool = True,
    gateway: bool = True,
    metrics: bool = True,
    health_timeout: float = 5.0,
) -> None:
    """Run ``bridge`` with ``app``: the lifespan, the gateway, health, metrics, a publisher.

    - The push runtime starts with the application's lifespan and drains at its shutdown; a
      lifespan the application has already is kept and runs inside it (the bridge is running
      while it runs, so it may publish). ``runtime=False`` only closes the store at shutdown,
      for a web process that publishes while separate workers deliver.
    - ``POST {prefix}/buses/{bus}/events``: the event gateway (``gateway=False`` leaves it out).
    - ``GET {prefix}/health/live`` and ``GET {prefix}/health/ready``: ready (200) when the
      store answers within ``health_timeout`` seconds and the runtime runs, else 503; the body
      lists every runner's state, queue, retries waiting, pause, and every bus's lag.
    - ``GET {prefix}/metrics``: the metrics in the Prometheus text format, with
      ``EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER=prometheus`` and the ``[prometheus]`` extra
      (else 404 saying so; ``metrics=False`` leaves the route out).
    - Routes get a :class:`Publisher` through ``publish: EventPublisher`` (or
      ``Depends(get_publisher)``).

    Example::

        app = FastAPI()
        bridge = EventBridge()
        init_app(app, bridge)  # POST /eventbridge/buses/{bus}/events, /eventbridge/health/...
    """
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    setattr(app.state, _STATE_KEY, Publisher(bridge))
    user_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        try:
            if runtime:
                await bridge.start()
            async with user_lifespan(app_) as state:
                yield state
        finally:
            await bridge.stop()

    app.router.lifespan_context = lifespan

    async def live(request: Request) -> JSONResponse:
        health = liveness(bridge)
        return JSONResponse(health.body, status_code=health.status_code)

    async def ready(request: Request) -> JSONResponse:
        health = await readiness(bridge, runtime=runtime, timeout=health_timeout)
        return JSONResponse(health.body, status_code=health.status_code)

    async def metrics_route(request: Request) -> Response:
        status, body, content_type = metrics_response()
        return Response(body, status_code=status, media_type=content_type)

    routes = [
        Route(f"{prefix}/health/live", live, methods=["GET"], name="eventbridge-live"),
        Route(f"{prefix}/health/ready", ready, methods=["GET"], name="eventbridge-ready"),
    ]
    if metrics:
        routes.append(
            Route(f"{prefix}/metrics", metrics_route, methods=["GET"], name="eventbridge-metrics")
        )
    if gateway:
        routes.append(
            Route(
                f"{prefix}/buses/{{bus}}/events",
                _MountedGateway(Gateway(bridge, runtime=False), prefix),
                name="eventbridge-gateway",
            )
        )
    app.router.routes.extend(routes)
