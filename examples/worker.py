"""A long-running worker and a publisher sharing one SQLite file.

    python examples/worker.py              # terminal 1: handles orders until Ctrl-C or SIGTERM
    python examples/worker.py publish 5    # terminal 2: publishes 5 orders to the same file

Start several workers: on SQLite one reads the bus at a time and the others stand by; kill the
reader and another takes over where it stopped. The store file is ``.eventbridge/worker.db``
under the working directory unless ``EVENTBRIDGE_STORE`` names another store. On a broker, every
worker takes a share of the events at the same time (see docs/deployment.md)::

    pip install 'eventbridge-sdk[redis]'
    EVENTBRIDGE_STORE=redis://localhost:6379/0 python examples/worker.py             # 2 or 3 times
    EVENTBRIDGE_STORE=redis://localhost:6379/0 python examples/worker.py publish 100
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from pydantic import BaseModel

from eventbridge_sdk import EventBridge

bridge = EventBridge(os.environ.get("EVENTBRIDGE_STORE", "sqlite:///.eventbridge/worker.db"))
orders = bridge.bus("orders")


class Order(BaseModel):
    order: int
    total: float


log = logging.getLogger("worker")


@orders.rule("created", pattern={"type": ["order.created"]})
def record(order: Order) -> None:  # a plain function: runs in the handler thread pool
    log.info("worker %d: order %d totals %s", os.getpid(), order.order, order.total)


async def publish(count: int) -> None:
    ids = await bridge.publish(
        "orders",
        [
            {"type": "order.created", "source": "/shop", "data": {"order": n, "total": 10.0 * n}}
            for n in range(1, count + 1)
        ],
    )
    await bridge.stop()  # closes the store; this process never started the runtime
    print(f"published {len(ids)} orders")


if __name__ == "__main__":
    if sys.argv[1:2] == ["publish"]:
        asyncio.run(publish(int(sys.argv[2]) if len(sys.argv) > 2 else 5))
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        raise SystemExit(0 if bridge.run() else 1)
