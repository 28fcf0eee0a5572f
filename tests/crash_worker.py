"""A worker process for the crash test: appends the number of every event it handles to a file."""

from __future__ import annotations

import asyncio
import os
import sys

from eventbridge_sdk import Event, EventBridge


def main(db: str, out: str) -> None:
    bridge = EventBridge(f"sqlite:///{db}?poll_interval=0.01")
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    @bridge.bus("orders").rule("all").target(concurrency=4)
    async def record(event: Event) -> None:
        await asyncio.sleep(0.001)
        os.write(fd, f"{event.data['n']}\n".encode())

    bridge.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
