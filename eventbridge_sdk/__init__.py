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

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

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
    WebhookVerificationError,
)
from ._event import Event
from ._policies import DeadLetter, DeliveryPolicy, Drop, Retry, RetryPolicy
from ._replay import Replay, ReplayProgress
from ._retention import Retention
from ._settings import DeliverySettings, GatewaySettings, RuntimeSettings, Settings
from ._status import BridgeStatus, BusStatus, TargetStatus
from .patterns import compile_pattern
from .sinks import BatchError, BusTarget, Delivery, FunctionSink, Sink, SinkContext

if _TYPE_CHECKING:
    from .http._client import (
        AsyncEventBridgeClient,
        EventBridgeClient,
        PublishError,
        PutEventsResult,
        PutEventsResultEntry,
    )
    from .sinks._http_auth import ApiKeyAuth, BasicAuth, BearerAuth, OAuth2ClientCredentials
    from .sinks.http import HttpDeliveryError, HttpTarget

# The HTTP names import httpx: loaded on first use, so an application without HTTP does not
# pay for the import.
_LAZY = {
    "ApiKeyAuth": "eventbridge_sdk.sinks._http_auth",
    "AsyncEventBridgeClient": "eventbridge_sdk.http._client",
    "BasicAuth": "eventbridge_sdk.sinks._http_auth",
    "BearerAuth": "eventbridge_sdk.sinks._http_auth",
    "EventBridgeClient": "eventbridge_sdk.http._client",
    "HttpDeliveryError": "eventbridge_sdk.sinks.http",
    "HttpTarget": "eventbridge_sdk.sinks.http",
    "OAuth2ClientCredentials": "eventbridge_sdk.sinks._http_auth",
    "PublishError": "eventbridge_sdk.http._client",
    "PutEventsResult": "eventbridge_sdk.http._client",
    "PutEventsResultEntry": "eventbridge_sdk.http._client",
}

__version__ = "0.1.0"

__all__ = [
    "ApiKeyAuth",
    "AsyncEventBridgeClient",
    "BasicAuth",
    "BatchError",
    "BearerAuth",
    "BridgeStatus",
    "Bus",
    "BusStatus",
    "BusTarget",
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
    "EventBridgeClient",
    "EventBridgeError",
    "FunctionSink",
    "GatewaySettings",
    "HttpDeliveryError",
    "HttpTarget",
    "InvalidEventError",
    "InvalidNameError",
    "InvalidPatternError",
    "InvalidReplyError",
    "InvalidTransformError",
    "OAuth2ClientCredentials",
    "PayloadValidationError",
    "PublishError",
    "PutEventsResult",
    "PutEventsResultEntry",
    "Replay",
    "ReplayProgress",
    "Retention",
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
    "WebhookVerificationError",
]


def _present(obj: _Any) -> _Any:
    if getattr(obj, "__module__", "").startswith("eventbridge_sdk._"):
        obj.__module__ = "eventbridge_sdk"
    return obj


for _name in __all__:
    if _name not in _LAZY:
        _present(globals()[_name])
del _name


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'eventbridge_sdk' has no attribute {name!r}")
    value = _present(getattr(_importlib.import_module(module), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
