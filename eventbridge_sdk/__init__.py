"""eventbridge-sdk: an embeddable event bus for Python.

Declare buses, rules (event patterns) and targets with decorators; the push runtime runs in
your process on an embedded durable store and delivers CloudEvents with back pressure and
at-least-once guarantees.

Example::

    from eventbridge_sdk import Event, EventBridge

    bridge = EventBridge()
    orders = bridge.bus("orders")

    @orders.rule("paid", pattern={"type": ["order.paid"]})
    async def ship(event: Event) -> None:
        print("shipping", event.data)
"""

from __future__ import annotations

from ._app import EventBridge
from ._dead_letters import DeadLetterEntry, DeadLetters
from ._declarations import Bus, Rule, Target
from ._errors import (
    ConfigurationError,
    DeliveryError,
    DuplicateNameError,
    EventBridgeError,
    InvalidEventError,
    InvalidNameError,
    InvalidPatternError,
    InvalidReplyError,
    InvalidTransformError,
    PayloadValidationError,
    RuntimeStateError,
    StoreClosedError,
    StoreError,
    TransformFailedError,
    UnknownBusError,
)
from ._event import Event
from ._policies import DeadLetter, DeliveryPolicy, Drop, Retry, RetryPolicy
from ._settings import DeliverySettings, RuntimeSettings, Settings
from ._status import BridgeStatus, BusStatus, TargetStatus
from .patterns import compile_pattern
from .sinks import BatchError, Delivery, FunctionSink, Sink, SinkContext

__version__ = "0.1.0"

__all__ = [
    "BatchError",
    "BridgeStatus",
    "Bus",
    "BusStatus",
    "compile_pattern",
    "ConfigurationError",
    "DeadLetter",
    "DeadLetterEntry",
    "DeadLetters",
    "Delivery",
    "DeliveryError",
    "DeliveryPolicy",
    "DeliverySettings",
    "Drop",
    "DuplicateNameError",
    "Event",
    "EventBridge",
    "EventBridgeError",
    "FunctionSink",
    "InvalidEventError",
    "InvalidNameError",
    "InvalidPatternError",
    "InvalidReplyError",
    "InvalidTransformError",
    "PayloadValidationError",
    "Retry",
    "RetryPolicy",
    "Rule",
    "RuntimeSettings",
    "RuntimeStateError",
    "Settings",
    "Sink",
    "SinkContext",
    "StoreClosedError",
    "StoreError",
    "Target",
    "TargetStatus",
    "TransformFailedError",
    "UnknownBusError",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("eventbridge_sdk._"):
        _obj.__module__ = "eventbridge_sdk"
del _name, _obj
