"""The orders app's buses and rules: found by ``eventbridge_django`` at start-up."""

from __future__ import annotations

from django.conf import settings
from eventbridge_django import get_bridge
from pydantic import BaseModel

from eventbridge_sdk import HttpTarget

orders = get_bridge().bus("orders")


class Order(BaseModel):
    order: int
    customer: str
    total: float


@orders.rule("created", pattern={"type": ["order.created"]})
def reserve_stock(order: Order) -> None:  # a plain function: runs in a thread, may use the ORM
    print(f"warehouse: reserving stock for order {order.order} of {order.customer}", flush=True)


orders.rule(
    "big", pattern={"type": ["order.created"], "data": {"total": [{"numeric": [">=", 100]}]}}
).target(HttpTarget(settings.SALES_WEBHOOK_URL), name="sales")
