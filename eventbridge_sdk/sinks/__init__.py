"""Sinks take the events a rule matched: the SPI and the built-in sinks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import BatchError, Delivery, Sink, SinkContext
from .bus import BusTarget
from .function import FunctionSink

if TYPE_CHECKING:
    from .http import HttpTarget

__all__ = [
    "BatchError",
    "BusTarget",
    "Delivery",
    "FunctionSink",
    "HttpTarget",
    "Sink",
    "SinkContext",
]


def __getattr__(name: str) -> Any:
    # HttpTarget imports httpx: loaded on first use.
    if name == "HttpTarget":
        from .http import HttpTarget

        return HttpTarget
    raise AttributeError(f"module 'eventbridge_sdk.sinks' has no attribute {name!r}")
