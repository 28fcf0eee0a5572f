"""How a webhook target authenticates: an API key header, HTTP Basic, a bearer token, or OAuth 2.0
client credentials (a token fetched, cached, and refreshed before it expires or after a 401)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import quote_plus

import httpx

from .._errors import ConfigurationError, DeliveryError

__all__ = ["ApiKeyAuth", "BasicAuth", "BearerAuth", "HttpAuth", "OAuth2ClientCredentials"]


@runtime_checkable
class HttpAuth(Protocol):
    """What a webhook target asks before each request; implement it for another scheme."""

    async def headers(self, client: httpx.AsyncClient) -> Mapping[str, str]:
        """The headers that authenticate the next request (``client`` may fetch a token)."""

    def invalidate(self, sent: Mapping[str, str]) -> bool:
        """The endpoint answered 401 to a request that carried the headers ``sent``: drop
        those credentials if still cached. Return whether other ones may be fetched (then the
        request is sent once more at once)."""


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} must be a non-empty string, got {value!r}")
    return value


class ApiKeyAuth:
    """An API key in a header (``x-api-key`` unless ``header`` names another).

    Example::

        HttpTarget("https://crm.example.com/hooks", auth=ApiKeyAuth("s3cr3t"))
    """

    def __init__(self, key: str, *, header: str = "x-api-key") -> None:
        self._headers = {_text(header, "ApiKeyAuth: header"): _text(key, "ApiKeyAuth: key")}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={next(iter(self._headers))!r})"

    async def headers(self, client: httpx.AsyncClient) -> Mapping[str, str]:
        return self._headers

    def invalidate(self, sent: Mapping[str, str]) -> bool:
        return False


class BearerAuth:
    """A fixed bearer token: ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._headers = {"authorization": f"Bearer {_text(token, 'BearerAuth: token')}"}

    def __repr__(self) -> str:
        return "BearerAuth(...)"

    async def headers(self, client: httpx.AsyncClient) -> Mapping[str, str]:
        return self._headers

    def invalidate(self, sent: Mapping[str, str]) -> bool:
        return False


class BasicAuth:
    """HTTP Basic authentication (RFC 7617), user name and password in UTF-8."""

    def __init__(self, username: str, password: str) -> None:
        if ":" in _text(username, "BasicAuth: username"):
            raise ConfigurationError("BasicAuth: the user name must not contain ':' (RFC 7617)")
        if not isinstance(password, str):
            raise ConfigurationError("BasicAuth: the password must be a string")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._headers = {"authorization": f"Basic {token}"}
        self.username = username

    def __repr__(self) -> str:
        return f"BasicAuth({self.username!r}, ...)"

    async def headers(self, client: httpx.AsyncClient) -> Mapping[str, str]:
        return self._headers

    def invalidate(self, sent: Mapping[str, str]) -> bool:
        return False


class OAuthTokenError(DeliveryError):
    """The token endpoint refused or failed to give a token."""


class OAuth2ClientCredentials:
    """OAuth 2.0 client credentials (RFC 6749 §4.4): a token from ``token_url``, cached until
    shortly before it expires, fetched again after the endpoint answers 401.

    The client authenticates to the token endpoint with HTTP Basic (``client_auth="basic"``,
    which every server must support) or with ``client_id`` and ``client_secret`` in the form
    (``"body"``). A token endpoint that answers 5xx or cannot be reached makes the delivery
    retryable; one that refuses the credentials (4xx) makes it fail for good.

    Example::

        auth = OAuth2ClientCredentials(
            "https://auth.example.com/oauth/token", "my-client", "my-secret", scope="events:write"
        )
        rule.target(HttpTarget("https://api.example.com/events", auth=auth))
    """

    refresh_margin = 30.0
    """Seconds before its expiry a token is replaced."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: str = "basic",
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.token_url = _text(token_url, "OAuth2ClientCredentials: token_url")
        if not self.token_url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"OAuth2ClientCredentials: token_url must be an http(s) URL, got {token_url!r}"
            )
        self.client_id = _text(client_id, "OAuth2ClientCredentials: client_id")
        self._secret = _text(client_secret, "OAuth2ClientCredentials: client_secret")
        if client_auth not in ("basic", "body"):
            raise ConfigurationError(
                f"OAuth2ClientCredentials: client_auth must be 'basic' or 'body', got "
                f"{client_auth!r}"
            )
        self.client_auth = client_auth
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        if audience:
            form["audience"] = audience
        form.update(extra or {})
        self._form = form
        self._token: str | None = None
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None
        self.fetched = 0
        """How many tokens were fetched (for tests and status)."""

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials({self.token_url!r}, {self.client_id!r}, ...)"

    async def headers(self, client: httpx.AsyncClient) -> Mapping[str, str]:
        token = self._token
        if token is None or time.monotonic() >= self._expires:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:  # one fetch for every request that waits on it
                if self._token is None or time.monotonic() >= self._expires:
                    await self._fetch(client)
            token = self._token
        return {"authorization": f"Bearer {token}"}

    def invalidate(self, sent: Mapping[str, str]) -> bool:
        # Only the token that was refused: a request that went out before a newer token was
        # fetched must not throw the newer one away.
        if self._token is not None and sent.get("authorization") == f"Bearer {self._token}":
            self._token = None
        return True

    async def _fetch(self, client: httpx.AsyncClient) -> None:
        form = dict(self._form)
        headers = {"accept": "application/json"}
        if self.client_auth == "basic":
            pair = f"{_form_escape(self.client_id)}:{_form_escape(self._secret)}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._secret
        try:
            response = await client.post(self.token_url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise OAuthTokenError(
                f"token endpoint {self.token_url} could not be reached: {exc!r}"
            ) from exc
        if response.status_code != 200:
            error = OAuthTokenError(
                f"token endpoint {self.token_url} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
            error.retryable = response.status_code >= 500 or response.status_code == 429
            raise error
        try:
            payload = response.json()
            token = payload["access_token"]
            lifetime = float(payload.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            error = OAuthTokenError(
                f"token endpoint {self.token_url} answered without an access_token: "
                f"{response.text[:200]}"
            )
            error.retryable = False
            raise error from None
        if not isinstance(token, str) or not token:
            raise OAuthTokenError(f"token endpoint {self.token_url} gave an empty access_token")
        self._token = token
        self._expires = time.monotonic() + max(lifetime - self.refresh_margin, lifetime / 2)
        self.fetched += 1


def _form_escape(value: str) -> str:
    """RFC 6749 §2.3.1: client id and secret are form-encoded before HTTP Basic."""
    return quote_plus(value)
