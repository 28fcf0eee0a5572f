"""The webhook target: CloudEvents over HTTP to a mocked endpoint (respx), directly through the
sink SPI for exact outcomes, and through a running bridge for retries and dead letters."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from standardwebhooks.webhooks import Webhook

from eventbridge_sdk import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    ConfigurationError,
    Delivery,
    DeliveryError,
    DuplicateNameError,
    Event,
    EventBridge,
    HttpDeliveryError,
    HttpTarget,
    OAuth2ClientCredentials,
    RetryPolicy,
    SinkContext,
)
from eventbridge_sdk.http import from_http, generate_webhook_secret, verify_webhook
from eventbridge_sdk.sinks import _http_auth
from eventbridge_sdk.sinks.http import retry_after_seconds
from eventbridge_sdk.testing import run_bridge

URL = "https://hooks.example.com/events"
TOKEN_URL = "https://auth.example.com/oauth/token"
START = 1_700_000_000.0  # the ManualClock's start


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=False)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every request goes to a mocked route; an unexpected one fails the test."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mocked:
        yield mocked


@asynccontextmanager
async def started(
    target: HttpTarget, executor: ThreadPoolExecutor, *, concurrency: int = 1
) -> AsyncIterator[HttpTarget]:
    async def publish(bus: str, events: Any) -> list[str]:
        raise AssertionError("a webhook target publishes nothing")

    context = SinkContext(
        bus="orders",
        rule="r",
        target=target.name,
        executor=executor,
        publish=publish,
        concurrency=concurrency,
    )
    await target.start(context)
    try:
        yield target
    finally:
        await target.stop()


def delivery(event: Event, attempt: int = 1) -> Delivery:
    return Delivery(event, "orders", "r", "t", attempt=attempt)


def order(n: int = 1, **options: Any) -> Event:
    return Event(type="order.paid", source="/shop", data={"order": n, "who": "Zoë"}, **options)


def quick(max_attempts: int = 3, delay: float = 0.01) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, initial_delay=delay, max_delay=delay, jitter=0)


def bridge_with(target: HttpTarget, **options: Any) -> EventBridge:
    bridge = EventBridge("memory://")
    bridge.bus("orders").rule("paid").target(target, name="hook", **options)
    return bridge


def requests(route: respx.Route) -> list[httpx.Request]:
    return [call.request for call in route.calls]


def http_date(offset: float) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=offset), usegmt=True)


def token_response(token: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
    )


def tokens(*values: str, expires_in: int = 3600) -> Callable[[httpx.Request], httpx.Response]:
    """A token endpoint that gives ``values`` in turn."""
    given = iter(values)

    def answer(request: httpx.Request) -> httpx.Response:
        return token_response(next(given), expires_in)

    return answer


# -- encoding --------------------------------------------------------------------------------


class TestModes:
    async def test_binary_mode_by_default_decodes_to_the_event(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(204)
        event = Event(
            type="order.paid",
            source="/shop/eu west",
            subject='Zoë "the boss" 100% sure',
            time="2024-05-01T12:30:00Z",
            data={"order": 7, "note": "naïve café ☕"},
            # Binary mode carries no types: string extensions and an explicit content type
            # make the decoded event equal to the one sent.
            datacontenttype="application/json",
            extensions={"tenant": "acme corp/ü", "pct": "50%", "quote": 'say "hi"'},
        )
        async with started(HttpTarget(URL), executor) as target:
            await target.put([delivery(event)])
        [request] = requests(route)
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["ce-specversion"] == "1.0"
        assert request.headers["ce-id"] == event.id
        assert request.headers["ce-type"] == "order.paid"
        # Space, '"', '%' and non-ASCII are percent-encoded in headers (CloudEvents HTTP 3.1.3.2).
        assert request.headers["ce-source"] == "/shop/eu%20west"
        assert request.headers["ce-tenant"] == "acme%20corp/%C3%BC"
        assert "ce-datacontenttype" not in request.headers
        assert json.loads(request.content) == {"order": 7, "note": "naïve café ☕"}
        [decoded] = from_http(request.headers, request.content)
        assert decoded == event
        assert decoded.subject == 'Zoë "the boss" 100% sure'
        assert decoded.extensions == {"tenant": "acme corp/ü", "pct": "50%", "quote": 'say "hi"'}

    async def test_structured_mode_sends_the_event_as_cloudevents_json(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(200)
        event = order(3, subject="ä b", extensions={"tenant": "acme"})
        async with started(HttpTarget(URL, mode="structured"), executor) as target:
            await target.put([delivery(event)])
        [request] = requests(route)
        assert request.headers["content-type"].startswith("application/cloudevents+json")
        assert not [name for name in request.headers if name.startswith("ce-")]
        body = json.loads(request.content)
        assert (body["id"], body["type"], body["tenant"]) == (event.id, "order.paid", "acme")
        assert body["data"] == {"order": 3, "who": "Zoë"}
        assert from_http(request.headers, request.content) == [event]

    async def test_batch_mode_sends_several_events_in_one_request_in_order(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(202)
        target = HttpTarget(URL, mode="batch", batch_size=3)
        assert target.max_batch == 3
        assert HttpTarget(URL, batch_size=3).max_batch == 1  # only batch mode batches
        events = [order(n) for n in range(3)]
        async with started(target, executor):
            await target.put([delivery(e) for e in events])
        [request] = requests(route)
        assert request.headers["content-type"].startswith("application/cloudevents-batch+json")
        assert [item["data"]["order"] for item in json.loads(request.content)] == [0, 1, 2]
        assert from_http(request.headers, request.content) == events

    async def test_batch_mode_through_a_bridge_sends_at_most_batch_size_per_request(
        self, router: respx.MockRouter
    ) -> None:
        route = router.post(URL).respond(200)
        bridge = bridge_with(HttpTarget(URL, mode="batch", batch_size=4), concurrency=1)
        events = [order(n) for n in range(10)]
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", events)
            assert len(harness.received("hook")) == 10
        batches = [from_http(r.headers, r.content) for r in requests(route)]
        assert all(1 <= len(batch) <= 4 for batch in batches)
        assert len(batches) < 10
        assert [e.data["order"] for batch in batches for e in batch] == list(range(10))

    async def test_method_headers_and_params_are_honoured(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.put(URL, params={"source": "bridge", "v": "2"}).respond(200)
        target = HttpTarget(
            URL,
            method="put",
            headers={"X-Tenant": "acme", "ce-type": "not.this"},
            params={"source": "bridge", "v": "2"},
        )
        assert target.method == "PUT"
        async with started(target, executor):
            await target.put([delivery(order())])
        [request] = requests(route)
        assert request.method == "PUT"
        assert request.headers["x-tenant"] == "acme"
        assert request.headers["ce-type"] == "order.paid"  # the event's attributes win
        assert parse_qs(request.url.query.decode()) == {"source": ["bridge"], "v": ["2"]}
        assert request.headers["user-agent"] == "eventbridge-sdk-webhooks"

    async def test_a_target_transform_changes_the_data_sent(self, router: respx.MockRouter) -> None:
        route = router.post(URL).respond(200)
        bridge = bridge_with(
            HttpTarget(URL),
            transform={
                "InputPathsMap": {"n": "$.data.order", "who": "$.data.who"},
                "InputTemplate": '{"text": "order <n> by <who>"}',
            },
        )
        async with run_bridge(bridge) as harness:
            [event_id] = await harness.publish("orders", order(9))
        [request] = requests(route)
        assert json.loads(request.content) == {"text": "order 9 by Zoë"}
        [decoded] = from_http(request.headers, request.content)
        assert (decoded.id, decoded.type, decoded.source) == (event_id, "order.paid", "/shop")


# -- outcomes --------------------------------------------------------------------------------


class TestOutcomes:
    @pytest.mark.parametrize("status", [200, 201, 202, 204])
    async def test_2xx_is_delivered(
        self, status: int, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(status)
        async with started(HttpTarget(URL), executor) as target:
            await target.put([delivery(order())])
        assert route.call_count == 1

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    async def test_throttling_and_server_errors_are_retryable(
        self, status: int, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        router.post(URL).respond(status, text="busy, try later", headers={"Retry-After": "7"})
        async with started(HttpTarget(URL), executor) as target:
            with pytest.raises(HttpDeliveryError) as caught:
                await target.put([delivery(order())])
        error = caught.value
        assert (error.status, error.retryable, error.retry_after) == (status, True, 7.0)
        assert str(status) in str(error)
        assert "busy, try later" in str(error)

    async def test_retry_after_as_an_http_date(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        router.post(URL).mock(
            side_effect=[
                httpx.Response(503, headers={"Retry-After": http_date(120)}),
                httpx.Response(429, headers={"Retry-After": http_date(-600)}),
                httpx.Response(503),
            ]
        )
        async with started(HttpTarget(URL), executor) as target:
            errors = []
            for _ in range(3):
                with pytest.raises(HttpDeliveryError) as caught:
                    await target.put([delivery(order())])
                errors.append(caught.value)
        assert errors[0].retry_after is not None
        assert 110 < errors[0].retry_after <= 120
        assert errors[1].retry_after == 0.0  # a date in the past: at once
        assert errors[2].retry_after is None

    def test_retry_after_values(self) -> None:
        now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
        assert retry_after_seconds("120") == 120.0
        assert retry_after_seconds(" 5 ") == 5.0
        assert retry_after_seconds("Wed, 21 Oct 2015 07:30:00 GMT", now=now) == 120.0
        assert retry_after_seconds("Wed, 21 Oct 2015 07:20:00 GMT", now=now) == 0.0
        for unreadable in (None, "", "soon", "-5", "1.5", "²"):
            assert retry_after_seconds(unreadable, now=now) is None

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 415, 422])
    async def test_other_4xx_fail_for_good(
        self, status: int, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        router.post(URL).respond(status, json={"error": "no such hook"})
        async with started(HttpTarget(URL), executor) as target:
            with pytest.raises(HttpDeliveryError) as caught:
                await target.put([delivery(order())])
        error = caught.value
        assert (error.status, error.retryable, error.retry_after) == (status, False, None)
        assert f"answered {status}" in str(error)
        assert "no such hook" in str(error)

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    async def test_redirects_are_not_followed_and_fail_for_good(
        self, status: int, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        elsewhere = router.post("https://elsewhere.example.com/hook").respond(200)
        router.post(URL).respond(status, headers={"Location": "https://elsewhere.example.com/hook"})
        async with started(HttpTarget(URL), executor) as target:
            with pytest.raises(HttpDeliveryError, match="redirects are not followed") as caught:
                await target.put([delivery(order())])
        assert (caught.value.status, caught.value.retryable) == (status, False)
        assert elsewhere.call_count == 0

    @pytest.mark.parametrize(
        "failure",
        [
            httpx.ReadTimeout("read timed out"),
            httpx.ConnectTimeout("connect timed out"),
            httpx.ConnectError("connection refused"),
            httpx.RemoteProtocolError("server disconnected"),
        ],
    )
    async def test_timeouts_and_connection_errors_are_retryable(
        self, failure: Exception, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        router.post(URL).mock(side_effect=failure)
        async with started(HttpTarget(URL), executor) as target:
            with pytest.raises(HttpDeliveryError) as caught:
                await target.put([delivery(order())])
        error = caught.value
        assert (error.status, error.retryable, error.retry_after) == (None, True, None)
        assert URL in str(error)
        if isinstance(failure, httpx.TimeoutException):
            assert "timed out" in str(error)

    async def test_the_timeout_bounds_the_whole_request(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        # Each phase on its own may stay under httpx's timeout while the request as a whole
        # takes longer: the target's timeout bounds the whole.
        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return httpx.Response(200)

        router.post(URL).mock(side_effect=slow)
        async with started(HttpTarget(URL, timeout=0.05), executor) as target:
            with pytest.raises(HttpDeliveryError, match="timed out after 0.05 s") as caught:
                await target.put([delivery(order())])
        assert (caught.value.status, caught.value.retryable) == (None, True)

    async def test_put_before_start_is_an_error(self) -> None:
        with pytest.raises(DeliveryError, match="not started"):
            await HttpTarget(URL).put([delivery(order())])


class TestThroughABridge:
    async def test_a_retry_waits_for_retry_after_when_the_policy_is_quicker(
        self, router: respx.MockRouter
    ) -> None:
        route = router.post(URL).mock(
            side_effect=[httpx.Response(503, headers={"Retry-After": "120"}), httpx.Response(200)]
        )
        bridge = bridge_with(HttpTarget(URL), retry=quick(3, delay=0.01))
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order())
            assert route.call_count == 1
            assert await bridge.next_due() == START + 120
            await harness.advance(119)
            assert route.call_count == 1
            await harness.advance(1)
            assert route.call_count == 2
            assert len(harness.received("hook")) == 1
            assert await bridge.dead_letters.list() == []

    async def test_retry_after_is_a_floor_not_a_cap(self, router: respx.MockRouter) -> None:
        route = router.post(URL).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200)]
        )
        bridge = bridge_with(HttpTarget(URL), retry=quick(3, delay=30))
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order())
            assert await bridge.next_due() == START + 30
            await harness.advance(29)
            assert route.call_count == 1
            await harness.advance(1)
            assert route.call_count == 2

    async def test_server_errors_are_retried_then_dead_lettered(
        self, router: respx.MockRouter
    ) -> None:
        route = router.post(URL).respond(502, text="bad gateway")
        bridge = bridge_with(HttpTarget(URL), retry=quick(3))
        async with run_bridge(bridge) as harness:
            [event_id] = await harness.publish("orders", order())
            await harness.run_retries()
            [letter] = await bridge.dead_letters.list()
        assert route.call_count == 3
        assert (letter.reason, letter.attempts, letter.target) == ("attempts", 3, "hook")
        assert letter.error_type == "HttpDeliveryError"
        assert "502" in letter.error
        assert letter.event.id == event_id

    @pytest.mark.parametrize("status", [400, 404, 409, 410, 422, 302])
    async def test_a_permanent_failure_is_dead_lettered_after_one_attempt(
        self, status: int, router: respx.MockRouter
    ) -> None:
        elsewhere = router.post("https://elsewhere.example.com/").respond(200)
        route = router.post(URL).respond(
            status, text="nope", headers={"Location": "https://elsewhere.example.com/"}
        )
        bridge = bridge_with(HttpTarget(URL), retry=quick(5), dead_letter="failed-hooks")
        async with run_bridge(bridge) as harness:
            [event_id] = await harness.publish("orders", order())
            await harness.run_retries()
            [letter] = await bridge.dead_letters.list()
        assert route.call_count == 1
        assert elsewhere.call_count == 0
        assert letter.bus == "failed-hooks"
        assert (letter.reason, letter.attempts) == ("non-retryable", 1)
        assert letter.error_type == "HttpDeliveryError"
        assert f"answered {status}" in letter.error
        assert letter.event.id == event_id

    async def test_timeouts_are_retried_until_the_endpoint_answers(
        self, router: respx.MockRouter
    ) -> None:
        route = router.post(URL).mock(
            side_effect=[httpx.ReadTimeout("slow"), httpx.ConnectError("down"), httpx.Response(200)]
        )
        bridge = bridge_with(HttpTarget(URL), retry=quick(3))
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(5))
            await harness.run_retries()
            assert [e.data["order"] for e in harness.received("hook")] == [5]
            assert [d.attempt for d in harness.deliveries] == [1, 2, 3]
            assert await bridge.dead_letters.list() == []
        assert route.call_count == 3


# -- authentication --------------------------------------------------------------------------


class TestStaticAuth:
    async def send(self, router: respx.MockRouter, executor: ThreadPoolExecutor, auth: Any) -> Any:
        route = router.post(URL).respond(200)
        async with started(HttpTarget(URL, auth=auth), executor) as target:
            await target.put([delivery(order())])
        [request] = requests(route)
        return request.headers

    async def test_api_key_in_the_default_header(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        headers = await self.send(router, executor, ApiKeyAuth("s3cr3t"))
        assert headers["x-api-key"] == "s3cr3t"
        assert "authorization" not in headers

    async def test_api_key_in_a_custom_header(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        headers = await self.send(router, executor, ApiKeyAuth("k-1", header="X-Hook-Key"))
        assert headers["x-hook-key"] == "k-1"
        assert "x-api-key" not in headers

    async def test_basic_auth_is_rfc_7617_utf8(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        headers = await self.send(router, executor, BasicAuth("Zoë", "p:ss wörd"))
        scheme, token = headers["authorization"].split(" ")
        assert scheme == "Basic"
        assert base64.b64decode(token).decode("utf-8") == "Zoë:p:ss wörd"

    async def test_bearer_auth(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        headers = await self.send(router, executor, BearerAuth("tok-abc"))
        assert headers["authorization"] == "Bearer tok-abc"

    async def test_a_401_with_static_credentials_fails_for_good_without_a_second_try(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(401)
        async with started(HttpTarget(URL, auth=BearerAuth("old")), executor) as target:
            with pytest.raises(HttpDeliveryError) as caught:
                await target.put([delivery(order())])
        assert (caught.value.status, caught.value.retryable) == (401, False)
        assert route.call_count == 1

    def test_bad_credentials_are_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="must not contain ':'"):
            BasicAuth("user:name", "pw")
        with pytest.raises(ConfigurationError, match="ApiKeyAuth: key"):
            ApiKeyAuth("")
        with pytest.raises(ConfigurationError, match="ApiKeyAuth: header"):
            ApiKeyAuth("k", header="")
        with pytest.raises(ConfigurationError, match="BearerAuth: token"):
            BearerAuth("")
        assert "s3cr3t" not in repr(ApiKeyAuth("s3cr3t"))
        assert "pw" not in repr(BasicAuth("user", "pw"))


class TestOAuth2:
    async def test_the_token_is_fetched_once_and_cached(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1", "tok-2"))
        route = router.post(URL).respond(200)
        auth = OAuth2ClientCredentials(TOKEN_URL, "client", "secret")
        async with started(HttpTarget(URL, auth=auth), executor) as target:
            for n in range(3):
                await target.put([delivery(order(n))])
        assert token.call_count == 1
        assert auth.fetched == 1
        assert [r.headers["authorization"] for r in requests(route)] == ["Bearer tok-1"] * 3

    async def test_client_auth_basic_sends_the_credentials_in_the_authorization_header(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1"))
        router.post(URL).respond(200)
        auth = OAuth2ClientCredentials(
            TOKEN_URL, "my client", "s&cret=1", scope="events:write", audience="crm"
        )
        async with started(HttpTarget(URL, auth=auth), executor) as target:
            await target.put([delivery(order())])
        [request] = requests(token)
        scheme, credentials = request.headers["authorization"].split(" ")
        assert scheme == "Basic"
        # RFC 6749 2.3.1: each part form-encoded, then HTTP Basic.
        assert base64.b64decode(credentials).decode() == "my+client:s%26cret%3D1"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert parse_qs(request.content.decode()) == {
            "grant_type": ["client_credentials"],
            "scope": ["events:write"],
            "audience": ["crm"],
        }

    async def test_client_auth_body_sends_the_credentials_in_the_form(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1"))
        router.post(URL).respond(200)
        auth = OAuth2ClientCredentials(TOKEN_URL, "my client", "s&cret", client_auth="body")
        async with started(HttpTarget(URL, auth=auth), executor) as target:
            await target.put([delivery(order())])
        [request] = requests(token)
        assert "authorization" not in request.headers
        assert parse_qs(request.content.decode()) == {
            "grant_type": ["client_credentials"],
            "client_id": ["my client"],
            "client_secret": ["s&cret"],
        }

    async def test_a_401_fetches_a_new_token_and_sends_again_once(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1", "tok-2"))
        route = router.post(URL).mock(side_effect=[httpx.Response(401), httpx.Response(200)])
        secret = generate_webhook_secret()
        target = HttpTarget(
            URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"), signing_secret=secret
        )
        async with started(target, executor):
            await target.put([delivery(order())])
        assert token.call_count == 2
        first, second = requests(route)
        assert first.headers["authorization"] == "Bearer tok-1"
        assert second.headers["authorization"] == "Bearer tok-2"
        assert first.content == second.content
        assert verify_webhook(secret, second.headers, second.content)

    async def test_a_late_401_for_a_replaced_token_keeps_the_new_one(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        # Two requests go out with tok-1; the first 401 brings tok-2. The second request's
        # 401 (for tok-1) must not throw tok-2 away: one fetch, not one per refused request.
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1", "tok-2", "tok-3"))
        both_sent = asyncio.Event()
        renewed = asyncio.Event()
        seen: list[str] = []

        async def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers["authorization"])
            if request.headers["authorization"] == "Bearer tok-1":
                if len(seen) == 1:
                    await both_sent.wait()
                    return httpx.Response(401)
                both_sent.set()
                await renewed.wait()  # answered once the first request came back with tok-2
                return httpx.Response(401)
            renewed.set()
            return httpx.Response(200)

        router.post(URL).mock(side_effect=answer)
        target = HttpTarget(URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"))
        async with started(target, executor, concurrency=2):
            await asyncio.gather(target.put([delivery(order(1))]), target.put([delivery(order(2))]))
        assert sorted(seen) == ["Bearer tok-1"] * 2 + ["Bearer tok-2"] * 2
        assert token.call_count == 2

    async def test_a_second_401_fails_for_good(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1", "tok-2", "tok-3"))
        route = router.post(URL).respond(401, text="bad token")
        target = HttpTarget(URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"))
        async with started(target, executor):
            with pytest.raises(HttpDeliveryError) as caught:
                await target.put([delivery(order())])
        assert (caught.value.status, caught.value.retryable) == (401, False)
        assert route.call_count == 2
        assert token.call_count == 2

    @pytest.mark.parametrize(
        ("answer", "retryable"),
        [
            (httpx.Response(500, text="oops"), True),
            (httpx.Response(503), True),
            (httpx.Response(429), True),
            (httpx.ConnectError("refused"), True),
            (httpx.ReadTimeout("slow"), True),
            (httpx.Response(400, json={"error": "invalid_client"}), False),
            (httpx.Response(401, json={"error": "invalid_client"}), False),
            (httpx.Response(200, json={"token_type": "Bearer"}), False),
            (httpx.Response(200, text="not json"), False),
        ],
    )
    async def test_token_endpoint_failures(
        self,
        answer: Any,
        retryable: bool,
        router: respx.MockRouter,
        executor: ThreadPoolExecutor,
    ) -> None:
        router.post(TOKEN_URL).mock(side_effect=[answer])
        route = router.post(URL).respond(200)
        target = HttpTarget(URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"))
        async with started(target, executor):
            with pytest.raises(DeliveryError, match="token endpoint") as caught:
                await target.put([delivery(order())])
        assert caught.value.retryable is retryable
        assert route.call_count == 0

    async def test_a_refused_token_dead_letters_through_a_bridge(
        self, router: respx.MockRouter
    ) -> None:
        token = router.post(TOKEN_URL).respond(400, json={"error": "invalid_client"})
        route = router.post(URL).respond(200)
        target = HttpTarget(URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"))
        async with run_bridge(bridge_with(target, retry=quick(5))) as harness:
            await harness.publish("orders", order())
            await harness.run_retries()
            [letter] = await harness.bridge.dead_letters.list()
        assert (letter.reason, letter.attempts) == ("non-retryable", 1)
        assert "invalid_client" in letter.error
        assert (token.call_count, route.call_count) == (1, 0)

    async def test_an_expiring_token_is_fetched_again(
        self,
        router: respx.MockRouter,
        executor: ThreadPoolExecutor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        now = [1000.0]
        monkeypatch.setattr(_http_auth, "time", SimpleNamespace(monotonic=lambda: now[0]))
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1", "tok-2", expires_in=120))
        route = router.post(URL).respond(200)
        target = HttpTarget(URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"))
        async with started(target, executor):
            await target.put([delivery(order(1))])
            now[0] += 89  # replaced 30 s before it expires: at 90 s
            await target.put([delivery(order(2))])
            assert token.call_count == 1
            now[0] += 1
            await target.put([delivery(order(3))])
            assert token.call_count == 2
        assert [r.headers["authorization"] for r in requests(route)] == [
            "Bearer tok-1",
            "Bearer tok-1",
            "Bearer tok-2",
        ]

    async def test_an_expired_token_is_fetched_again(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        token = router.post(TOKEN_URL).mock(side_effect=tokens("tok-1", "tok-2"))
        route = router.post(URL).respond(200)
        auth = OAuth2ClientCredentials(TOKEN_URL, "c", "s")
        async with started(HttpTarget(URL, auth=auth), executor) as target:
            await target.put([delivery(order(1))])
            auth._expires = 0.0
            await target.put([delivery(order(2))])
        assert token.call_count == 2
        assert requests(route)[-1].headers["authorization"] == "Bearer tok-2"

    async def test_concurrent_deliveries_share_one_fetch(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        release = asyncio.Event()
        asked = asyncio.Event()

        async def slow_token(request: httpx.Request) -> httpx.Response:
            asked.set()
            await release.wait()
            return token_response("tok-1")

        token = router.post(TOKEN_URL).mock(side_effect=slow_token)
        route = router.post(URL).respond(200)
        target = HttpTarget(URL, auth=OAuth2ClientCredentials(TOKEN_URL, "c", "s"))
        async with started(target, executor, concurrency=8):
            puts = [asyncio.create_task(target.put([delivery(order(n))])) for n in range(8)]
            await asyncio.wait_for(asked.wait(), 5)
            for _ in range(20):
                await asyncio.sleep(0)  # every put reaches the token
            release.set()
            await asyncio.gather(*puts)
        assert token.call_count == 1
        assert route.call_count == 8
        assert {r.headers["authorization"] for r in requests(route)} == {"Bearer tok-1"}

    def test_bad_oauth_configuration_is_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="token_url must be an http"):
            OAuth2ClientCredentials("ftp://auth.example.com/token", "c", "s")
        with pytest.raises(ConfigurationError, match="client_auth must be 'basic' or 'body'"):
            OAuth2ClientCredentials(TOKEN_URL, "c", "s", client_auth="jwt")
        with pytest.raises(ConfigurationError, match="client_secret"):
            OAuth2ClientCredentials(TOKEN_URL, "c", "")
        assert "s3cr3t" not in repr(OAuth2ClientCredentials(TOKEN_URL, "c", "s3cr3t"))


# -- signing ---------------------------------------------------------------------------------


class TestSigning:
    async def test_each_request_is_signed_the_standard_webhooks_way(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(200)
        secret = generate_webhook_secret()
        events = [order(1), order(2, id="order.2 with space")]
        async with started(HttpTarget(URL, signing_secret=secret), executor) as target:
            for event in events:
                await target.put([delivery(event)])
        first, second = requests(route)
        for request in (first, second):
            assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
            msg_id = verify_webhook(secret, request.headers, request.content)
            assert msg_id == request.headers["webhook-id"]
            # The independent implementation agrees.
            payload = Webhook(secret).verify(request.content, dict(request.headers))
            assert payload == json.loads(request.content)
        assert first.headers["webhook-id"].startswith("msg_")
        assert second.headers["webhook-id"].startswith("msg_")  # whatever the event id holds
        assert first.headers["webhook-id"] != second.headers["webhook-id"]

    async def test_webhook_ids_differ_across_sources_and_targets_for_the_same_event_id(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        # An event id is unique only with its source, and one event through two rules is two
        # messages: a receiver that drops repeated webhook-ids must drop none of these.
        route = router.post(URL).respond(200)
        secret = generate_webhook_secret()
        shop = order(1, id="42")
        other = Event(type="order.paid", source="/other-shop", id="42")
        async with started(HttpTarget(URL, signing_secret=secret), executor) as target:
            await target.put([delivery(shop)])
            await target.put([delivery(other)])
            await target.put([Delivery(shop, "orders", "another-rule", "t")])
            await target.put([delivery(shop, attempt=2)])  # a retry: the same message
        ids = [request.headers["webhook-id"] for request in requests(route)]
        assert len(set(ids[:3])) == 3
        assert ids[3] == ids[0]

    async def test_a_tampered_body_does_not_verify(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(200)
        secret = generate_webhook_secret()
        async with started(HttpTarget(URL, signing_secret=secret), executor) as target:
            await target.put([delivery(order())])
        [request] = requests(route)
        with pytest.raises(Exception, match="signature"):
            verify_webhook(secret, request.headers, request.content + b" ")
        with pytest.raises(Exception, match="[Ss]ignature"):
            Webhook(generate_webhook_secret()).verify(request.content, dict(request.headers))

    async def test_the_webhook_id_is_the_same_on_a_retry_and_differs_between_events(
        self, router: respx.MockRouter
    ) -> None:
        failed: set[str] = set()

        def answer(request: httpx.Request) -> httpx.Response:
            # Each event fails once, then is taken.
            msg_id = request.headers["webhook-id"]
            if msg_id in failed:
                return httpx.Response(200)
            failed.add(msg_id)
            return httpx.Response(503)

        route = router.post(URL).mock(side_effect=answer)
        secret = generate_webhook_secret()
        bridge = bridge_with(HttpTarget(URL, signing_secret=secret), retry=quick(3))
        async with run_bridge(bridge) as harness:
            ids = await harness.publish("orders", [order(1), order(2, id="a.b")])
            await harness.run_retries()
            assert len(harness.received("hook")) == 2
        sent = requests(route)
        assert len(sent) == 4
        by_event: dict[str, set[str]] = {}
        for request in sent:
            verify_webhook(secret, request.headers, request.content)
            by_event.setdefault(request.headers["ce-id"], set()).add(request.headers["webhook-id"])
        assert set(by_event) == set(ids)
        assert all(len(webhook_ids) == 1 for webhook_ids in by_event.values())
        assert len(set.union(*by_event.values())) == 2

    async def test_a_batch_has_one_webhook_id_stable_across_retries(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).mock(side_effect=[httpx.Response(500), httpx.Response(200)])
        secret = generate_webhook_secret()
        events = [order(1), order(2)]
        target = HttpTarget(URL, mode="batch", signing_secret=secret)
        async with started(target, executor):
            with pytest.raises(HttpDeliveryError):
                await target.put([delivery(e) for e in events])
            await target.put([delivery(e, attempt=2) for e in events])
        first, second = requests(route)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert first.headers["webhook-id"] not in {e.id for e in events}
        Webhook(secret).verify(second.content, dict(second.headers))

    async def test_rotation_signs_with_each_secret(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(200)
        old, new = generate_webhook_secret(), generate_webhook_secret()
        async with started(HttpTarget(URL, signing_secret=[old, new]), executor) as target:
            await target.put([delivery(order())])
        [request] = requests(route)
        items = request.headers["webhook-signature"].split(" ")
        assert len(items) == 2
        assert all(item.startswith("v1,") for item in items)
        for secret in (old, new):
            verify_webhook(secret, request.headers, request.content)
            Webhook(secret).verify(request.content, dict(request.headers))
        with pytest.raises(Exception, match="signature"):
            verify_webhook(generate_webhook_secret(), request.headers, request.content)

    async def test_no_signing_headers_without_a_secret(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        route = router.post(URL).respond(200)
        async with started(HttpTarget(URL), executor) as target:
            await target.put([delivery(order())])
        [request] = requests(route)
        assert not [name for name in request.headers if name.startswith("webhook-")]

    def test_a_bad_secret_is_refused_at_construction(self) -> None:
        with pytest.raises(ConfigurationError, match="too short"):
            HttpTarget(URL, signing_secret="whsec_" + base64.b64encode(b"short").decode())


# -- the connection pool ---------------------------------------------------------------------


class TestConnectionPool:
    async def test_connections_are_reused_and_closed_at_the_last_stop(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        router.post(URL).respond(200)
        target = HttpTarget(URL)
        await target.start(_context(executor))
        await target.start(_context(executor))  # a second rule
        await target.put([delivery(order(1))])
        await target.put([delivery(order(2))])
        [lane] = target._lanes  # one after the other: one connection
        await target.stop()
        assert not lane.is_closed
        await target.put([delivery(order(3))])  # still usable by the other rule
        assert target._lanes == [lane]
        await target.stop()
        assert lane.is_closed
        assert target._lanes == target._idle == []
        with pytest.raises(DeliveryError, match="not started"):
            await target.put([delivery(order(4))])

    async def test_concurrent_deliveries_each_have_a_connection_of_their_own(
        self, router: respx.MockRouter, executor: ThreadPoolExecutor
    ) -> None:
        arrived = 0
        all_in = asyncio.Event()

        async def answer(request: httpx.Request) -> httpx.Response:
            nonlocal arrived
            arrived += 1
            if arrived == 3:
                all_in.set()
            await all_in.wait()
            return httpx.Response(200)

        router.post(URL).mock(side_effect=answer)
        target = HttpTarget(URL)
        async with started(target, executor, concurrency=3):
            await asyncio.gather(*(target.put([delivery(order(n))]) for n in range(3)))
            assert len(target._lanes) == 3
            assert sorted(map(id, target._idle)) == sorted(map(id, target._lanes))
            for n in range(6):  # later deliveries take the idle connections
                await target.put([delivery(order(n))])
            assert len(target._lanes) == 3

    async def test_an_injected_transport_serves_every_request_and_is_closed_at_stop(
        self, executor: ThreadPoolExecutor
    ) -> None:
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers["ce-id"])
            return httpx.Response(204)

        transport = httpx.MockTransport(answer)
        target = HttpTarget(URL, transport=transport)
        events = [order(n) for n in range(3)]
        async with started(target, executor, concurrency=3):
            await asyncio.gather(*(target.put([delivery(event)]) for event in events))
            assert target._lanes == []
        assert sorted(seen) == sorted(event.id for event in events)

    async def test_a_target_on_two_rules_shares_its_connections(
        self, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        route = router.post(URL).respond(200)
        opened: list[httpx.AsyncClient] = []
        closed: list[httpx.AsyncClient] = []
        real = httpx.AsyncClient

        class Counting(real):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                opened.append(self)

            async def aclose(self) -> None:
                closed.append(self)
                await super().aclose()

        monkeypatch.setattr(httpx, "AsyncClient", Counting)
        target = HttpTarget(URL)
        bridge = EventBridge("memory://")
        orders = bridge.bus("orders")
        orders.rule("paid", pattern={"type": ["order.paid"]}).target(target)
        bridge.bus("refunds").rule("all").target(target, concurrency=2)
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            await harness.publish("refunds", order(2))
            assert len(opened) == 1
            assert closed == []
        assert route.call_count == 2
        assert closed == opened
        assert target._lanes == []


def _context(executor: ThreadPoolExecutor) -> SinkContext:
    async def publish(bus: str, events: Any) -> list[str]:
        return []

    return SinkContext(
        bus="orders", rule="r", target="t", executor=executor, publish=publish, concurrency=2
    )


# -- configuration ---------------------------------------------------------------------------


class TestConfiguration:
    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"url": "ftp://hooks.example.com/"}, "must start with http:// or https://"),
            ({"url": "hooks.example.com/events"}, "must start with http:// or https://"),
            ({"method": "CONNECT"}, "method must be POST, PUT"),
            ({"method": "TRACE"}, "method must be POST, PUT"),
            ({"mode": "avro"}, "mode must be 'binary', 'structured' or 'batch', got 'avro'"),
            ({"mode": "batch", "batch_size": 0}, "batch_size must be a whole number >= 1, got 0"),
            ({"batch_size": True}, "batch_size must be a whole number"),
            ({"timeout": 0}, "timeout must be a positive number"),
            ({"timeout": -1.5}, "timeout must be a positive number"),
            ({"auth": "Bearer abc"}, "auth must be ApiKeyAuth, BasicAuth, BearerAuth"),
            ({"auth": ("user", "pw")}, "auth must be ApiKeyAuth, BasicAuth, BearerAuth"),
        ],
    )
    def test_bad_options_are_refused_naming_what_is_wrong(
        self, options: dict[str, Any], message: str
    ) -> None:
        url = options.pop("url", URL)
        with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")) as caught:
            HttpTarget(url, **options)
        assert repr(url) in str(caught.value)

    def test_the_default_name_comes_from_the_host_and_port(self) -> None:
        assert HttpTarget(URL).name == "http-hooks.example.com"
        assert HttpTarget("http://localhost:8080/hook").name == "http-localhost-8080"
        assert HttpTarget(URL, name="crm").name == "crm"
        rule = EventBridge("memory://").bus("orders").rule("r")
        assert rule.target(HttpTarget(URL)).name == "http-hooks.example.com"
        assert rule.target(HttpTarget(URL), name="second").name == "second"

    def test_reply_to_is_refused_with_a_sink(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        with pytest.raises(ConfigurationError, match="reply_to is for handler targets"):
            rule.target(HttpTarget(URL), reply_to="answers")  # type: ignore[call-overload]

    def test_two_sinks_with_the_same_default_name_on_one_rule(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        rule.target(HttpTarget(URL))
        with pytest.raises(DuplicateNameError, match="'http-hooks.example.com'"):
            rule.target(HttpTarget(URL + "/other"))
        rule.target(HttpTarget(URL + "/other"), name="other")
        assert set(rule.targets) == {"http-hooks.example.com", "other"}
