"""The event envelope: a CloudEvent 1.0 and its JSON form."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel

from ._errors import InvalidEventError

__all__ = ["Event"]

SPECVERSION = "1.0"
CORE_ATTRIBUTES = frozenset(
    {"id", "source", "type", "specversion", "subject", "time", "datacontenttype", "dataschema"}
)
_RESERVED = CORE_ATTRIBUTES | {"data", "data_base64"}
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}\Z")
_OPTIONAL_STRINGS = ("subject", "datacontenttype", "dataschema")
_FROM_FORM: Any = object()


class _Ids:
    """Event ids: a UUID (version-4 layout) made of 60 random bits per process and a counter.

    Ids need uniqueness, not secrecy. A random UUID per event costs a system call
    (``uuid.uuid4()``, 2.5 µs) or formatting 128 random bits (0.8 µs); this costs one counter
    step and one format (0.4 µs). The random part is drawn again in a forked child, so parent
    and child never share it.
    """

    prefix = ""
    counter: Iterator[int] = iter(())

    @classmethod
    def reseed(cls) -> None:
        text = os.urandom(8).hex()
        cls.prefix = f"{text[:8]}-{text[8:12]}-4{text[13:16]}-"
        cls.counter = itertools.count(int.from_bytes(os.urandom(4)))


_Ids.reseed()
os.register_at_fork(after_in_child=_Ids.reseed)


def new_event_id() -> str:
    """A unique event id in the form of a UUID (see :class:`_Ids`)."""
    # The variant bits (10) lead the fourth group; 62 bits of counter follow.
    tail = f"{0x8000000000000000 | (next(_Ids.counter) & 0x3FFFFFFFFFFFFFFF):016x}"
    return f"{_Ids.prefix}{tail[:4]}-{tail[4:]}"


def encode_json(value: Any, data: Any, event_id: str) -> bytes:
    """``value`` (an event's JSON form, or its ``data`` alone) as JSON bytes; an
    :class:`InvalidEventError` naming the event when ``data`` cannot be JSON."""
    try:
        # orjson writes a datetime itself, in the same RFC 3339 form as to_dict().
        body = orjson.dumps(value, option=orjson.OPT_UTC_Z)
    except TypeError as exc:
        raise InvalidEventError(
            f"event {event_id!r}: data cannot be encoded as JSON ({exc}); pass JSON-compatible "
            "values or bytes"
        ) from None
    # orjson writes NaN and infinities as null, a silent change of the data; only a body with
    # a null in it can hide one, so only such a body pays for the walk.
    bad = _non_finite_at(data, "data") if b"null" in body else None
    if bad is not None:
        path, found = bad
        raise InvalidEventError(
            f"event {event_id!r}: {path} is {found!r}, which JSON cannot carry; use null, "
            "a string, or leave the field out"
        )
    return body


def _non_finite_at(value: Any, path: str) -> tuple[str, float] | None:
    """Where the first NaN or infinity inside ``value`` is (JSON cannot carry them), and it.

    Walks what orjson or pydantic would write: mappings, lists and tuples, pydantic models
    and dataclasses, subclasses included.
    """
    if isinstance(value, float):
        return (path, value) if value - value != 0.0 else None  # nan or inf minus itself: nan
    if isinstance(value, str | bytes | bytearray):
        return None
    items: Any
    if isinstance(value, Mapping):
        items = ((f"{path}.{key}", item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    elif isinstance(value, BaseModel):
        items = ((f"{path}.{name}", item) for name, item in value.__dict__.items())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = (
            (f"{path}.{field.name}", getattr(value, field.name))
            for field in dataclasses.fields(value)
        )
    else:
        return None
    for where, item in items:
        found = _non_finite_at(item, where)
        if found:
            return found
    return None


_now = datetime.now


def _where(event_id: object) -> str:
    return f"event {event_id!r}" if event_id is not None else "event"


def _check_attributes(
    type: object,
    source: object,
    id: object,
    specversion: object,
    subject: object,
    datacontenttype: object,
    dataschema: object,
) -> None:
    """Raise :class:`InvalidEventError` for the first attribute that is wrong (or return: an
    attribute of a ``str`` subclass is fine)."""
    where = _where(id)
    for name, value in (("type", type), ("source", source)):
        if not isinstance(value, str) or not value:
            raise InvalidEventError(
                f"{where}: attribute {name!r} is required and must be a non-empty string, "
                f"got {value!r}"
            )
    if id is not None and (not isinstance(id, str) or not id):
        raise InvalidEventError(f"event: attribute 'id' must be a non-empty string, got {id!r}")
    if specversion != SPECVERSION:
        raise InvalidEventError(
            f"{where}: specversion {specversion!r} is not supported; only '1.0' is"
        )
    optional = (subject, datacontenttype, dataschema)
    for name, given in zip(_OPTIONAL_STRINGS, optional, strict=True):
        if given is not None and not isinstance(given, str):
            raise InvalidEventError(f"{where}: attribute {name!r} must be a string, got {given!r}")


def _format_time(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _parse_time(value: object, where: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidEventError(
                f"{where}: time {value!r} has no time zone; pass an aware datetime "
                "(for example datetime.now(UTC))"
            )
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEventError(
                f"{where}: time {value!r} is not an RFC 3339 timestamp "
                "(for example 2026-01-31T12:00:00Z)"
            ) from None
        if parsed.tzinfo is None:
            raise InvalidEventError(f"{where}: time {value!r} has no time zone offset")
        return parsed
    raise InvalidEventError(
        f"{where}: time must be a datetime or an RFC 3339 string, not {value!r}"
    )


def _is_json_content(content_type: str | None) -> bool:
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media == "text/json"


class Event:
    """A CloudEvent 1.0: context attributes, extensions and ``data``.

    ``id`` defaults to a unique id in the form of a UUID and ``time`` to now (UTC); an event
    decoded from JSON that has no ``time`` keeps ``None``, as the attribute is optional. ``type``
    and ``source`` are required. Extension names are 1-20 lowercase letters or digits; their
    values are strings, integers or booleans; pass them as ``extensions={...}``.

    ``data`` is any JSON value (dicts, lists, strings, numbers, booleans, ``None``), ``bytes``
    (carried as ``data_base64``), or a pydantic model (carried as its JSON dump). Datetimes,
    UUIDs and dataclasses inside it are written as JSON strings and objects; NaN and infinities
    are rejected when the event is encoded, since JSON cannot carry them.

    Example::

        event = Event(type="order.created", source="/shop", data={"order": 42})
        assert Event.from_json(event.to_json()) == event
    """

    __slots__ = (
        "data",
        "datacontenttype",
        "dataschema",
        "extensions",
        "id",
        "source",
        "specversion",
        "subject",
        "time",
        "type",
    )

    id: str
    source: str
    type: str
    specversion: str
    subject: str | None
    time: datetime | None
    datacontenttype: str | None
    dataschema: str | None
    extensions: dict[str, str | int | bool]
    data: Any

    def __init__(
        self,
        *,
        type: str,
        source: str,
        data: Any = None,
        id: str | None = None,
        subject: str | None = None,
        time: datetime | str | None = None,
        datacontenttype: str | None = None,
        dataschema: str | None = None,
        specversion: str = SPECVERSION,
        extensions: Mapping[str, str | int | bool] | None = None,
    ) -> None:
        # The checks cost a few comparisons when everything is as it should be; the messages
        # are built only when something is not.
        if (
            type.__class__ is not str
            or source.__class__ is not str
            or not type
            or not source
            or (id is not None and (id.__class__ is not str or not id))
            or specversion != SPECVERSION
            or (subject is not None and subject.__class__ is not str)
            or (datacontenttype is not None and datacontenttype.__class__ is not str)
            or (dataschema is not None and dataschema.__class__ is not str)
        ):
            _check_attributes(type, source, id, specversion, subject, datacontenttype, dataschema)
        self.id = new_event_id() if id is None else id
        self.source = source
        self.type = type
        self.specversion = specversion
        self.subject = subject
        self.time = _now(UTC) if time is None else _parse_time(time, _where(id))
        self.datacontenttype = datacontenttype
        self.dataschema = dataschema
        self.extensions = _check_extensions(extensions, _where(id)) if extensions else {}
        self.data = data

    @classmethod
    def _from_trusted(cls, form: Mapping[str, Any], data: Any = _FROM_FORM) -> Event:
        """Build an event from the JSON form of an event this library already validated.

        ``data`` replaces the form's data when given (a target's transformed payload).
        """
        event = cls.__new__(cls)
        get = form.get
        event.id = form["id"]
        event.source = form["source"]
        event.type = form["type"]
        event.specversion = get("specversion", SPECVERSION)
        event.subject = get("subject")
        time = get("time")
        event.time = None if time is None else datetime.fromisoformat(time)
        event.datacontenttype = get("datacontenttype")
        event.dataschema = get("dataschema")
        # Which keys are attributes is known from the values just read: only when the form
        # holds more keys than that does it carry extensions.
        known = 3 + ("specversion" in form) + (time is not None) + (event.subject is not None)
        known += (event.datacontenttype is not None) + (event.dataschema is not None)
        encoded = get("data_base64")
        if encoded is not None or "data" in form:
            known += 1
        if data is _FROM_FORM:
            data = get("data") if encoded is None else base64.b64decode(encoded)
        event.data = data
        extra = len(form) - known
        if not extra:
            event.extensions = {}
        elif extra == 1 and "traceparent" in form:  # the common case: a trace context alone
            event.extensions = {"traceparent": form["traceparent"]}
        else:
            event.extensions = {
                name: value for name, value in form.items() if name not in _RESERVED
            }
        return event

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Event:
        """Build and validate an event from its CloudEvents JSON form (a mapping).

        Example::

            Event.from_dict({"specversion": "1.0", "id": "1", "type": "t", "source": "s"})
        """
        if not isinstance(value, Mapping):
            raise InvalidEventError(f"event must be a JSON object, got {type(value).__name__}")
        attrs = dict(value)
        where = f"event {attrs.get('id')!r}" if "id" in attrs else "event"
        if "data" in attrs and "data_base64" in attrs:
            raise InvalidEventError(f"{where}: has both 'data' and 'data_base64'; keep one")
        data: Any = attrs.pop("data", None)
        if "data_base64" in attrs:
            encoded = attrs.pop("data_base64")
            try:
                data = base64.b64decode(encoded, validate=True)
            except (ValueError, TypeError):
                raise InvalidEventError(f"{where}: 'data_base64' is not valid base64") from None
        core = {name: attrs.pop(name) for name in CORE_ATTRIBUTES if name in attrs}
        missing = [name for name in ("specversion", "id", "type", "source") if name not in core]
        if missing:
            names = ", ".join(repr(name) for name in missing)
            raise InvalidEventError(
                f"{where}: attribute{'s' if len(missing) > 1 else ''} {names} "
                f"{'are' if len(missing) > 1 else 'is'} required"
            )
        event = cls(data=data, extensions=attrs, **core)
        if core.get("time") is None:
            event.time = None  # optional in CloudEvents: an event received without one keeps none
        return event

    @classmethod
    def from_json(cls, value: str | bytes) -> Event:
        """Parse the CloudEvents JSON format (structured mode) into a validated event."""
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidEventError(f"event is not valid JSON: {exc}") from None
        return cls.from_dict(parsed)

    def to_dict(self) -> dict[str, Any]:
        """Return the CloudEvents JSON form: attributes and extensions at the top, then data.

        Binary data (``bytes``) is carried as ``data_base64``; any other data as ``data``.
        Patterns and transforms work on this form.
        """
        return self._form(None if self.time is None else _format_time(self.time))

    def _form(self, time: str | datetime | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        if time is not None:
            out["time"] = time
        if self.subject is not None:
            out["subject"] = self.subject
        if self.datacontenttype is not None:
            out["datacontenttype"] = self.datacontenttype
        if self.dataschema is not None:
            out["dataschema"] = self.dataschema
        if self.extensions:
            out.update(self.extensions)
        data = self.data
        if data.__class__ is dict:  # the common case, settled in one comparison
            out["data"] = data
            return out
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        if isinstance(data, bytes | bytearray | memoryview):
            out["data_base64"] = base64.b64encode(bytes(data)).decode("ascii")
        elif data is not None:
            out["data"] = data
        return out

    def to_json(self) -> bytes:
        """Encode the event in the CloudEvents JSON format (UTF-8 bytes)."""
        return encode_json(self._form(self.time), self.data, self.id)

    def _to_json_with(self, extensions: Mapping[str, Any]) -> bytes:
        """:meth:`to_json` with extension attributes added (a publish's trace context), the
        event itself left as it is."""
        form = self._form(self.time)
        form.update(extensions)
        return encode_json(form, self.data, self.id)

    @property
    def data_is_json(self) -> bool:
        """Whether ``datacontenttype`` says JSON (or is absent, which CloudEvents reads as JSON)."""
        return _is_json_content(self.datacontenttype)

    def replace(self, **changes: Any) -> Event:
        """Return a copy with some attributes changed (validated like a new event).

        Example::

            retyped = event.replace(type="order.archived")
        """
        values: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": self.datacontenttype,
            "dataschema": self.dataschema,
            "extensions": self.extensions,
            "data": self.data,
        }
        values.update(changes)
        event = Event(**values)
        if values["time"] is None:
            event.time = None
        return event

    def to_cloudevent(self) -> Any:
        """Convert to the ``cloudevents`` SDK's event class (install the ``cloudevents`` extra)."""
        from ._cloudevents import to_sdk_event

        return to_sdk_event(self)

    @classmethod
    def from_cloudevent(cls, event: Any) -> Event:
        """Build an event from a ``cloudevents`` SDK event (v2 ``CloudEvent`` or v1 ``http``)."""
        from ._cloudevents import from_sdk_event

        return from_sdk_event(event)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Event(type={self.type!r}, source={self.source!r}, id={self.id!r})"


def _check_extensions(extensions: Mapping[str, Any], where: str) -> dict[str, str | int | bool]:
    checked: dict[str, str | int | bool] = {}
    for name, value in extensions.items():
        if not isinstance(name, str) or not _EXTENSION_NAME.match(name):
            raise InvalidEventError(
                f"{where}: extension name {name!r} is invalid; CloudEvents extension names are "
                "1-20 lowercase ASCII letters or digits"
            )
        if name in _RESERVED:
            raise InvalidEventError(
                f"{where}: {name!r} is a CloudEvents attribute, not an extension"
            )
        if not isinstance(value, str | int | bool):
            raise InvalidEventError(
                f"{where}: extension {name!r} must be a string, integer or boolean, got "
                f"{type(value).__name__}"
            )
        checked[name] = value
    return checked
