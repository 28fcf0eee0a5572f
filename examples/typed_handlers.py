"""Transforms, typed handlers and reply events, on the in-memory store.

An order bus feeds two targets of one rule: one gets a chat-ready sentence (a TEMPLATE
transform), the other gets the order validated into a pydantic model and replies with a
shipment request on a second bus.

Run it with ``python examples/typed_handlers.py``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from pydantic import BaseModel

from eventbridge_sdk import Event, EventBridge
from eventbridge_sdk.transforms import Template

bridge = EventBridge("memory://")
orders = bridge.bus("orders")
shipping = bridge.bus("shipping")


class Order(BaseModel):
    order: int
    customer: str
    total: Decimal


paid = orders.rule("paid", pattern={"type": ["order.paid"]})


@paid.target(
    transform=Template(
        {"who": "$.data.customer", "total": "$.data.total"}, "${who} paid ${total} EUR"
    )
)
async def tell_the_team(event: Event) -> None:
    print(f"chat: {event.data}")


@paid.target(reply_to="shipping")
async def plan_shipment(order: Order) -> dict[str, object]:
    print(f"plan_shipment: order {order.order} for {order.customer}, {order.total} EUR")
    return {"type": "shipment.requested", "data": {"order": order.order}}


@shipping.rule("requests", pattern={"type": ["shipment.requested"]})
async def ship(event: Event) -> None:
    print(f"ship: order {event.data['order']} (reply from {event.source})")


async def main() -> None:
    async with bridge:
        await bridge.publish(
            "orders",
            Event(
                type="order.paid",
                source="/shop",
                data={"order": 1042, "customer": "Ada", "total": "250.00"},
            ),
        )
        await bridge.wait_idle()  # wait for the reply on the shipping bus as well


if __name__ == "__main__":
    asyncio.run(main())
