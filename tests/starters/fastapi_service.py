"""A FastAPI service for the tests that run uvicorn: ``uvicorn fastapi_service:app``.

The store comes from ``EVENTBRIDGE_STORE``; the handler appends ``start <id>`` and
``done <id> <pid>`` lines to the file ``EVENTS_LOG`` names. An order with ``"slow": true``
takes a second to handle, so that a shutdown has something in flight to drain.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from eventbridge_fastapi import EventPublisher, init_app
from fastapi import FastAPI

from eventbridge_sdk import Event, EventBridge

bridge = EventBridge()
orders = bridge.bus("orders")


def log(line: str) -> None:
    with open(os.environ["EVENTS_LOG"], "a") as out:
        out.write(line + "\n")


@orders.rule("created", pattern={"type": ["order.created"]})
async def handle(event: Event) -> None:
    log(f"start {event.id}")
    if isinstance(event.data, dict) and event.data.get("slow"):
        await asyncio.sleep(1.0)  # a slow job, in flight when the shutdown comes
    log(f"done {event.id} {os.getpid()}")


app = FastAPI()
init_app(app, bridge)


@app.post("/orders", status_code=202)
async def create(order: dict[str, Any], publish: EventPublisher) -> dict[str, Any]:
    [event_id] = await publish(
        "orders", {"type": "order.created", "source": "/shop", "data": order}
    )
    return {"event_id": event_id, "pid": os.getpid()}
