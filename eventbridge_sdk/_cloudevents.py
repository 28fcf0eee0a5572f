"""Conversion between :class:`Event` and the ``cloudevents`` SDK's event classes.

The SDK is an optional dependency (``pip install 'eventbridge-sdk[cloudevents]'``); it is imported
only when a conversion is asked for.
"""

from __future__ import annotations

from typing import Any

from ._errors import ConfigurationError, InvalidEventError
from ._event import Event

__all__ = ["from_sdk_event", "to_sdk_event"]


def _sdk_event_class() -> Any:
    try:
        from cloudevents.core.v1.event import CloudEvent
    except ImportError:
        raise ConfigurationError(
            "converting to the cloudevents SDK needs cloudevents>=2.0; install it with "
            "pip install 'eventbridge-sdk[cloudevents]'"
        ) from None
    return CloudEvent


def to_sdk_event(event: Event) -> Any:
    """Return a ``cloudevents.core.v1.event.CloudEvent`` carrying the same attributes and data."""
    attributes: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
    }
    for name in ("time", "subject", "datacontenttype", "dataschema"):
        value = getattr(event, name)
        if value is not None:
            attributes[name] = value
    attributes.update(event.extensions)
    return _sdk_event_class()(attributes, event.data)


def from_sdk_event(sdk_event: Any) -> Event:
    """Build an :class:`Event` from a cloudevents SDK event (v2 core, or the v1 ``http`` class)."""
    get_attributes = getattr(sdk_event, "get_attributes", None)
    if get_attributes is None:
        raise InvalidEventError(f"expected a cloudevents SDK event, got {type(sdk_event).__name__}")
    attributes = dict(get_attributes())
    get_data = getattr(sdk_event, "get_data", None)
    data = get_data() if get_data is not None else getattr(sdk_event, "data", None)
    core = {
        name: attributes.pop(name)
        for name in (
            "id",
            "source",
            "type",
            "specversion",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
        )
        if name in attributes and attributes[name] is not None
    }
    extensions = {k: v for k, v in attributes.items() if v is not None}
    return Event(data=data, extensions=extensions, **core)
