"""Sinks take the events a rule matched: the SPI and the built-in sinks."""

from __future__ import annotations

from .base import BatchError, Delivery, Sink, SinkContext
from .function import FunctionSink

__all__ = ["BatchError", "Delivery", "FunctionSink", "Sink", "SinkContext"]
