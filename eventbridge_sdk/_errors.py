"""The errors of eventbridge-sdk.

Every error the library raises on purpose derives from :class:`EventBridgeError`::

    EventBridgeError
     ├── ConfigurationError            settings, names, declarations, wiring
     │    ├── InvalidNameError          a bus, rule or target name that breaks the naming rules
     │    ├── DuplicateNameError        a second declaration under a name already taken
     │    └── UnknownBusError           a bus that was never declared
     ├── InvalidEventError (ValueError) an event that is not a valid CloudEvent 1.0
     ├── InvalidPatternError (ValueError) an event pattern that is not valid
     ├── InvalidTransformError (ValueError) a transform that is not valid
     ├── WebhookVerificationError (ValueError) a webhook whose signature, id or timestamp fails
     ├── StoreError                    the store failed (unreachable, unwritable, corrupt)
     │    └── StoreClosedError          the store was used after it was closed
     ├── DeliveryError                 a target could not take an event
     │    ├── PayloadValidationError    the event's data does not fit the handler's typed parameter
     │    ├── InvalidReplyError         a handler returned something that is not a reply event
     │    └── TransformFailedError      a target's transform raised on an event
     └── RuntimeStateError             a lifecycle call in the wrong state

Each message says what was wrong, where (bus, rule, target, path inside a pattern), and what to do.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DeliveryError",
    "DuplicateNameError",
    "EventBridgeError",
    "InvalidEventError",
    "InvalidNameError",
    "InvalidPatternError",
    "InvalidReplyError",
    "InvalidTransformError",
    "PayloadValidationError",
    "RuntimeStateError",
    "StoreClosedError",
    "StoreError",
    "TransformFailedError",
    "UnknownBusError",
    "WebhookVerificationError",
]


class EventBridgeError(Exception):
    """The root of every error this library raises on purpose.

    Example::

        try:
            await bridge.publish("orders", event)
        except EventBridgeError as exc:
            log.error("publish failed: %s", exc)
    """


class ConfigurationError(EventBridgeError):
    """A declaration, a setting or the wiring is wrong; fix the code or the configuration."""


class InvalidNameError(ConfigurationError, ValueError):
    """A bus, rule or target name breaks the naming rules (``[A-Za-z0-9._-]``, 1-127 chars)."""


class DuplicateNameError(ConfigurationError):
    """A bus, rule or target was declared twice under one name."""


class UnknownBusError(ConfigurationError, LookupError):
    """An operation named a bus that was never declared."""


class InvalidEventError(EventBridgeError, ValueError):
    """An event is not a valid CloudEvent 1.0; the message names the attribute."""


class InvalidPatternError(EventBridgeError, ValueError):
    """An event pattern is not valid.

    ``path`` is where inside the pattern the problem sits (``data.amount[0].numeric``), or ``""``
    for the pattern as a whole.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class InvalidTransformError(EventBridgeError, ValueError):
    """A transform is not valid; raised when the target is declared, never at delivery time."""


class StoreError(EventBridgeError):
    """The store failed: it could not be opened, written or read."""


class StoreClosedError(StoreError):
    """The store was used after it was closed."""


class DeliveryError(EventBridgeError):
    """A target could not take an event.

    ``retryable`` tells the delivery policy whether another attempt could succeed.
    """

    retryable: bool = True


class PayloadValidationError(DeliveryError, ValueError):
    """The event's data does not validate into the handler's typed parameter.

    A permanent failure: the same event would fail again, so it is never retried.
    """

    retryable = False


class RuntimeStateError(EventBridgeError, RuntimeError):
    """A lifecycle method was called in a state that does not allow it."""


class InvalidReplyError(DeliveryError):
    """A handler returned something that is not a reply event; retrying would not help."""

    retryable = False


class TransformFailedError(DeliveryError, ValueError):
    """A target's transform raised on an event; the same event would fail the same way, so it
    is not retried (it goes to the dead-letter bus). The transform's error is the ``__cause__``.
    """

    retryable = False


class WebhookVerificationError(EventBridgeError, ValueError):
    """A webhook request whose signature, id or timestamp does not verify.

    Answer it with ``400``/``401`` and do not process the body; the message says which check
    failed (a missing header, a timestamp outside the tolerance, no matching signature).
    """
