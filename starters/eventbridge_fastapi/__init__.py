"""FastAPI starter of eventbridge-sdk: the event bus with one line of setup.

``init_app(app, bridge)`` runs the push runtime with the application's lifespan, serves the
event gateway and health endpoints under ``/eventbridge``, and gives routes a publisher.

Example::

    from fastapi import FastAPI
    from eventbridge_sdk import EventBridge
    from eventbridge_fastapi import EventPublisher, init_app

    bridge = EventBridge()
    orders = bridge.bus("orders")
    app = FastAPI()
    init_app(app, bridge)

    @app.post("/orders")
    async def create(publish: EventPublisher) -> None:
        await publish("orders", {"type": "order.created", "source": "/shop"})
"""

from __future__ import annotations

from ._app import EventPublisher, Publisher, get_publisher, init_app

__all__ = ["EventPublisher", "get_publisher", "init_app", "Publisher"]
