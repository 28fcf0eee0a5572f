"""The push runtime: listener, buffer, dispatcher, runners, offset tracking, the worker."""

from __future__ import annotations

from .offsets import OffsetTracker
from .runner import DeliveryObserver, Runner
from .worker import BusSpec, RuleSpec, TargetSpec, Worker, WorkerOptions

__all__ = [
    "BusSpec",
    "DeliveryObserver",
    "OffsetTracker",
    "RuleSpec",
    "Runner",
    "TargetSpec",
    "Worker",
    "WorkerOptions",
]
