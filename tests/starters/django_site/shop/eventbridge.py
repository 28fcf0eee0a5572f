"""Declarations found by the starter's autodiscovery."""

from __future__ import annotations

import os
import threading

from eventbridge_django import get_bridge

from eventbridge_sdk import Event

RECEIVED: list[tuple[str, object]] = []
_lock = threading.Lock()

orders = get_bridge().bus("orders")


@orders.rule("all", pattern={"source": [{"prefix": "/shop"}]})
def record(event: Event) -> None:
    with _lock:
        RECEIVED.append((event.type, event.data))
    log = os.environ.get("SITE_EVENTS_LOG")
    if log:
        with open(log, "a") as out:
            out.write(f"{event.type} {event.id}\n")
