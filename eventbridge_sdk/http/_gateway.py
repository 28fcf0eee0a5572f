"""The event gateway: CloudEvents over HTTP into the buses of a bridge.

``POST {prefix}/buses/{bus}/events`` takes one event in binary or structured mode, or a batch
(``application/cloudevents-batch+json``). The events are durable in the store before the answer
is sent; a batch is answered entry by entry, like AWS PutEvents::

    {"failed_entry_count": 1, "entries": [{"event_id": "..."},
                                          {"error_code": "InvalidEvent", "error_message": "..."}]}

A request refused as a whole stores nothing and is answered with an RFC 9457
``application/problem+json`` body that says what is wrong.

:class:`Gateway` is an ASGI application (serve it with uvicorn, mount it in Starlette or FastAPI);
:meth:`Gateway.handle` is its framework-free core, for frameworks that are not ASGI.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from .._errors import InvalidEventError, StoreError
from .._event import Event
from .._settings import GatewaySettings
from ..telemetry import SYSTEM
from ._binding import HeadersInput, UnsupportedContentTypeError, decode_http

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from .._app import EventBridge
    from ..telemetry._otel import Telemetry

__all__ = ["Gateway", "GatewayResponse"]

logger = logging.getLogger("eventbridge_sdk.gateway")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_ROUTE = re.compile(r"/buses/([^/]+)/events/?\Z")
_PROBLEM_TYPE = "urn:eventbridge-sdk:problem:"
_INVALID_TOKEN = 'Bearer realm="eventbridge", error="invalid_token"'
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(slots=True)
class GatewayResponse:
    """An answer of the gateway: status, headers and body, for any HTTP framework."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/json")


def _problem(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> GatewayResponse:
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", code).lower()
    body = {
        "type": _PROBLEM_TYPE + slug,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return GatewayResponse(
        status,
        orjson.dumps(body),
        {"content-type": "application/problem+json", **(headers or {})},
    )


class _Keys:
    """API keys, kept as SHA-256 digests and compared in constant time."""

    def __init__(self, keys: Mapping[str, Iterable[str]]) -> None:
        self._entries = [
            (hashlib.sha256(key.encode()).digest(), frozenset(buses)) for key, buses in keys.items()
        ]

    def __bool__(self) -> bool:
        return bool(self._entries)

    def buses(self, key: str) -> frozenset[str] | None:
        """The buses ``key`` may publish to; ``None`` for an unknown key."""
        digest = hashlib.sha256(key.encode()).digest()
        found: frozenset[str] | None = None
        # Every entry is compared, so the time taken does not tell which one matched.
        for known, buses in self._entries:
            if hmac.compare_digest(digest, known):
                found = buses
        return found


def _presented_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class Gateway:
    """Receive CloudEvents over HTTP and append them to the buses of ``bridge``.

    The limits and API keys come from the bridge's settings (``EVENTBRIDGE_GATEWAY__*``, see
    :class:`~eventbridge_sdk.GatewaySettings`) unless ``settings`` is given. With API keys set,
    each request shows one in ``x-api-key`` or as ``Authorization: Bearer <key>``, and may
    publish only to the buses listed for it.

    As an ASGI application it also runs the bridge with the server's lifespan: the push runtime
    starts with the server and drains at its shutdown (``runtime=False`` only opens and closes
    the store, for a process that receives while others deliver).

    Example::

        bridge = EventBridge()
        bridge.bus("orders")
        app = Gateway(bridge)   # uvicorn module:app  →  POST /buses/orders/events
    """

    def __init__(
        self,
        bridge: EventBridge,
        *,
        settings: GatewaySettings | None = None,
        runtime: bool = True,
    ) -> None:
        self.bridge = bridge
        self.settings = settings if settings is not None else bridge.settings.gateway
        self.runtime = runtime
        self._keys = _Keys(self.settings.api_keys)
        if not self._keys:
            logger.warning(
                "the event gateway accepts requests without an API key; set "
                "EVENTBRIDGE_GATEWAY__API_KEYS to require one"
            )

    # -- the framework-free core ---------------------------------------------------------

    def check_request(
        self, bus: str, headers: Mapping[str, str], content_length: int | None = None
    ) -> GatewayResponse | None:
        """Refuse a request before its body is read: wrong key, unknown bus, too long a body.

        ``headers`` has lower-case names. Returns the answer for a refused request, else
        ``None``.
        """
        if self._keys:
            key = _presented_key(headers)
            if key is None:
                return _problem(
                    401,
                    "Unauthorized",
                    "this gateway needs an API key: send it in the x-api-key header or as "
                    "Authorization: Bearer <key>",
                    headers={"www-authenticate": 'Bearer realm="eventbridge"'},
                )
            allowed = self._keys.buses(key)
            if allowed is None:
                return _problem(
                    401,
                    "Unauthorized",
                    "the API key is not valid",
                    headers={
                        "www-authenticate": 'Bearer realm="eventbridge", error="invalid_token"'
                    },
                )
            if "*" not in allowed and bus not in allowed:
                return _problem(403, "Forbidden", f"the API key may not publish to bus {bus!r}")
        if bus not in self.bridge.buses:
            return _problem(404, "UnknownBus", f"bus {bus!r} is not declared by this application")
        limit = self.settings.max_request_size
        if content_length is not None and content_length > limit:
            return _problem(
                413,
                "RequestTooLarge",
                f"the request body has {content_length} bytes; this gateway takes at most "
                f"{limit} bytes per request (split the batch)",
            )
        return None

    async def handle(self, bus: str, headers: HeadersInput, body: bytes) -> GatewayResponse:
        """Answer ``POST .../buses/{bus}/events`` with these headers and body.

        Authentication, limits, decoding, and the append to the store: what an ASGI server or
        another framework's view calls.
        """
        fields = {
            (name.decode("latin-1") if isinstance(name, bytes) else name).lower(): (
                value.decode("latin-1") if isinstance(value, bytes) else value
            )
            for name, value in (headers.items() if isinstance(headers, Mapping) else headers)
        }
        refused = self.check_request(bus, fields, len(body))
        return await self._answer(bus, fields, headers, body, refused)

    async def _answer(
        self,
        bus: str,
        fields: Mapping[str, str],
        headers: HeadersInput,
        body: bytes,
        refused: GatewayResponse | None,
    ) -> GatewayResponse:
        """The answer to a request: ``refused`` if a check refused it, else the ingest's."""
        telemetry = self.bridge.telemetry
        if telemetry is not None:
            return await self._measured(telemetry, bus, fields, headers, body, refused)
        if refused is not None:
            return refused
        return await self._ingest(bus, headers, body)

    async def _measured(
        self,
        telemetry: Telemetry,
        bus: str,
        fields: Mapping[str, str],
        headers: HeadersInput,
        body: bytes,
        refused: GatewayResponse | None,
    ) -> GatewayResponse:
        """:meth:`_ingest` under a SERVER ``receive`` span, child of the request's
        ``traceparent``; events without a creation context get the span's."""
        span = telemetry.receive_span(bus, fields, ()) if telemetry.tracer is not None else None
        counts = [0, 0]  # accepted, rejected
        try:
            answer = refused or await self._ingest(bus, headers, body, telemetry, span, counts)
        except BaseException as exc:
            if span is not None:
                telemetry.end(span, None, exc)
            raise
        if refused is not None:
            counts[1] += 1
        if span is not None:
            span.set_attribute("eventbridge.gateway.accepted", counts[0])
            code = orjson.loads(answer.body).get("code") if answer.status >= 400 else None
            telemetry.server_done(span, answer.status, code)
        if telemetry.metered:
            for outcome, count in zip(("accepted", "rejected"), counts, strict=True):
                if count:
                    telemetry.received.add(
                        count,
                        {
                            "messaging.system": SYSTEM,
                            "messaging.destination.name": bus,
                            "eventbridge.outcome": outcome,
                        },
                    )
        return answer

    async def _ingest(
        self,
        bus: str,
        headers: HeadersInput,
        body: bytes,
        telemetry: Telemetry | None = None,
        span: Span | None = None,
        counts: list[int] | None = None,
    ) -> GatewayResponse:
        counts = counts if counts is not None else [0, 0]
        try:
            decoded = decode_http(headers, body)
        except UnsupportedContentTypeError as exc:
            counts[1] += 1
            return _problem(415, "UnsupportedMediaType", str(exc))
        except InvalidEventError as exc:
            counts[1] += 1
            return _problem(400, "InvalidEvent", str(exc))
        entries = decoded.entries
        counts[1] += len(entries)  # until accepted
        limits = self.settings
        if len(entries) > limits.max_batch_events:
            return _problem(
                413,
                "BatchTooLarge",
                f"the batch has {len(entries)} events; this gateway takes at most "
                f"{limits.max_batch_events} per request",
            )
        results: list[dict[str, str]] = []
        accepted: list[Event] = []
        bodies: list[bytes] = []
        failed = 0
        for index, entry in enumerate(entries):
            if isinstance(entry, InvalidEventError):
                results.append({"error_code": "InvalidEvent", "error_message": str(entry)})
                failed += 1
                continue
            try:
                encoded = entry.to_json()
            except InvalidEventError as exc:
                results.append({"error_code": "InvalidEvent", "error_message": str(exc)})
                failed += 1
                continue
            if len(encoded) > limits.max_event_size:
                where = f"batch entry #{index}" if decoded.mode == "batch" else "the event"
                results.append(
                    {
                        "error_code": "EventTooLarge",
                        "error_message": f"{where} ({entry.id!r}) takes {len(encoded)} bytes in "
                        f"the CloudEvents JSON format; this gateway takes at most "
                        f"{limits.max_event_size} bytes per event",
                    }
                )
                failed += 1
                continue
            results.append({"event_id": entry.id})
            accepted.append(entry)
            bodies.append(encoded)
        if failed and not accepted:
            if decoded.mode != "batch":
                error = results[0]
                status = 413 if error["error_code"] == "EventTooLarge" else 400
                return _problem(status, error["error_code"], error["error_message"])
            return _problem(
                400,
                "InvalidEvent",
                f"no event of the batch was accepted ({failed} failed); see entries",
                failed_entry_count=failed,
                entries=results,
            )
        if span is not None and telemetry is not None:
            telemetry.add_links(span, accepted)
            stamped = telemetry.stamp(accepted, span)
            bodies = [
                body if new is old else new.to_json()
                for body, new, old in zip(bodies, stamped, accepted, strict=True)
            ]
            accepted = stamped
        try:
            await self.bridge._append(bus, accepted, bodies)
        except StoreError as exc:
            logger.error("gateway: appending %d events to bus %r failed: %s", len(bodies), bus, exc)
            return _problem(
                503,
                "InternalFailure",
                "the events could not be stored; nothing was stored, try again",
                headers={"retry-after": "1"},
            )
        counts[0] += len(accepted)
        counts[1] -= len(accepted)
        return GatewayResponse(
            200,
            orjson.dumps({"failed_entry_count": failed, "entries": results}),
            {"content-type": "application/json"},
        )

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return  # websockets: not served
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        match = _ROUTE.match(path)
        if match is None:
            await _send(
                send,
                _problem(
                    404,
                    "NotFound",
                    f"no such resource {path!r}; POST events to /buses/{{bus}}/events",
                ),
            )
            return
        if scope["method"] != "POST":
            await _send(
                send,
                _problem(
                    405,
                    "MethodNotAllowed",
                    f"{scope['method']} is not allowed here; POST events",
                    headers={"allow": "POST"},
                ),
            )
            return
        bus = match.group(1)
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        fields = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw_headers
        }
        try:
            length = int(fields["content-length"]) if "content-length" in fields else None
        except ValueError:
            await _send(send, _problem(400, "InvalidRequest", "Content-Length is not a number"))
            return
        refused = self.check_request(bus, fields, length)
        body = b""
        if refused is None:
            read = await _read_body(receive, self.settings.max_request_size)
            if read is None:
                refused = _problem(
                    413,
                    "RequestTooLarge",
                    f"the request body exceeds {self.settings.max_request_size} bytes, the most "
                    "this gateway takes per request (split the batch)",
                )
            else:
                body = read
        await _send(send, await self._answer(bus, fields, raw_headers, body, refused))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.runtime:
                        await self.bridge.start()
                    else:
                        await self.bridge._opened_store()
                except Exception as exc:
                    logger.exception("gateway: the bridge did not start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.bridge.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or ``None`` once it grows past ``limit`` bytes (the rest unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, response: GatewayResponse) -> None:
    headers = [(b"content-length", str(len(response.body)).encode())]
    headers += [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
