"""The HTTP protocol binding of CloudEvents 1.0: binary, structured and batched mode.

Encoding (:func:`to_binary`, :func:`to_structured`, :func:`to_batch`) gives an
:class:`HttpMessage` (headers and body bytes) for any HTTP library; decoding
(:func:`from_http`, :func:`decode_http`) takes the headers and body of a request or response in
any of the three modes. The rules are those of the binding, v1.0.2:

- binary mode: ``data`` is the body as is and ``Content-Type`` carries ``datacontenttype``;
  every other attribute and extension is a ``ce-<name>`` header, its value percent-encoded
  (space, ``"``, ``%`` and everything outside printable ASCII, per UTF-8 byte); a receiver
  undoes an RFC 7230 quoted string, then exactly one percent-decoding pass, and refuses bytes
  that are not UTF-8;
- structured mode: ``application/cloudevents+json``, the event in the JSON format;
- batched mode: ``application/cloudevents-batch+json``, a JSON array of structured events.

Header values carry no types: an extension sent as the integer ``7`` arrives as the string
``"7"``, as the binding says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, unquote_to_bytes

import orjson
from pydantic import BaseModel

from .._errors import InvalidEventError
from .._event import CORE_ATTRIBUTES, Event, _is_json_content, encode_json

__all__ = [
    "BATCH_CONTENT_TYPE",
    "STRUCTURED_CONTENT_TYPE",
    "DecodedMessage",
    "HttpMessage",
    "Mode",
    "UnsupportedContentTypeError",
    "decode_http",
    "from_http",
    "to_batch",
    "to_binary",
    "to_structured",
]

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_STRUCTURED_HEADER = STRUCTURED_CONTENT_TYPE + "; charset=utf-8"
_BATCH_HEADER = BATCH_CONTENT_TYPE + "; charset=utf-8"

Mode = Literal["binary", "structured", "batch"]
"""How a CloudEvent travels in an HTTP message."""

HeadersInput = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
"""Headers as a mapping or as (name, value) pairs, ``str`` or ``bytes`` (ASGI gives bytes)."""

# Printable ASCII except space (0x20), '"' (0x22) and '%' (0x25) goes as it is.
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]{1,20}\Z")


class UnsupportedContentTypeError(InvalidEventError):
    """The message is in no mode this binding reads (HTTP 415 on a server)."""


class HttpMessage(NamedTuple):
    """The headers and body of an HTTP message that carries CloudEvents.

    Example::

        message = to_binary(event)
        httpx.post(url, headers=message.headers, content=message.body)
    """

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """What :func:`decode_http` read: the mode, and per event either the event or why it is
    invalid (one entry in binary and structured mode, one per array item in batch mode)."""

    mode: Mode
    entries: list[Event | InvalidEventError]


# -- encoding --------------------------------------------------------------------------------


def _plain(text: str) -> bool:
    """Whether ``text`` goes in a header as it is: printable ASCII without space, '"', '%'."""
    return (
        text.isascii()
        and text.isprintable()
        and " " not in text
        and '"' not in text
        and "%" not in text
    )


def _scalar(value: str | int | bool) -> str:
    """The canonical string of an extension value: ``true``/``false``, a decimal integer."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)  # an int-mixin Enum by its number, not "Level.HIGH"
    # A str-mixin Enum by its value, not "Region.EU".
    return str.__str__(value) if isinstance(value, str) else str(value)


def _header_value(value: str | int | bool, where: str) -> str:
    text = value if value.__class__ is str else _scalar(value)
    if _plain(text):
        return text
    try:
        return quote(text, safe=_SAFE)
    except UnicodeEncodeError:
        raise InvalidEventError(
            f"{where}: the value cannot be encoded as UTF-8 (a lone surrogate?)"
        ) from None


def _binary_body(event: Event) -> tuple[bytes, str | None]:
    """The body of a binary-mode message and its Content-Type (``None``: no data, no type)."""
    data = event.data
    content_type = event.datacontenttype
    kind = data.__class__
    if kind is not dict and kind is not list:
        if data is None:
            return b"", content_type
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data), content_type or "application/octet-stream"
        if isinstance(data, str) and not _is_json_content(content_type):
            assert content_type is not None
            # The declared charset, as the receiver decodes with it (UTF-8 when none is given).
            text_type = _media_type(content_type).startswith("text/")
            charset = _charset(content_type) if text_type else "utf-8"
            try:
                return data.encode(charset), content_type
            except (LookupError, UnicodeEncodeError):
                raise InvalidEventError(
                    f"event {event.id!r}: data cannot be encoded in the charset of "
                    f"datacontenttype {content_type!r}"
                ) from None
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
    return encode_json(data, data, event.id), content_type or "application/json"


def to_binary(event: Event) -> HttpMessage:
    """Encode ``event`` in binary mode: ``ce-`` headers, the data as the body.

    Data without a ``datacontenttype`` goes as ``application/json`` (bytes as
    ``application/octet-stream``); a string with a non-JSON content type goes as its UTF-8 text.

    Example::

        message = to_binary(Event(type="order.paid", source="/shop", data={"order": 1}))
        assert message.headers["ce-type"] == "order.paid"
    """
    data = event.data
    if data.__class__ is dict and event.datacontenttype is None:  # the common case
        body = orjson.dumps(data, option=orjson.OPT_UTC_Z)
        content_type: str | None = "application/json"
        if b"null" in body:
            body, content_type = _binary_body(event)  # checks for NaN and infinities
    else:
        body, content_type = _binary_body(event)
    headers = {
        "ce-specversion": event.specversion,
        "ce-id": event.id,
        "ce-source": event.source,
        "ce-type": event.type,
    }
    if event.subject is not None:
        headers["ce-subject"] = event.subject
    if event.dataschema is not None:
        headers["ce-dataschema"] = event.dataschema
    if event.time is not None:
        # orjson writes a datetime in RFC 3339 several times faster than isoformat().
        headers["ce-time"] = orjson.dumps(event.time, option=orjson.OPT_UTC_Z)[1:-1].decode()
    extensions = event.extensions
    if extensions:
        for name, value in extensions.items():
            headers["ce-" + name] = value if value.__class__ is str else _scalar(value)
    # One look at every value at once; only a message with something to encode pays for more.
    if not _plain("".join(headers.values())):
        for name, value in headers.items():
            headers[name] = _header_value(value, f"attribute {name[3:]!r}")
    if content_type is not None:
        headers["content-type"] = content_type
    return HttpMessage(headers, body)


def to_structured(event: Event) -> HttpMessage:
    """Encode ``event`` in structured mode: the CloudEvents JSON format as the body."""
    return HttpMessage({"content-type": _STRUCTURED_HEADER}, event.to_json())


def to_batch(events: Sequence[Event]) -> HttpMessage:
    """Encode ``events`` in batched mode: a JSON array of structured events (``[]`` is valid).

    The binding allows batches only where the receiver asked for them: the gateway of this
    library does.
    """
    body = b"[" + b",".join([event.to_json() for event in events]) + b"]"
    return HttpMessage({"content-type": _BATCH_HEADER}, body)


# -- decoding --------------------------------------------------------------------------------


def _headers(headers: HeadersInput) -> dict[str, str]:
    """Lower-cased names; a ``ce-`` header given twice is an error (which value is meant?)."""
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for raw_name, raw_value in items:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        if isinstance(raw_value, bytes):
            try:
                value = raw_value.decode("ascii")
            except UnicodeDecodeError:
                # Unencoded UTF-8 in a header breaks the binding's rule but is unambiguous.
                try:
                    value = raw_value.decode("utf-8")
                except UnicodeDecodeError:
                    if name.startswith("ce-"):
                        raise InvalidEventError(
                            f"header {name}: the value is not valid UTF-8"
                        ) from None
                    # Any other header may carry obs-text (RFC 7230): not ours to refuse.
                    value = raw_value.decode("latin-1")
        else:
            value = raw_value
        if name in out and name.startswith("ce-"):
            raise InvalidEventError(
                f"header {name} is given twice; a CloudEvents attribute has one value"
            )
        out[name] = value
    return out


def _unquote_rfc7230(value: str) -> str:
    inner = value[1:-1]
    return re.sub(r"\\(.)", r"\1", inner)


def _decode_value(name: str, value: str) -> str:
    value = value.strip(" \t")
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = _unquote_rfc7230(value)
    if "%" not in value:
        return value
    bad = _BAD_PERCENT.search(value)
    if bad is not None:
        raise InvalidEventError(
            f"header {name}: '%' at position {bad.start()} is not followed by two hex digits; "
            "a literal % is sent as %25"
        )
    try:
        return unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEventError(
            f"header {name}: the percent-encoded bytes are not valid UTF-8"
        ) from None


def _media_type(content_type: str | None) -> str:
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _binary_data(body: bytes, content_type: str | None) -> Any:
    if _is_json_content(content_type):
        if not body.strip():
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidEventError(
                f"binary-mode CloudEvent: the body is not valid JSON (Content-Type "
                f"{content_type or 'application/json'}): {exc}"
            ) from None
    assert content_type is not None
    if _media_type(content_type).startswith("text/"):
        charset = _charset(content_type)
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            raise InvalidEventError(
                f"binary-mode CloudEvent: the body is not valid {charset} text "
                f"(Content-Type {content_type})"
            ) from None
    return body


def _from_binary(headers: dict[str, str], body: bytes) -> Event:
    form: dict[str, Any] = {}
    for name, value in headers.items():
        if not name.startswith("ce-"):
            continue
        attribute = name[3:]
        if not _ATTRIBUTE_NAME.match(attribute):
            raise InvalidEventError(
                f"binary-mode CloudEvent: header {name} does not name a CloudEvents attribute "
                "(names are 1-20 lowercase letters or digits)"
            )
        if attribute in ("data", "data_base64"):
            raise InvalidEventError(
                f"binary-mode CloudEvent: header {name}: data travels in the body, not a header"
            )
        form[attribute] = _decode_value(name, value)
    missing = [f"ce-{name}" for name in ("id", "source", "type") if not form.get(name)]
    if missing:
        raise InvalidEventError(
            f"binary-mode CloudEvent: header{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} missing or empty"
        )
    content_type = headers.get("content-type") or form.pop("datacontenttype", None)
    form.pop("datacontenttype", None)  # Content-Type is the attribute in binary mode
    if content_type is not None:
        form["datacontenttype"] = content_type
        data = _binary_data(body, content_type)
    elif body:
        # No Content-Type (the cloudevents SDK sends JSON data so): JSON if the body is JSON,
        # which the JSON format implies for an event without a datacontenttype; else bytes.
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            form["datacontenttype"] = "application/octet-stream"
            data = body
    else:
        data = None
    core = {name: form.pop(name) for name in CORE_ATTRIBUTES if name in form}
    try:
        event = Event(data=data, extensions=form, **core)
    except InvalidEventError as exc:
        raise InvalidEventError(f"binary-mode CloudEvent: {exc}") from None
    if "time" not in core:
        event.time = None  # optional: an event received without one keeps none
    return event


def _from_form(value: Any, where: str) -> Event:
    if not isinstance(value, dict):
        raise InvalidEventError(
            f"{where}: expected a JSON object (an event in the CloudEvents JSON format), got "
            f"{_json_kind(value)}"
        )
    try:
        return Event.from_dict(value)
    except InvalidEventError as exc:
        raise InvalidEventError(f"{where}: {exc}") from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _loads(body: bytes, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidEventError(f"{what}: the body is not valid JSON: {exc}") from None


def decode_http(headers: HeadersInput, body: bytes) -> DecodedMessage:
    """Read the CloudEvents of an HTTP message in whichever mode it uses.

    A malformed message as a whole (not JSON, a batch that is not an array, no CloudEvent at
    all) raises :class:`InvalidEventError` (:class:`UnsupportedContentTypeError` for a content
    type that is no mode of the binding); in batch mode an invalid item is reported in its
    entry and the others are read.
    """
    fields = _headers(headers)
    content_type = fields.get("content-type")
    media = _media_type(content_type)
    # The batch type starts with the structured one: test it first.
    if media.startswith("application/cloudevents-batch"):
        if media != BATCH_CONTENT_TYPE:
            raise UnsupportedContentTypeError(
                f"batched CloudEvents in {media} are not supported; send {BATCH_CONTENT_TYPE}"
            )
        items = _loads(body, "batch of CloudEvents")
        if not isinstance(items, list):
            raise InvalidEventError(
                f"batch of CloudEvents: the body must be a JSON array of events, got "
                f"{_json_kind(items)}"
            )
        entries: list[Event | InvalidEventError] = []
        for index, item in enumerate(items):
            try:
                entries.append(_from_form(item, f"batch entry #{index}"))
            except InvalidEventError as exc:
                entries.append(exc)
        return DecodedMessage("batch", entries)
    if media.startswith("application/cloudevents"):
        if media != STRUCTURED_CONTENT_TYPE:
            raise UnsupportedContentTypeError(
                f"structured CloudEvents in {media} are not supported; send "
                f"{STRUCTURED_CONTENT_TYPE}"
            )
        form = _loads(body, "structured-mode CloudEvent")
        return DecodedMessage("structured", [_from_form(form, "structured-mode CloudEvent")])
    if "ce-specversion" not in fields:
        raise UnsupportedContentTypeError(
            f"the request carries no CloudEvent: Content-Type is "
            f"{content_type or 'missing'} and there is no ce-specversion header; send binary "
            f"mode (ce- headers), {STRUCTURED_CONTENT_TYPE} or {BATCH_CONTENT_TYPE}"
        )
    return DecodedMessage("binary", [_from_binary(fields, body)])


def from_http(headers: HeadersInput, body: bytes) -> list[Event]:
    """Decode the CloudEvents of an HTTP message (any mode); raise on the first invalid one.

    Example::

        message = to_binary(event)
        [decoded] = from_http(message.headers, message.body)
    """
    decoded = decode_http(headers, body)
    events: list[Event] = []
    for entry in decoded.entries:
        if isinstance(entry, InvalidEventError):
            raise entry
        events.append(entry)
    return events
