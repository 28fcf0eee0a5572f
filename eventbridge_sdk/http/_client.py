"""A client that publishes CloudEvents to an event gateway over HTTP.

:class:`AsyncEventBridgeClient` (asyncio) and :class:`EventBridgeClient` (blocking) send events
to ``POST {base_url}/buses/{bus}/events`` in binary, structured or batched mode, split batches
to the gateway's limits, retry what can be retried, and answer entry by entry, like AWS
PutEvents::

    async with AsyncEventBridgeClient("https://events.example.com", api_key="...") as client:
        result = await client.put_events("orders", [
            {"type": "order.created", "source": "/shop", "data": {"order": 1}},
            {"type": "order.created", "source": "/shop", "data": {"order": 2}},
        ])
        for entry in result.entries:
            print(entry.event_id if entry.ok else entry.error_message)

What is retried: transport errors (refused connections, timeouts, ...), ``429`` and ``5xx``,
under a :class:`~eventbridge_sdk.RetryPolicy` (exponential backoff with jitter), honouring
``Retry-After``. Every event is encoded once, before the first request: a retry sends the same
bytes (the same event ids), so the gateway sees a duplicate at most, never a different event.

What is not retried: any other ``4xx``, which raises :class:`PublishError` with the status, the
``code`` and ``detail`` of the gateway's RFC 9457 problem body. Events the gateway refused one
by one (a ``200`` with failed entries, or a ``400`` where every entry failed) are not an
exception for :meth:`~AsyncEventBridgeClient.put_events`: they are failed entries of its
:class:`PutEventsResult`. :meth:`~AsyncEventBridgeClient.publish` raises for them instead.

The send loops are the only code the two clients do not share: encoding, splitting, reading
answers and deciding on retries are one generator (:meth:`_ClientBase._exchange`) that yields
what to do next (send a message, or sleep) and is driven by a blocking or an asyncio loop.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self, TypeVar, get_args

import httpx
import orjson

from .._app import EventInput, _as_event, _encode
from .._errors import (
    ConfigurationError,
    EventBridgeError,
    InvalidEventError,
    InvalidNameError,
    RuntimeStateError,
)
from .._event import Event
from .._names import check_name
from .._policies import RetryPolicy
from .._settings import Settings
from ..telemetry import resolve_telemetry
from ._binding import _BATCH_HEADER, _STRUCTURED_HEADER, HttpMessage, to_binary

if TYPE_CHECKING:
    from ..telemetry._otel import Telemetry

__all__ = [
    "DEFAULT_CLIENT_RETRY",
    "AsyncEventBridgeClient",
    "EventBridgeClient",
    "PublishError",
    "PublishMode",
    "PutEventsResult",
    "PutEventsResultEntry",
]

PublishMode = Literal["auto", "binary", "structured", "batch"]
"""How the client sends events: ``"auto"`` sends one event in binary mode and several as
batches; ``"binary"`` and ``"structured"`` send one request per event; ``"batch"`` sends
``application/cloudevents-batch+json`` arrays."""

_MODES: tuple[str, ...] = get_args(PublishMode)

DEFAULT_CLIENT_RETRY = RetryPolicy(
    max_attempts=4, backoff="exponential", initial_delay=0.1, max_delay=5.0,
    max_event_age=30.0, jitter=1.0,
)  # fmt: skip
"""The client's default retries: 4 attempts, exponential from 0.1 s with full jitter, capped at
5 s, none later than 30 s after the first: a restarting gateway is ridden out, a caller is not
kept waiting for minutes."""

# The waits and clocks, looked up at call time so that tests can replace them.
_sleep = time.sleep
_async_sleep = asyncio.sleep
_monotonic = time.monotonic
_wall_clock = time.time

_NOT_SENT = "NotSent"
_REQUEST_FAILED = "RequestFailed"
_ACCEPT = "application/json, application/problem+json"
# Entry errors that sending the same event again cannot cure.
_PERMANENT_CODES = frozenset({"InvalidEvent", "EventTooLarge"})

# What to do about a refused request, by the problem's code (or, without one, by status).
_HINTS = {
    "Unauthorized": "pass a valid api_key= or bearer_token= to the client",
    "Forbidden": "these credentials may not publish to this bus; ask the gateway's operator to "
    "allow the bus for the key",
    "UnknownBus": "check the bus name, or declare the bus in the application behind the gateway",
    "NotFound": "check base_url: the gateway takes POST {base_url}/buses/{bus}/events",
    "MethodNotAllowed": "check base_url: the gateway takes POST {base_url}/buses/{bus}/events",
    "UnsupportedMediaType": "the gateway does not take this mode; try mode='structured'",
    "InvalidEvent": "fix the event as the detail says; resending it unchanged fails again",
    "EventTooLarge": "lower max_event_bytes to the gateway's limit",
    "BatchTooLarge": "lower max_batch_events to the gateway's limit",
    "RequestTooLarge": "lower max_batch_bytes to the gateway's limit",
}
_STATUS_CODES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
}


# -- results and errors ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PutEventsResultEntry:
    """What became of one event: its id once accepted, or why it failed.

    ``error_code`` is the gateway's (``"InvalidEvent"``, ``"EventTooLarge"``,
    ``"InternalFailure"``) or the client's: ``"EventTooLarge"`` for an event over
    ``max_event_bytes`` (never sent), ``"NotSent"`` for an event left unsent because another
    request of the call failed, or the code of a request refused as a whole (``"Unauthorized"``,
    ..., ``"RequestFailed"`` when there is none).

    Example::

        entry = result.entries[0]
        if not entry.ok:
            print(entry.error_code, entry.error_message)
    """

    event_id: str | None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the gateway accepted the event."""
        return self.error_code is None


@dataclass(frozen=True, slots=True)
class PutEventsResult:
    """The answer to :meth:`~AsyncEventBridgeClient.put_events`: one entry per event, in the
    order the events were given, and how many of them failed.

    Example::

        result = await client.put_events("orders", events)
        retry = [event for event, entry in zip(events, result.entries) if not entry.ok]
    """

    entries: list[PutEventsResultEntry]
    failed_entry_count: int

    @property
    def event_ids(self) -> list[str | None]:
        """The id of each accepted event, ``None`` in the place of a failed one."""
        return [entry.event_id if entry.ok else None for entry in self.entries]


class PublishError(EventBridgeError):
    """Events could not be published.

    Raised by ``put_events`` for a request refused as a whole (a ``4xx`` other than the
    ``400`` in which every entry of a batch failed) and for a retryable failure once the
    retries ran out (the last status's :class:`httpx.HTTPStatusError`, or the transport error,
    is the ``__cause__``); by ``publish`` also when any entry failed.

    - ``status``: the HTTP status of the (last) answer, ``None`` without one;
    - ``code``: the problem's ``code`` (``"Unauthorized"``, ``"UnknownBus"``, ...) or, from
      ``publish``, the failed entries' error code, ``None`` when unknown or mixed;
    - ``detail``: what the gateway said was wrong, or the message;
    - ``result``: the :class:`PutEventsResult` of the call, an entry per event (events sent
      before the failure may have been accepted), when the error comes from a client call;
    - ``retryable``: whether sending the same events later could succeed (``False`` for a
      request refused with a ``4xx`` other than 408 and 429, and for entries that failed
      validation); a delivery policy dead-letters at once on ``False``.

    Example::

        try:
            await client.publish("orders", events)
        except PublishError as exc:
            if exc.result is not None:
                failed = [e for e, r in zip(events, exc.result.entries) if not r.ok]
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        result: PutEventsResult | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = message if detail is None else detail
        self.result = result
        if retryable is None:
            retryable = status is None or status in (408, 429) or status >= 500
        self.retryable = retryable


# -- reading answers -------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    """The body as JSON, or ``None`` when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _problem(response: httpx.Response) -> tuple[str | None, str]:
    """The ``code`` and ``detail`` of an error answer (a problem body, or whatever came)."""
    body = _json(response)
    if isinstance(body, dict):
        code = body.get("code")
        detail = body.get("detail") or body.get("title")
        if isinstance(detail, str):
            return (code if isinstance(code, str) else None), detail
    text = response.text.strip()
    return None, (text[:300] if text else response.reason_phrase)


def _answered(response: httpx.Response, code: str | None, detail: str) -> str:
    shown = f"{code}: {detail}" if code else detail
    return f"the gateway answered {response.status_code} {response.reason_phrase} ({shown})"


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta seconds or an HTTP date), ``None`` if absent or bad."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - _wall_clock())


def _entry(item: object) -> PutEventsResultEntry | None:
    if not isinstance(item, dict):
        return None
    code = item.get("error_code")
    event_id = item.get("event_id")
    if code is None:
        return PutEventsResultEntry(event_id) if isinstance(event_id, str) else None
    message = item.get("error_message")
    return PutEventsResultEntry(
        event_id if isinstance(event_id, str) else None,
        str(code),
        message if isinstance(message, str) else None,
    )


def _entries(
    response: httpx.Response, ids: list[str], where: str
) -> list[PutEventsResultEntry] | None:
    """The per-event entries of a ``2xx`` answer or of a ``400`` in which every entry failed.

    ``None`` for a ``400`` without entries (a request refused as a whole). A ``2xx`` without a
    JSON body (a CloudEvents receiver that is not this library's gateway) accepts every event
    under its own id. An answer that breaks the contract raises :class:`PublishError`.
    """
    body = _json(response)
    if response.status_code == 400 and not (
        isinstance(body, dict) and isinstance(body.get("entries"), list)
    ):
        return None
    if not isinstance(body, dict) or "entries" not in body:
        return [PutEventsResultEntry(event_id) for event_id in ids]
    items = body["entries"]
    entries = [_entry(item) for item in items] if isinstance(items, list) else [None]
    if len(entries) != len(ids) or None in entries:
        count = len(items) if isinstance(items, list) else "no list of"
        raise PublishError(
            f"{where}: the gateway answered {response.status_code} with {count} entries for "
            f"{len(ids)} events, or entries without an event_id or error_code; is base_url an "
            "eventbridge-sdk gateway of a compatible version?",
            status=response.status_code,
        )
    return entries  # type: ignore[return-value]  # None was ruled out above


# -- planning requests -----------------------------------------------------------------------


@dataclass(slots=True)
class _Request:
    """One HTTP request: which events (by index in the call) it carries, and its message."""

    indices: list[int]
    message: HttpMessage
    parts: list[bytes] | None = None  # batch mode: each event's JSON, to split after a 413

    @classmethod
    def batch(cls, indices: list[int], parts: list[bytes]) -> _Request:
        body = b"[" + b",".join(parts) + b"]"
        return cls(indices, HttpMessage({"content-type": _BATCH_HEADER}, body), parts)

    def halves(self) -> tuple[_Request, _Request]:
        assert self.parts is not None
        middle = len(self.indices) // 2
        return (
            _Request.batch(self.indices[:middle], self.parts[:middle]),
            _Request.batch(self.indices[middle:], self.parts[middle:]),
        )


def _split(
    indices: list[int], parts: list[bytes], max_events: int, max_bytes: int
) -> list[_Request]:
    """Batches of at most ``max_events`` events and ``max_bytes`` bytes (brackets and commas
    counted); an event too large for a batch of its own still goes alone."""
    requests: list[_Request] = []
    batch: list[int] = []
    size = 2  # "[" and "]"
    for index in indices:
        grown = size + len(parts[index]) + (1 if batch else 0)
        if batch and (len(batch) >= max_events or grown > max_bytes):
            requests.append(_Request.batch(batch, [parts[i] for i in batch]))
            batch, grown = [], 2 + len(parts[index])
        batch.append(index)
        size = grown
    if batch:
        requests.append(_Request.batch(batch, [parts[i] for i in batch]))
    return requests


class _Call:
    """The state of one ``put_events`` call: an entry per event as answers come in, and the
    first request-level failure (after which no further request starts)."""

    __slots__ = ("entries", "failure", "ids", "requests", "span", "url", "where")

    def __init__(self, where: str, url: str, ids: list[str]) -> None:
        self.span: Any = None
        """The ``send`` span of the call when tracing is on."""
        self.where = where
        self.url = url
        self.ids = ids
        self.entries: list[PutEventsResultEntry | None] = [None] * len(ids)
        self.requests: list[_Request] = []
        self.failure: PublishError | None = None

    def record(self, indices: list[int], entries: list[PutEventsResultEntry]) -> None:
        for index, entry in zip(indices, entries, strict=True):
            self.entries[index] = entry

    def fail(self, indices: list[int], error: PublishError) -> None:
        entry = PutEventsResultEntry(None, error.code or _REQUEST_FAILED, str(error))
        self.record(indices, [entry] * len(indices))
        if self.failure is None:
            self.failure = error

    def pending(self) -> Iterator[_Request]:
        """The requests to send, until one of them fails as a whole."""
        for request in self.requests:
            if self.failure is not None:
                return
            yield request

    def result(self) -> PutEventsResult:
        """The result, or raise the request-level failure with the result attached."""
        failure = self.failure
        entries: list[PutEventsResultEntry] = []
        for entry in self.entries:
            if entry is None:
                entry = PutEventsResultEntry(
                    None,
                    _NOT_SENT,
                    "not sent: another request of this call failed as a whole "
                    f"({failure.code or failure.status if failure else 'unknown'})",
                )
            entries.append(entry)
        result = PutEventsResult(entries, sum(1 for entry in entries if not entry.ok))
        if failure is None:
            return result
        failure.result = result
        accepted = len(entries) - result.failed_entry_count
        if accepted:
            failure.add_note(
                f"{accepted} of {len(entries)} events were accepted before or while the request "
                "failed; .result has an entry per event"
            )
        raise failure


def _ids_or_raise(result: PutEventsResult, where: str) -> list[str]:
    """The ids of ``result`` for ``publish``, or :class:`PublishError` if any entry failed."""
    failed = [(index, entry) for index, entry in enumerate(result.entries) if not entry.ok]
    if not failed:
        return [entry.event_id for entry in result.entries if entry.event_id is not None]
    shown = "; ".join(
        f"#{index} {entry.error_code}: {entry.error_message}" for index, entry in failed[:3]
    )
    if len(failed) > 3:
        shown += f"; and {len(failed) - 3} more"
    codes = {entry.error_code for _, entry in failed}
    retryable = not codes <= _PERMANENT_CODES
    code = codes.pop() if len(codes) == 1 else None
    raise PublishError(
        f"{where}: {len(failed)} of {len(result.entries)} events failed ({shown}); the others "
        "were accepted. .result.entries[i] says why event i failed: fix and resend those only",
        code=code,
        detail=shown,
        result=result,
        retryable=retryable,
    )


# -- checking settings -----------------------------------------------------------------------


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def _seconds(value: object, name: str, *, zero: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        bound = ">= 0" if zero else "> 0"
        raise ConfigurationError(f"{name} must be a number of seconds {bound}, got {value!r}")
    return float(value)


def _check_base_url(base_url: object) -> str:
    example = "like 'https://events.example.com' or 'http://localhost:8000/api'"
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a string {example}, got {base_url!r}")
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"base_url {base_url!r} is not a valid URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an http:// or https:// URL with a host, {example}; got {base_url!r}"
        )
    if url.query or url.fragment:
        raise ConfigurationError(
            f"base_url {base_url!r} has a query or fragment; pass the gateway's root only, "
            f"{example}"
        )
    return base_url.rstrip("/")


def _credential(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _user_agent() -> str:
    from .. import __version__  # here, not at the top: the package may import this module

    return f"eventbridge-sdk/{__version__}"


# -- the shared client -----------------------------------------------------------------------

_TransportT = TypeVar("_TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)

_Reply = httpx.Response | httpx.TransportError | None
_Exchange = Generator[HttpMessage | float, _Reply, None]
"""Yields a message to send (send back the response or the transport error) or seconds to
sleep (send back ``None``); records its outcome in the call."""


class _ClientBase(Generic[_TransportT, _HttpT]):
    """Everything the two clients share: settings, encoding, splitting, retry decisions."""

    _sync: ClassVar[bool]

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        bearer_token: str | None = None,
        timeout: float | httpx.Timeout = 10.0,
        retry: RetryPolicy = DEFAULT_CLIENT_RETRY,
        max_retry_after: float = 60.0,
        max_batch_events: int = 100,
        max_batch_bytes: int = 1_048_576,
        max_event_bytes: int = 262_144,
        concurrency: int = 16,
        headers: Mapping[str, str] | None = None,
        transport: _TransportT | None = None,
        http_client: _HttpT | None = None,
        tracer_provider: Any = None,
    ) -> None:
        self.base_url = _check_base_url(base_url)
        api_key = _credential(api_key, "api_key")
        bearer_token = _credential(bearer_token, "bearer_token")
        if api_key is not None and bearer_token is not None:
            raise ConfigurationError(
                "pass api_key (sent as x-api-key) or bearer_token (sent as Authorization: "
                "Bearer), not both: the gateway reads one"
            )
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError(
                f"retry must be a RetryPolicy, like RetryPolicy(max_attempts=4), got {retry!r}"
            )
        if not isinstance(timeout, httpx.Timeout):
            timeout = _seconds(timeout, "timeout", zero=False)
        self.retry = retry
        self.max_retry_after = _seconds(max_retry_after, "max_retry_after", zero=True)
        self.max_batch_events = _positive_int(max_batch_events, "max_batch_events")
        self.max_batch_bytes = _positive_int(max_batch_bytes, "max_batch_bytes")
        self.max_event_bytes = _positive_int(max_event_bytes, "max_event_bytes")
        self.concurrency = _positive_int(concurrency, "concurrency")
        fixed = {"user-agent": _user_agent(), "accept": _ACCEPT}
        fixed.update({name.lower(): value for name, value in (headers or {}).items()})
        if api_key is not None:
            fixed["x-api-key"] = api_key
        if bearer_token is not None:
            fixed["authorization"] = f"Bearer {bearer_token}"
        self._headers = fixed
        kind = "" if self._sync else "Async"
        if http_client is not None:
            if transport is not None:
                raise ConfigurationError(
                    "pass transport or http_client, not both: give the transport to your "
                    "http_client instead"
                )
            if not isinstance(http_client, httpx.Client if self._sync else httpx.AsyncClient):
                raise ConfigurationError(
                    f"http_client must be an httpx.{kind}Client for {type(self).__name__}, got "
                    f"{type(http_client).__name__}"
                )
            self._http: _HttpT = http_client
            self._owns_http = False
        else:
            wanted = httpx.BaseTransport if self._sync else httpx.AsyncBaseTransport
            if transport is not None and not isinstance(transport, wanted):
                raise ConfigurationError(
                    f"transport must be an httpx.{kind}BaseTransport for "
                    f"{type(self).__name__}, got {type(transport).__name__}"
                )
            self._http = self._new_http(timeout, transport)
            self._owns_http = True
        self._closed = False
        self._telemetry: Telemetry | None = None
        self._telemetry_resolved = False
        if tracer_provider is not None:
            from ..telemetry._otel import Telemetry

            self._telemetry = Telemetry(tracer_provider, None, group="")
            self._telemetry_resolved = True

    def _new_http(self, timeout: float | httpx.Timeout, transport: _TransportT | None) -> _HttpT:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """Whether the client was closed (it sends nothing more)."""
        return self._closed

    # -- encoding and splitting --------------------------------------------------------------

    def _prepare(
        self, bus: str, events: EventInput | Sequence[EventInput], mode: PublishMode
    ) -> _Call:
        """Validate and encode every event, then plan the requests; nothing is sent yet."""
        if self._closed:
            raise RuntimeStateError(
                f"this {type(self).__name__} is closed; create a new client to send more events"
            )
        check_name("bus", bus)
        if bus in (".", ".."):
            raise InvalidNameError(f"bus name {bus!r} cannot be addressed in a URL; rename the bus")
        if mode not in _MODES:
            raise ConfigurationError(f"mode must be one of {list(_MODES)}, got {mode!r}")
        where = f"publish to bus {bus!r}"
        items: Sequence[Any] = [events] if isinstance(events, Event | Mapping) else events
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise InvalidEventError(
                f"{where}: expected an Event, a mapping or a list of them, got "
                f"{type(events).__name__}"
            )
        total = len(items)
        accepted = [_as_event(item, index, total, bus) for index, item in enumerate(items)]
        span = None
        if not self._telemetry_resolved:
            # The settings' EVENTBRIDGE_TELEMETRY__ENABLED=false turns a client's tracing off too.
            self._telemetry = resolve_telemetry(Settings().telemetry, group="")
            self._telemetry_resolved = True
        if self._telemetry is not None and self._telemetry.tracer is not None:
            # The creation context of the events that have none: this call's span.
            span = self._telemetry.send_span(bus, accepted)
            accepted = self._telemetry.stamp(accepted, span)
        try:
            parts = [_encode(event, index, total, bus) for index, event in enumerate(accepted)]
        except BaseException as exc:
            if span is not None and self._telemetry is not None:
                self._telemetry.end(span, None, exc)
            raise
        call = _Call(where, f"{self.base_url}/buses/{bus}/events", [e.id for e in accepted])
        call.span = span
        if mode == "auto":
            mode = "binary" if total == 1 else "batch"
        sendable: list[int] = []
        for index, part in enumerate(parts):
            if len(part) > self.max_event_bytes:
                call.entries[index] = self._too_large(accepted[index], index, len(part))
            else:
                sendable.append(index)
        if mode == "batch":
            call.requests = _split(sendable, parts, self.max_batch_events, self.max_batch_bytes)
        elif mode == "structured":
            call.requests = [
                _Request([i], HttpMessage({"content-type": _STRUCTURED_HEADER}, parts[i]))
                for i in sendable
            ]
        else:
            call.requests = [_Request([i], self._binary(accepted[i], i, total)) for i in sendable]
        return call

    def _too_large(self, event: Event, index: int, size: int) -> PutEventsResultEntry:
        return PutEventsResultEntry(
            None,
            "EventTooLarge",
            f"event #{index} ({event.id!r}) takes {size} bytes in the CloudEvents JSON format, "
            f"more than max_event_bytes={self.max_event_bytes}; it was not sent. Make the data "
            "smaller (store large payloads elsewhere and send a reference), or raise "
            "max_event_bytes if the gateway takes larger events",
        )

    @staticmethod
    def _binary(event: Event, index: int, total: int) -> HttpMessage:
        try:
            return to_binary(event)
        except InvalidEventError as exc:
            where = f"event #{index}: " if total > 1 else ""
            raise InvalidEventError(f"{where}{exc}") from None

    # -- one request, with its retries -------------------------------------------------------

    def _exchange(self, call: _Call, request: _Request) -> _Exchange:
        """Send ``request`` until it is answered for good, and record the outcome in ``call``.

        A ``413`` for a batch of several events halves the batch; for one event, it is that
        event's ``EventTooLarge`` entry.
        """
        started = _monotonic()
        attempt = 0
        status: int | None
        code: str | None
        wait: float | None
        while True:
            attempt += 1
            reply = yield request.message
            assert reply is not None
            if isinstance(reply, httpx.TransportError):
                cause: Exception = reply
                last = f"{type(reply).__name__}: {reply or 'no detail'}"
                status = code = wait = None
                detail = last
            else:
                status = reply.status_code
                if 200 <= status < 300 or status == 400:
                    try:
                        entries = _entries(
                            reply, [call.ids[i] for i in request.indices], call.where
                        )
                    except PublishError as exc:
                        call.fail(request.indices, exc)
                        return
                    if entries is not None:
                        call.record(request.indices, entries)
                        return
                if status == 413 and len(request.indices) > 1:
                    first, second = request.halves()
                    yield from self._exchange(call, first)
                    if call.failure is None:
                        yield from self._exchange(call, second)
                    return
                code, detail = _problem(reply)
                if status == 413:
                    hint = _HINTS["EventTooLarge"] + " so that the client refuses it unsent"
                    message = f"{_answered(reply, code, detail)}; {hint}"
                    call.record(
                        request.indices, [PutEventsResultEntry(None, "EventTooLarge", message)]
                    )
                    return
                if status != 429 and status < 500:
                    call.fail(request.indices, self._refused(call, reply, code, detail))
                    return
                last = _answered(reply, code, detail)
                cause = httpx.HTTPStatusError(last, request=reply.request, response=reply)
                wait = _retry_after(reply)
            delay = self._delay(attempt, started, wait)
            if isinstance(delay, str):
                error = PublishError(
                    f"{call.where}: {delay}; last: {last}. The gateway at {self.base_url} may be "
                    "down or overloaded: try again later",
                    status=status,
                    code=code,
                    detail=detail,
                )
                error.__cause__ = cause
                call.fail(request.indices, error)
                return
            yield delay

    def _delay(self, attempt: int, started: float, retry_after: float | None) -> float | str:
        """Seconds to wait before the next attempt, or why there is none."""
        policy = self.retry
        if attempt >= policy.max_attempts:
            return f"gave up after {attempt} attempt{'s' if attempt > 1 else ''} (max_attempts)"
        delay = policy.delay(attempt)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return (
                    f"the gateway asked to retry after {retry_after:g} s (Retry-After), longer "
                    f"than max_retry_after={self.max_retry_after:g} s, so no retry was made "
                    f"after attempt {attempt}; send later, or raise max_retry_after"
                )
            delay = max(delay, retry_after)
        age = policy.max_event_age
        elapsed = _monotonic() - started
        if age is not None and elapsed + delay > age:
            return (
                f"gave up after {attempt} attempts in {elapsed:.1f} s: the next one, "
                f"{delay:.1f} s later, would start past max_event_age={age:g} s"
            )
        return delay

    def _refused(
        self, call: _Call, reply: httpx.Response, code: str | None, detail: str
    ) -> PublishError:
        hint = _HINTS.get(code or _STATUS_CODES.get(reply.status_code, ""))
        if hint is None:
            hint = "the request was refused as a whole and is not retried"
        return PublishError(
            f"{call.where}: {_answered(reply, code, detail)}; {hint}",
            status=reply.status_code,
            code=code,
            detail=detail,
        )

    def _request_headers(self, message: HttpMessage, call: _Call) -> dict[str, str]:
        headers = {**self._headers, **message.headers}
        if call.span is not None and self._telemetry is not None:
            self._telemetry.inject(headers, call.span)  # this hop's context
        return headers

    def _finish(self, call: _Call, error: BaseException | None) -> PutEventsResult:
        """The call's result (or ``error`` raised), its span ended with the outcome."""
        span = call.span
        if error is not None:
            if span is not None and self._telemetry is not None:
                self._telemetry.end(span, None, error)
            raise error
        try:
            result = call.result()
        except BaseException as exc:
            if span is not None and self._telemetry is not None:
                self._telemetry.end(span, None, exc)
            raise
        if span is not None:
            span.set_attribute("eventbridge.failed_entry_count", result.failed_entry_count)
            span.end()
        return result


# -- the clients -----------------------------------------------------------------------------


class AsyncEventBridgeClient(_ClientBase[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """Publish CloudEvents to an event gateway over HTTP, with asyncio.

    One client holds one connection pool: create it once, share it, close it (``async with``
    or :meth:`aclose`). ``http_client`` shares a pool of your own (the client does not close
    it); ``transport`` replaces the network (tests, ``httpx.ASGITransport``).

    - ``api_key`` (sent as ``x-api-key``) or ``bearer_token`` (``Authorization: Bearer``);
    - ``timeout``: seconds, or an :class:`httpx.Timeout`;
    - ``retry``: a :class:`~eventbridge_sdk.RetryPolicy` for transport errors, ``429`` and
      ``5xx`` (default :data:`DEFAULT_CLIENT_RETRY`); a ``Retry-After`` longer than
      ``max_retry_after`` seconds ends the retries;
    - ``max_batch_events``, ``max_batch_bytes``: how batches are split; ``max_event_bytes``: an
      event larger than this (its CloudEvents JSON) is not sent but answered ``EventTooLarge``;
    - ``concurrency``: requests in flight at once when a call makes several;
    - ``tracer_provider``: an OpenTelemetry ``TracerProvider`` to trace with (by default the
      global one, when the application set it): each call is a ``send`` span, whose context
      becomes the ``traceparent`` of the events that have none and goes in each request's
      ``traceparent`` header.

    Example::

        async with AsyncEventBridgeClient("https://events.example.com", api_key=key) as client:
            ids = await client.publish("orders", {"type": "order.created", "source": "/shop"})
    """

    _sync = False

    def _new_http(
        self, timeout: float | httpx.Timeout, transport: httpx.AsyncBaseTransport | None
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, transport=transport)

    async def put_events(
        self,
        bus: str,
        events: EventInput | Sequence[EventInput],
        *,
        mode: PublishMode = "auto",
    ) -> PutEventsResult:
        """Send ``events`` to ``bus``; answer with an entry per event, in the order given.

        ``events`` is one :class:`~eventbridge_sdk.Event`, a mapping in the CloudEvents JSON
        form (only ``type`` and ``source`` are required; ``specversion``, ``id`` and ``time``
        default), or a list of them. All are validated and encoded first: an invalid one
        raises :class:`~eventbridge_sdk.InvalidEventError`, naming its index, and nothing is
        sent. Events the gateway refused are failed entries, not exceptions; a request refused
        as a whole, or failing after its retries, raises :class:`PublishError`.

        Example::

            result = await client.put_events("orders", events, mode="batch")
            print(result.failed_entry_count, result.event_ids)
        """
        call = self._prepare(bus, events, mode)
        try:
            await self._work_all(call)
        except BaseException as exc:
            return self._finish(call, exc)
        return self._finish(call, None)

    async def _work_all(self, call: _Call) -> None:
        pending = call.pending()
        workers = min(self.concurrency, len(call.requests))
        if workers == 1:
            await self._work(call, pending)
        elif workers > 1:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(workers):
                        group.create_task(self._work(call, pending))
            except ExceptionGroup as errors:
                # Not a group: the caller made one call. (PublishErrors never get here.)
                first = errors.exceptions[0]
                raise first from first.__cause__

    async def publish(
        self,
        bus: str,
        events: EventInput | Sequence[EventInput],
        *,
        mode: PublishMode = "auto",
    ) -> list[str]:
        """Send ``events`` to ``bus`` and return their ids; raise :class:`PublishError` (with
        ``.result``) if any of them failed.

        Example::

            [event_id] = await client.publish("orders", {"type": "t", "source": "/s"})
        """
        result = await self.put_events(bus, events, mode=mode)
        return _ids_or_raise(result, f"publish to bus {bus!r}")

    async def _work(self, call: _Call, pending: Iterator[_Request]) -> None:
        for request in pending:  # shared by the workers of one call
            exchange = self._exchange(call, request)
            reply: _Reply = None
            while True:
                try:
                    step = exchange.send(reply)
                except StopIteration:
                    break
                if isinstance(step, HttpMessage):
                    try:
                        reply = await self._http.post(
                            call.url, content=step.body, headers=self._request_headers(step, call)
                        )
                    except httpx.TransportError as exc:
                        reply = exc
                else:
                    await _async_sleep(step)
                    reply = None

    async def aclose(self) -> None:
        """Close the connection pool (unless it came as ``http_client``); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class EventBridgeClient(_ClientBase[httpx.BaseTransport, httpx.Client]):
    """Publish CloudEvents to an event gateway over HTTP, blocking.

    The same settings and answers as :class:`AsyncEventBridgeClient`, on an
    :class:`httpx.Client`; a call that makes several requests sends them one after the other.
    Close it with ``with`` or :meth:`close`.

    Example::

        with EventBridgeClient("https://events.example.com", api_key=key) as client:
            result = client.put_events("orders", events)
    """

    _sync = True

    def _new_http(
        self, timeout: float | httpx.Timeout, transport: httpx.BaseTransport | None
    ) -> httpx.Client:
        return httpx.Client(timeout=timeout, transport=transport)

    def put_events(
        self,
        bus: str,
        events: EventInput | Sequence[EventInput],
        *,
        mode: PublishMode = "auto",
    ) -> PutEventsResult:
        """Send ``events`` to ``bus``; answer with an entry per event, in the order given.

        See :meth:`AsyncEventBridgeClient.put_events`.

        Example::

            result = client.put_events("orders", {"type": "order.created", "source": "/shop"})
        """
        call = self._prepare(bus, events, mode)
        try:
            for request in call.pending():
                exchange = self._exchange(call, request)
                step = next(exchange)
                while True:
                    if isinstance(step, HttpMessage):
                        reply = self._send(call, step)
                    else:
                        _sleep(step)
                        reply = None
                    try:
                        step = exchange.send(reply)
                    except StopIteration:
                        break
        except BaseException as exc:
            return self._finish(call, exc)
        return self._finish(call, None)

    def publish(
        self,
        bus: str,
        events: EventInput | Sequence[EventInput],
        *,
        mode: PublishMode = "auto",
    ) -> list[str]:
        """Send ``events`` to ``bus`` and return their ids; raise :class:`PublishError` (with
        ``.result``) if any of them failed.

        Example::

            ids = client.publish("orders", [event_a, event_b])
        """
        return _ids_or_raise(self.put_events(bus, events, mode=mode), f"publish to bus {bus!r}")

    def _send(self, call: _Call, message: HttpMessage) -> httpx.Response | httpx.TransportError:
        try:
            return self._http.post(
                call.url, content=message.body, headers=self._request_headers(message, call)
            )
        except httpx.TransportError as exc:
            return exc

    def close(self) -> None:
        """Close the connection pool (unless it came as ``http_client``); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
