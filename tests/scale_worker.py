"""A worker process of the scale-out test: one of several sharing an application's events.

It records, for every event it handles, the event's number and when it handled it, and marks a
file ready once its runtime runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from eventbridge_sdk import Event, EventBridge, RuntimeSettings, Settings

BUFFER_SIZE = 1_000
FETCH_BATCH = 200


async def main(url: str, out: str, ready: str) -> None:
    settings = Settings(
        store=url,
        group="scale-app",
        runtime=RuntimeSettings(buffer_size=BUFFER_SIZE, fetch_batch=FETCH_BATCH),
    )
    bridge = EventBridge(settings=settings)
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    @bridge.bus("orders").rule("all", pattern={"type": ["order.created"]}).target(concurrency=8)
    async def record(event: Event) -> None:
        await asyncio.sleep(0.001)
        os.write(fd, f"{event.data['n']} {time.time():.6f}\n".encode())

    async with bridge:
        Path(ready).touch()
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
