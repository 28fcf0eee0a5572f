"""An orders API on FastAPI: routes publish events, rules deliver them to a handler and a webhook.

Run it with one command, from the repository root (``pip install -e '.[fastapi,server]'``)::

    python examples/fastapi_app/app.py          # http://127.0.0.1:8000, PORT=... for another

Then, in another terminal::

    curl -X POST localhost:8000/orders -H 'content-type: application/json' \\
         -d '{"order": 1, "customer": "ada", "total": 250}'

- ``POST /orders`` publishes ``order.created`` to the ``orders`` bus in one line (the
  ``EventPublisher`` dependency).
- ``POST /eventbridge/buses/orders/events`` is the event gateway: other services publish
  CloudEvents there (``AsyncEventBridgeClient``); ``GET /eventbridge/health/ready`` is the
  readiness probe.
- Rule ``created`` delivers every order to ``reserve_stock``, a Python handler; rule ``big``
  delivers orders of 100 or more to a webhook (``HttpTarget``), here the sales team's receiver
  at ``POST /hooks/sales`` of the same app, so that the demo needs nothing else running.

Events are kept in ``.eventbridge/shop.db`` (SQLite) under the working directory unless
``EVENTBRIDGE_STORE`` names another store.
"""

from __future__ import annotations

import os

import uvicorn
from eventbridge_fastapi import EventPublisher, init_app
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from eventbridge_sdk import Event, EventBridge, HttpTarget
from eventbridge_sdk.http import from_http

PORT = int(os.environ.get("PORT", "8000"))

bridge = EventBridge(os.environ.get("EVENTBRIDGE_STORE", "sqlite:///.eventbridge/shop.db"))
orders = bridge.bus("orders")


class Order(BaseModel):
    order: int
    customer: str
    total: float


@orders.rule("created", pattern={"type": ["order.created"]})
async def reserve_stock(order: Order) -> None:
    print(f"warehouse: reserving stock for order {order.order} of {order.customer}", flush=True)


orders.rule(
    "big", pattern={"type": ["order.created"], "data": {"total": [{"numeric": [">=", 100]}]}}
).target(HttpTarget(f"http://127.0.0.1:{PORT}/hooks/sales"), name="sales")


app = FastAPI(title="shop")
init_app(app, bridge)


@app.post("/orders", status_code=202)
async def create_order(order: Order, publish: EventPublisher) -> dict[str, str]:
    [event_id] = await publish(
        "orders", Event(type="order.created", source="/shop/orders", data=order.model_dump())
    )
    return {"event_id": event_id}


@app.post("/hooks/sales", status_code=204)
async def sales_webhook(request: Request) -> Response:
    """The sales team's webhook receiver (it would live in another service)."""
    [event] = from_http(request.headers.items(), await request.body())
    data = event.data if isinstance(event.data, dict) else {}
    print(f"sales webhook: big order {data.get('order')} totals {data.get('total')}", flush=True)
    return Response(status_code=204)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT)
