"""The CloudEvents publishing client, asyncio and blocking, against a respx-mocked gateway.

Every test that goes through the ``make`` fixture runs against both clients.
"""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import httpx
import orjson
import pytest
import respx

from eventbridge_sdk import ConfigurationError, Event, InvalidEventError, RetryPolicy
from eventbridge_sdk._errors import InvalidNameError, RuntimeStateError
from eventbridge_sdk.http import _client
from eventbridge_sdk.http._binding import from_http
from eventbridge_sdk.http._client import (
    AsyncEventBridgeClient,
    EventBridgeClient,
    PublishError,
    PutEventsResult,
)

BASE = "https://gateway.test"
PATH = "/buses/orders/events"
TIME = "2026-01-31T12:00:00Z"


class Client:
    """One awaitable API over either client, so that a test runs against both."""

    def __init__(self, kind: str, **options: Any) -> None:
        self.inner: AsyncEventBridgeClient | EventBridgeClient
        if kind == "async":
            self.inner = AsyncEventBridgeClient(BASE, **options)
        else:
            self.inner = EventBridgeClient(BASE, **options)

    async def put_events(self, bus: str, events: Any, **options: Any) -> PutEventsResult:
        if isinstance(self.inner, AsyncEventBridgeClient):
            return await self.inner.put_events(bus, events, **options)
        return self.inner.put_events(bus, events, **options)

    async def publish(self, bus: str, events: Any, **options: Any) -> list[str]:
        if isinstance(self.inner, AsyncEventBridgeClient):
            return await self.inner.publish(bus, events, **options)
        return self.inner.publish(bus, events, **options)

    async def close(self) -> None:
        if isinstance(self.inner, AsyncEventBridgeClient):
            await self.inner.aclose()
        else:
            self.inner.close()


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make(kind: str) -> AsyncIterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(**options: Any) -> Client:
        client = Client(kind, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.close()


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's waits between retries, recorded instead of slept."""
    waited: list[float] = []

    async def async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(_client, "_async_sleep", async_sleep)
    monkeypatch.setattr(_client, "_sleep", waited.append)
    return waited


@pytest.fixture
def gateway() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def events(count: int, **attributes: Any) -> list[Event]:
    return [
        Event(type="order.created", source="/shop", time=TIME, data={"order": i}, **attributes)
        for i in range(count)
    ]


def decoded(request: httpx.Request) -> list[Event]:
    return from_http(request.headers, request.content)


def sent(route: respx.Route) -> list[list[Event]]:
    """The events of each request the route saw, in the order they came."""
    return [decoded(call.request) for call in route.calls]


def accepted(request: httpx.Request) -> httpx.Response:
    """A gateway that takes every event (answering ids it marks, to show they were read)."""
    entries = [{"event_id": f"gw-{event.id}"} for event in decoded(request)]
    return httpx.Response(200, json={"failed_entry_count": 0, "entries": entries})


def problem(
    status: int, code: str, detail: str = "something is wrong", **extra: Any
) -> httpx.Response:
    headers = extra.pop("headers", {})
    body = {"type": "urn:x", "title": "t", "status": status, "code": code, "detail": detail}
    return httpx.Response(
        status,
        content=orjson.dumps({**body, **extra}),
        headers={"content-type": "application/problem+json", **headers},
    )


def steps(*answers: Any) -> Callable[[httpx.Request], httpx.Response]:
    """A side effect giving one answer per request: a response, an exception to raise, or a
    function of the request; the last one repeats."""
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(request)  # type: ignore[no-any-return]
        assert isinstance(step, httpx.Response)
        return step

    return answer


def gw_ids(items: Sequence[Event]) -> list[str | None]:
    return [f"gw-{event.id}" for event in items]


# -- modes -----------------------------------------------------------------------------------


async def test_binary_mode_sends_ce_headers_and_the_data(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    [event] = events(
        1, subject="o-1", datacontenttype="application/json", extensions={"tenant": "acme"}
    )
    result = await make().put_events("orders", event, mode="binary")
    request = route.calls.last.request
    assert request.url == f"{BASE}{PATH}"
    assert request.headers["ce-id"] == event.id
    assert request.headers["ce-tenant"] == "acme"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("eventbridge-sdk/")
    assert orjson.loads(request.content) == {"order": 0}
    assert decoded(request) == [event]
    assert result == PutEventsResult([_client.PutEventsResultEntry(f"gw-{event.id}")], 0)


async def test_structured_mode_sends_one_request_per_event_and_keeps_the_order(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    batch = events(5)
    result = await make(concurrency=3).put_events("orders", batch, mode="structured")
    assert route.call_count == 5
    for call in route.calls:
        assert call.request.headers["content-type"].startswith("application/cloudevents+json")
        assert "ce-id" not in call.request.headers
    assert sorted(e.id for [e] in sent(route)) == sorted(e.id for e in batch)
    assert result.event_ids == gw_ids(batch)
    assert result.failed_entry_count == 0


async def test_batch_mode_sends_a_json_array(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    batch = events(3)
    result = await make().put_events("orders", batch, mode="batch")
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("application/cloudevents-batch+json")
    assert sent(route) == [batch]
    assert result.event_ids == gw_ids(batch)


async def test_auto_mode_sends_one_event_binary_and_several_as_a_batch(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    client = make()
    await client.put_events("orders", events(1))
    assert "ce-id" in route.calls.last.request.headers
    await client.put_events("orders", events(2))
    assert route.calls.last.request.headers["content-type"].startswith(
        "application/cloudevents-batch+json"
    )
    assert [len(events) for events in sent(route)] == [1, 2]


async def test_mappings_get_an_id_and_a_time_and_publish_returns_the_ids(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(
        side_effect=lambda request: httpx.Response(202)  # a receiver that answers no entries
    )
    ids = await make().publish(
        "orders", [{"type": "t", "source": "/s"}, {"type": "u", "source": "/s"}]
    )
    [[first, second]] = sent(route)
    assert ids == [first.id, second.id]
    assert first.time is not None
    assert (first.type, second.type) == ("t", "u")


# -- splitting -------------------------------------------------------------------------------


async def test_batches_are_split_by_count(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    batch = events(7)
    result = await make(max_batch_events=3, concurrency=1).put_events("orders", batch)
    assert sent(route) == [batch[0:3], batch[3:6], batch[6:]]
    assert result.event_ids == gw_ids(batch)


@pytest.mark.parametrize(("slack", "sizes"), [(0, [1, 1, 1, 1, 1]), (1, [2, 2, 1])])
async def test_batches_are_split_by_bytes_counting_brackets_and_commas(
    make: Callable[..., Client], gateway: respx.MockRouter, slack: int, sizes: list[int]
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    batch = events(5)
    size = len(batch[0].to_json())
    assert all(len(event.to_json()) == size for event in batch)
    limit = 2 + 2 * size + slack  # two events need their bytes, "[", "]" and one ","
    client = make(max_batch_bytes=limit, concurrency=1)
    result = await client.put_events("orders", batch, mode="batch")
    assert [len(events) for events in sent(route)] == sizes
    assert all(len(call.request.content) <= limit for call in route.calls)
    assert [event for events in sent(route) for event in events] == batch
    assert result.failed_entry_count == 0


async def test_an_event_over_max_event_bytes_is_not_sent(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    small, _, other = events(3)
    big = Event(type="order.created", source="/shop", data={"blob": "x" * 1000})
    limit = len(small.to_json()) + 10
    client = make(max_event_bytes=limit)
    result = await client.put_events("orders", [small, big, other])
    assert sent(route) == [[small, other]]
    assert result.failed_entry_count == 1
    entry = result.entries[1]
    assert entry.error_code == "EventTooLarge"
    assert entry.error_message is not None
    assert str(len(big.to_json())) in entry.error_message
    assert str(limit) in entry.error_message
    assert result.event_ids == [f"gw-{small.id}", None, f"gw-{other.id}"]

    alone = await client.put_events("orders", big)
    assert route.call_count == 1  # nothing more was sent
    assert alone.failed_entry_count == 1


async def test_a_413_halves_the_batch_until_it_fits(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    def small_batches_only(request: httpx.Request) -> httpx.Response:
        if len(decoded(request)) > 2:
            return problem(413, "RequestTooLarge", "too many bytes")
        return accepted(request)

    route = gateway.post(PATH).mock(side_effect=small_batches_only)
    batch = events(5)
    result = await make().put_events("orders", batch, mode="batch")
    assert [len(events) for events in sent(route)] == [5, 2, 3, 1, 2]
    assert result.event_ids == gw_ids(batch)
    assert result.failed_entry_count == 0


async def test_a_413_for_a_single_event_is_its_failed_entry(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    small, big = events(2)

    def refuse_big(request: httpx.Request) -> httpx.Response:
        if big.id in {event.id for event in decoded(request)}:
            return problem(413, "EventTooLarge", "the event takes 300000 bytes")
        return accepted(request)

    route = gateway.post(PATH).mock(side_effect=refuse_big)
    result = await make().put_events("orders", [small, big])
    assert [len(events) for events in sent(route)] == [2, 1, 1]
    assert result.event_ids == [f"gw-{small.id}", None]
    assert result.entries[1].error_code == "EventTooLarge"
    assert "300000 bytes" in (result.entries[1].error_message or "")
    assert result.failed_entry_count == 1


# -- answers ---------------------------------------------------------------------------------


async def test_entries_that_failed_are_reported_in_place(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    batch = events(3)
    body = {
        "failed_entry_count": 1,
        "entries": [
            {"event_id": batch[0].id},
            {"error_code": "InvalidEvent", "error_message": "data.amount must be a number"},
            {"event_id": batch[2].id},
        ],
    }
    gateway.post(PATH).mock(return_value=httpx.Response(200, json=body))
    client = make()
    result = await client.put_events("orders", batch)
    assert result.failed_entry_count == 1
    assert [entry.ok for entry in result.entries] == [True, False, True]
    assert result.entries[1].error_code == "InvalidEvent"
    assert result.entries[1].error_message == "data.amount must be a number"
    assert result.event_ids == [batch[0].id, None, batch[2].id]

    with pytest.raises(PublishError, match="1 of 3 events failed") as caught:
        await client.publish("orders", batch)
    assert caught.value.result == result
    assert caught.value.code == "InvalidEvent"
    assert caught.value.retryable is False  # the same event fails the same way again
    assert "#1" in str(caught.value)


async def test_a_400_in_which_every_entry_failed_is_a_result_not_an_error(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float]
) -> None:
    failed = {"error_code": "InvalidEvent", "error_message": "bad"}
    route = gateway.post(PATH).mock(
        return_value=problem(400, "InvalidEvent", "no event was accepted", entries=[failed] * 2)
    )
    result = await make().put_events("orders", events(2))
    assert result.failed_entry_count == 2
    assert {entry.error_code for entry in result.entries} == {"InvalidEvent"}
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "InvalidEvent"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (404, "UnknownBus"),
        (415, "UnsupportedMediaType"),
    ],
)
async def test_a_refused_request_raises_with_the_problem_and_is_not_retried(
    make: Callable[..., Client],
    gateway: respx.MockRouter,
    sleeps: list[float],
    status: int,
    code: str,
) -> None:
    route = gateway.post(PATH).mock(return_value=problem(status, code, f"detail of {code}"))
    batch = events(2)
    with pytest.raises(PublishError) as caught:
        await make().put_events("orders", batch)
    error = caught.value
    assert (error.status, error.code, error.detail) == (status, code, f"detail of {code}")
    assert f"detail of {code}" in str(error)
    assert error.retryable is False  # a delivery policy dead-letters it at once
    assert route.call_count == 1
    assert sleeps == []
    assert error.result is not None
    assert [entry.error_code for entry in error.result.entries] == [code, code]


async def test_a_refusal_without_a_problem_body_still_says_what_came(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    gateway.post(PATH).mock(return_value=httpx.Response(404, text="<h1>no such page</h1>"))
    with pytest.raises(PublishError, match="check base_url") as caught:
        await make().put_events("orders", events(1))
    assert (caught.value.status, caught.value.code) == (404, None)
    assert "no such page" in caught.value.detail


async def test_a_request_failing_as_a_whole_stops_the_call_and_the_result_says_what_was_sent(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(
        side_effect=steps(accepted, problem(401, "Unauthorized", "the API key is not valid"))
    )
    client = make(max_batch_events=2, concurrency=1)
    with pytest.raises(PublishError, match="the API key is not valid") as caught:
        await client.put_events("orders", events(5))
    assert route.call_count == 2
    assert caught.value.result is not None
    codes = [entry.error_code for entry in caught.value.result.entries]
    assert codes == [None, None, "Unauthorized", "Unauthorized", "NotSent"]
    assert caught.value.result.failed_entry_count == 3


# -- retries ---------------------------------------------------------------------------------


async def test_a_429_waits_as_long_as_retry_after_says(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float]
) -> None:
    busy = problem(429, "Throttled", "slow down", headers={"retry-after": "2"})
    route = gateway.post(PATH).mock(side_effect=steps(busy, accepted))
    result = await make().put_events("orders", events(2))
    assert result.failed_entry_count == 0
    assert route.call_count == 2
    assert sleeps == [2.0]  # longer than the backoff, which starts at 0.1 s


async def test_a_429_with_an_http_date_waits_until_then(
    make: Callable[..., Client],
    gateway: respx.MockRouter,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = 1_800_000_000
    monkeypatch.setattr(_client, "_wall_clock", lambda: float(now))
    later = email.utils.formatdate(now + 7, usegmt=True)
    busy = problem(429, "Throttled", "slow down", headers={"retry-after": later})
    route = gateway.post(PATH).mock(side_effect=steps(busy, accepted))
    await make().put_events("orders", events(1))
    assert route.call_count == 2
    assert sleeps == [7.0]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_retried_with_the_same_bytes(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = gateway.post(PATH).mock(
        side_effect=steps(problem(status, "InternalFailure", "try again"), accepted)
    )
    batch = events(3)
    result = await make().put_events("orders", batch)
    assert result.event_ids == gw_ids(batch)
    first, second = (call.request for call in route.calls)
    assert first.content == second.content
    assert len(sleeps) == 1
    assert 0.0 <= sleeps[0] <= 0.1  # the first backoff of the default policy, jittered


async def test_retries_run_out_with_the_last_status(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float]
) -> None:
    route = gateway.post(PATH).mock(
        side_effect=steps(
            problem(500, "InternalFailure", "first"), problem(503, "InternalFailure", "last")
        )
    )
    with pytest.raises(PublishError, match="after 4 attempts") as caught:
        await make().put_events("orders", events(1))
    error = caught.value
    assert route.call_count == 4
    assert len(sleeps) == 3
    assert (error.status, error.code, error.detail) == (503, "InternalFailure", "last")
    assert error.retryable is True
    assert isinstance(error.__cause__, httpx.HTTPStatusError)
    assert error.__cause__.response.status_code == 503


async def test_a_connection_error_is_retried(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float]
) -> None:
    route = gateway.post(PATH).mock(side_effect=steps(httpx.ConnectError("refused"), accepted))
    batch = events(1)
    assert await make().publish("orders", batch) == gw_ids(batch)
    assert route.call_count == 2
    assert len(sleeps) == 1


async def test_connection_errors_run_out_with_the_error_as_the_cause(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=httpx.ConnectError("refused"))
    client = make(retry=RetryPolicy(max_attempts=2, initial_delay=0.1, max_delay=1))
    with pytest.raises(PublishError, match="refused") as caught:
        await client.put_events("orders", events(1))
    assert route.call_count == 2
    assert caught.value.status is None
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_retry_after_longer_than_max_retry_after_ends_the_retries(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float]
) -> None:
    route = gateway.post(PATH).mock(
        return_value=problem(503, "InternalFailure", "maintenance", headers={"retry-after": "120"})
    )
    with pytest.raises(PublishError, match="max_retry_after") as caught:
        await make(max_retry_after=60).put_events("orders", events(1))
    assert caught.value.status == 503
    assert route.call_count == 1
    assert sleeps == []


async def test_no_retry_starts_past_max_event_age(
    make: Callable[..., Client], gateway: respx.MockRouter, sleeps: list[float]
) -> None:
    route = gateway.post(PATH).mock(return_value=problem(503, "InternalFailure", "down"))
    policy = RetryPolicy(
        max_attempts=10, initial_delay=1, max_delay=10, max_event_age=1.5, jitter=0
    )
    with pytest.raises(PublishError, match="max_event_age"):
        await make(retry=policy).put_events("orders", events(1))
    assert sleeps == [1.0]  # the next delay, 2 s, would end past 1.5 s
    assert route.call_count == 2


# -- settings and lifecycle ------------------------------------------------------------------


async def test_api_key_bearer_token_and_extra_headers_are_sent(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    await make(api_key="k-1", headers={"X-Tenant": "acme"}).put_events("orders", events(1))
    headers = route.calls.last.request.headers
    assert (headers["x-api-key"], headers["x-tenant"]) == ("k-1", "acme")
    assert "authorization" not in headers
    await make(bearer_token="t-1").put_events("orders", events(1))
    headers = route.calls.last.request.headers
    assert headers["authorization"] == "Bearer t-1"
    assert "x-api-key" not in headers


@pytest.mark.parametrize(
    "options",
    [
        {"api_key": "k", "bearer_token": "t"},
        {"api_key": ""},
        {"max_batch_events": 0},
        {"max_batch_bytes": -1},
        {"max_event_bytes": 0},
        {"concurrency": 0},
        {"timeout": 0},
        {"max_retry_after": -1},
        {"retry": 3},
    ],
)
@pytest.mark.parametrize("cls", [AsyncEventBridgeClient, EventBridgeClient])
def test_bad_settings_are_refused(cls: type[Any], options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        cls(BASE, **options)


@pytest.mark.parametrize("url", ["ftp://gateway.test", "gateway.test", "https://", "http://h/?a=1"])
def test_a_base_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        EventBridgeClient(url)


async def test_invalid_input_is_refused_before_anything_is_sent(
    make: Callable[..., Client], gateway: respx.MockRouter
) -> None:
    route = gateway.post(PATH).mock(side_effect=accepted)
    client = make()
    valid = {"type": "t", "source": "/s"}
    with pytest.raises(InvalidEventError, match="#1.*'source'"):
        await client.put_events("orders", [valid, {"type": "t"}])
    with pytest.raises(InvalidEventError, match="#2.*nan"):
        await client.put_events("orders", [valid, valid, {**valid, "data": float("nan")}])
    with pytest.raises(InvalidEventError, match="expected an Event"):
        await client.put_events("orders", 42)
    with pytest.raises(InvalidNameError):
        await client.put_events("no spaces", valid)
    with pytest.raises(ConfigurationError, match="mode"):
        await client.put_events("orders", valid, mode="carrier-pigeon")
    assert not route.called


async def test_an_injected_transport_carries_the_requests(kind: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return accepted(request)

    client = Client(kind, transport=httpx.MockTransport(handler))
    batch = events(2)
    assert await client.publish("orders", batch) == gw_ids(batch)
    await client.close()
    assert [decoded(request) for request in seen] == [batch]


class RecordingTransport(httpx.MockTransport):
    def __init__(self) -> None:
        super().__init__(accepted)
        self.closes = 0

    def close(self) -> None:
        self.closes += 1

    async def aclose(self) -> None:
        self.closes += 1


async def test_the_async_context_manager_closes_the_pool() -> None:
    transport = RecordingTransport()
    async with AsyncEventBridgeClient(BASE, transport=transport) as client:
        await client.put_events("orders", events(1))
        assert transport.closes == 0
    assert transport.closes == 1
    assert client.closed
    with pytest.raises(RuntimeStateError, match="closed"):
        await client.put_events("orders", events(1))


def test_the_context_manager_closes_the_pool() -> None:
    transport = RecordingTransport()
    with EventBridgeClient(BASE, transport=transport) as client:
        client.put_events("orders", events(1))
        assert transport.closes == 0
    assert transport.closes == 1
    with pytest.raises(RuntimeStateError, match="closed"):
        client.put_events("orders", events(1))


async def test_a_given_http_client_is_used_and_left_open() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(accepted)) as http:
        async with AsyncEventBridgeClient(BASE, http_client=http) as client:
            await client.put_events("orders", events(1))
        assert not http.is_closed
    with httpx.Client(transport=httpx.MockTransport(accepted)) as sync_http:
        with EventBridgeClient(BASE, http_client=sync_http) as sync_client:
            sync_client.put_events("orders", events(1))
        assert not sync_http.is_closed
    with pytest.raises(ConfigurationError, match="http_client"):
        EventBridgeClient(BASE, http_client=http)  # type: ignore[arg-type]
