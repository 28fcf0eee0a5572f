"""A worker process for the retry crash test: fails every event's first attempt, then handles it.

It appends ``n`` to ``failed.txt`` on a first attempt and to ``handled.txt`` on a later one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from eventbridge_sdk import Event, EventBridge, RetryPolicy


def main(db: str, folder: str) -> None:
    bridge = EventBridge(f"sqlite:///{db}?poll_interval=0.01")
    failed = os.open(Path(folder) / "failed.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    handled = os.open(Path(folder) / "handled.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    retry = RetryPolicy(max_attempts=5, backoff="fixed", initial_delay=1.0, jitter=0)

    @bridge.bus("orders").rule("all").target(concurrency=1, retry=retry)
    async def record(event: Event) -> None:
        n = event.data["n"]
        if _first_attempt(folder, n):
            os.write(failed, f"{n}\n".encode())
            raise ConnectionError("first attempts always fail here")
        await asyncio.sleep(0.005)
        os.write(handled, f"{n}\n".encode())

    bridge.run()


def _first_attempt(folder: str, n: int) -> bool:
    path = Path(folder) / "failed.txt"
    return not path.exists() or str(n) not in path.read_text().split()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
