"""Quickstart: one bus, two rules, an async and a sync handler, on the embedded SQLite store.

Run it with ``python examples/quickstart.py``. Events are kept in ``./.eventbridge/events.db``
(set ``EVENTBRIDGE_STORE=memory://`` to keep nothing).
"""

from __future__ import annotations

import asyncio

from eventbridge_sdk import Event, EventBridge

bridge = EventBridge()
orders = bridge.bus("orders")


# A rule used directly as a decorator: the function is its only target.
@orders.rule(
    "big-orders",
    pattern={"type": ["order.created"], "data": {"total": [{"numeric": [">=", 100]}]}},
)
async def notify_sales(event: Event) -> None:
    print(f"notify_sales: order {event.data['order']} totals {event.data['total']}")


# A rule with targets added one by one; a plain function runs in the handler thread pool.
paid = orders.rule("paid", pattern={"type": ["order.paid"]})


@paid.target()
def print_invoice(event: Event) -> None:
    print(f"print_invoice: invoice for order {event.data['order']}")


@paid.target(concurrency=1)
async def thank_customer(event: Event) -> None:
    print(f"thank_customer: thanks for order {event.data['order']}")


async def main() -> None:
    async with bridge:  # starts the push runtime; leaving the block drains it
        await bridge.publish(
            "orders",
            [
                Event(type="order.created", source="/shop", data={"order": 1, "total": 250}),
                Event(type="order.created", source="/shop", data={"order": 2, "total": 20}),
                Event(type="order.paid", source="/shop", data={"order": 1}),
            ],
        )


if __name__ == "__main__":
    asyncio.run(main())
