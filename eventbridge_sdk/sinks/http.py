"""The webhook target: matched events delivered to an HTTP endpoint as CloudEvents."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import re
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from .._errors import ConfigurationError, DeliveryError
from .._event import Event
from ..http._binding import HttpMessage, to_batch, to_binary, to_structured
from ..http._signing import WebhookSigner
from ._http_auth import HttpAuth
from .base import Delivery, SinkContext

__all__ = ["HttpDeliveryError", "HttpTarget"]

logger = logging.getLogger("eventbridge_sdk")

_USER_AGENT = "eventbridge-sdk-webhooks"
_ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class HttpDeliveryError(DeliveryError):
    """A webhook endpoint did not take a delivery.

    ``status`` is the HTTP status (``None`` for a timeout or a connection error); ``retryable``
    says whether another attempt may succeed (429, 5xx, 408, timeouts and connection errors);
    ``retry_after`` is the wait the endpoint asked for, in seconds, if it did.
    """

    log_traceback = False
    """The message says what the endpoint answered; the runtime logs no stack for it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta seconds or an HTTP date; ``None`` if absent or
    unreadable. A date in the past is 0."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone takes '²', which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "endpoint"
    if parts.port:
        host = f"{host}-{parts.port}"
    return _NAME_CHARS.sub("-", f"http-{host}")[:127]


def _webhook_id(batch: Sequence[Delivery]) -> str:
    """The Standard Webhooks id of a request: the same for every attempt of the same
    deliveries, different for another event or for the same event through another target. An
    event id is unique only with its source, and one event reaching an endpoint through two
    rules is two messages: a receiver that drops repeated ids must drop neither."""
    digest = hashlib.sha256(
        "\n".join(
            f"{d.bus}\n{d.rule}\n{d.target}\n{d.event.source}\n{d.event.id}" for d in batch
        ).encode(errors="surrogatepass")
    )
    return "msg_" + digest.hexdigest()[:32]


class HttpTarget:
    """Deliver matched events to an HTTP endpoint, as CloudEvents (a webhook, like an AWS API
    destination).

    - ``mode``: ``"binary"`` (default; the data is the body, attributes in ``ce-`` headers),
      ``"structured"`` (the event as ``application/cloudevents+json``) or ``"batch"`` (up to
      ``batch_size`` events per request as ``application/cloudevents-batch+json``; the endpoint
      must accept batches);
    - ``method`` (POST by default), extra ``headers`` and query ``params``;
    - ``auth``: :class:`ApiKeyAuth`, :class:`BasicAuth`, :class:`BearerAuth` or
      :class:`OAuth2ClientCredentials`;
    - ``timeout``: seconds for the whole request (5 s, as AWS API destinations);
    - ``signing_secret``: sign each request the Standard Webhooks way (``webhook-id``,
      ``webhook-timestamp``, ``webhook-signature``); a list of secrets signs with each (key
      rotation). Receivers check with :func:`eventbridge_sdk.http.verify_webhook`.

    Outcomes: 2xx is delivered; 408, 429, 5xx, timeouts and connection errors are retried
    under the target's retry policy, never sooner than a ``Retry-After`` asks; a 401 with
    OAuth fetches a new token and tries once more at once; redirects are not followed, and 3xx
    and every other 4xx fail for good (the dead-letter bus). Each target keeps one connection
    pool; its concurrency bounds the connections.

    Example::

        paid = orders.rule("paid", pattern={"type": ["order.paid"]})
        paid.target(
            HttpTarget("https://crm.example.com/hooks/orders", signing_secret=secret),
            retry=RetryPolicy.AWS,
            concurrency=32,
        )
    """

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        method: str = "POST",
        mode: Literal["binary", "structured", "batch"] = "binary",
        batch_size: int = 10,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: HttpAuth | None = None,
        timeout: float = 5.0,
        signing_secret: str | bytes | Sequence[str | bytes] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        where = f"HttpTarget({url!r})"
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"{where}: the URL must start with http:// or https://")
        self.url = url
        self.name = name if name is not None else _default_name(url)
        method = method.upper() if isinstance(method, str) else method
        if method not in ("POST", "PUT", "PATCH", "DELETE", "GET", "HEAD", "OPTIONS"):
            raise ConfigurationError(
                f"{where}: method must be POST, PUT, PATCH, DELETE, GET, HEAD or OPTIONS, got "
                f"{method!r}"
            )
        self.method = method
        if mode not in ("binary", "structured", "batch"):
            raise ConfigurationError(
                f"{where}: mode must be 'binary', 'structured' or 'batch', got {mode!r}"
            )
        self.mode = mode
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigurationError(
                f"{where}: batch_size must be a whole number >= 1, got {batch_size!r}"
            )
        self.max_batch = batch_size if mode == "batch" else 1
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"{where}: timeout must be a positive number of seconds")
        self.timeout = float(timeout)
        if auth is not None and not isinstance(auth, HttpAuth):
            raise ConfigurationError(
                f"{where}: auth must be ApiKeyAuth, BasicAuth, BearerAuth, "
                f"OAuth2ClientCredentials or another HttpAuth, got {auth!r}"
            )
        self.auth = auth
        self.headers = {name.lower(): value for name, value in (headers or {}).items()}
        self.params = dict(params) if params else None
        self._signer = WebhookSigner(signing_secret) if signing_secret is not None else None
        self._transport = transport
        self._shared: httpx.AsyncClient | None = None  # with an injected transport
        self._lanes: list[httpx.AsyncClient] = []
        self._idle: list[httpx.AsyncClient] = []
        self._ssl: ssl.SSLContext | None = None
        self._started = 0
        self._telemetry: Any = None

    def __repr__(self) -> str:
        return f"HttpTarget({self.url!r}, mode={self.mode!r})"

    async def start(self, context: SinkContext) -> None:
        # The same HttpTarget may serve several rules: its connections are shared, and closed
        # by the last stop.
        self._started += 1
        telemetry = context.telemetry
        if telemetry is not None and telemetry.tracer is not None:
            self._telemetry = telemetry
        if self._started == 1 and self._transport is not None:
            self._shared = self._new_client(self._transport, None)

    async def stop(self) -> None:
        self._started = max(self._started - 1, 0)
        if self._started:
            return
        clients, self._lanes, self._idle = self._lanes, [], []
        if self._shared is not None:
            clients.append(self._shared)
            self._shared = None
        for client in clients:
            await client.aclose()

    def _new_client(
        self, transport: httpx.AsyncBaseTransport | None, limits: httpx.Limits | None
    ) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = True
        if transport is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # once: each costs milliseconds
            verify = self._ssl
        return httpx.AsyncClient(
            timeout=self.timeout,
            limits=limits or httpx.Limits(max_connections=None, max_keepalive_connections=None),
            follow_redirects=False,
            transport=transport,
            verify=verify,
            headers={"user-agent": _USER_AGENT},
        )

    def _take(self) -> httpx.AsyncClient:
        """A connection for one request. Each is a client of one keep-alive connection (a
        lane): httpx's shared pool rescans every connection for every request and loses more
        than half its rate at concurrency 16, lanes do not. The target's concurrency bounds
        how many lanes there are."""
        if self._shared is not None:
            return self._shared
        if self._idle:
            return self._idle.pop()
        if not self._started:
            raise DeliveryError(f"{self!r} is not started")
        client = self._new_client(None, _ONE_CONNECTION)
        self._lanes.append(client)
        return client

    async def flush(self) -> None:
        return None

    async def pre_commit(self) -> None:
        return None

    def _message(self, events: Sequence[Event]) -> HttpMessage:
        if self.mode == "binary":
            return to_binary(events[0])
        if self.mode == "structured":
            return to_structured(events[0])
        return to_batch(events)

    async def put(self, batch: Sequence[Delivery]) -> None:
        """Send the batch's events in one request (one event unless ``mode="batch"``)."""
        client = self._take()
        try:
            await self._send(client, batch)
        finally:
            if client is not self._shared and not client.is_closed:
                self._idle.append(client)

    async def _send(self, client: httpx.AsyncClient, batch: Sequence[Delivery]) -> None:
        events = [delivery.event for delivery in batch]
        headers, body = self._message(events)
        if self.headers:
            headers = {**self.headers, **headers}
        webhook_id = _webhook_id(batch) if self._signer is not None else None
        for attempt in (1, 2):
            sent = headers if attempt == 1 else dict(headers)
            if self.auth is not None:
                sent.update(await self.auth.headers(client))
            if self._signer is not None:
                assert webhook_id is not None
                sent.update(self._signer.headers(webhook_id, body))
            if self._telemetry is None:
                response = await self._request(client, sent, body)
            else:
                response = await self._traced_request(self._telemetry, client, sent, body)
            status = response.status_code
            if 200 <= status < 300:
                return
            if status in (401, 407) and attempt == 1 and self.auth and self.auth.invalidate(sent):
                continue  # a fresh token, once
            raise self._failure(response)

    async def _request(
        self, client: httpx.AsyncClient, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        try:
            # httpx's timeout bounds each phase (connect, write, each read); this bounds the
            # whole request, so a trickling endpoint cannot hold a delivery longer.
            async with asyncio.timeout(self.timeout):
                return await client.request(
                    self.method, self.url, content=body, headers=headers, params=self.params
                )
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise HttpDeliveryError(
                f"{self.method} {self.url} timed out after {self.timeout} s ({exc!r})"
            ) from exc
        except httpx.HTTPError as exc:
            raise HttpDeliveryError(f"{self.method} {self.url} failed: {exc!r}") from exc

    async def _traced_request(
        self, telemetry: Any, client: httpx.AsyncClient, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        """:meth:`_request` under a CLIENT span whose context the request carries in its
        ``traceparent`` header (the event's own ``ce-traceparent`` is left as it is)."""
        span = telemetry.http_span(self.method, httpx.URL(self.url))
        telemetry.inject(headers, span)
        try:
            response = await self._request(client, headers, body)
        except BaseException as exc:
            telemetry.http_done(span, None, exc)
            raise
        telemetry.http_done(span, response.status_code, None)
        return response

    def _failure(self, response: httpx.Response) -> HttpDeliveryError:
        status = response.status_code
        text = response.text[:200].strip()
        said = f": {text}" if text else ""
        message = f"{self.method} {self.url} answered {status} {response.reason_phrase}{said}"
        if status == 429 or status == 408 or status >= 500:
            return HttpDeliveryError(
                message,
                status=status,
                retryable=True,
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        if 300 <= status < 400:
            message += " (redirects are not followed; point the target at the final URL)"
        return HttpDeliveryError(message, status=status, retryable=False)
