"""The event gateway: every mode in, every refusal out with a problem body, nothing stored from a
refused request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.core.v1.event import CloudEvent

from eventbridge_sdk import Event, EventBridge, GatewaySettings, StoreError
from eventbridge_sdk.http import Gateway, to_batch, to_binary, to_structured
from eventbridge_sdk.stores.memory import MemoryStore

URL = "http://gateway.test/buses/orders/events"


class Recorder:
    def __init__(self, bridge: EventBridge) -> None:
        self.appended: list[tuple[str, list[Event]]] = []
        self._context = bridge.observe(
            publishes=lambda bus, events: self.appended.append((bus, events))
        )
        self._context.__enter__()

    @property
    def events(self) -> list[Event]:
        return [event for _, events in self.appended for event in events]


@pytest.fixture
def bridge() -> EventBridge:
    bridge = EventBridge("memory://")
    bridge.bus("orders")
    bridge.bus("payments")
    return bridge


@pytest.fixture
def recorder(bridge: EventBridge) -> Recorder:
    return Recorder(bridge)


def _client(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test"
    )


@pytest.fixture
async def client(bridge: EventBridge) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(Gateway(bridge)) as client:
        yield client
    await bridge.stop()


def _event(**given: Any) -> Event:
    return Event(**{"type": "order.paid", "source": "/shop", "data": {"order": 1}, **given})


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["title"]
    assert problem["type"].startswith("urn:eventbridge-sdk:problem:")
    return problem


# -- accepted -----------------------------------------------------------------------------


async def test_binary_event_is_stored_and_answered_with_its_id(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    event = _event(subject="café 100%", extensions={"tenant": 'a "b"'})
    headers, body = to_binary(event)
    response = await client.post(URL, headers=headers, content=body)
    assert response.status_code == 200
    assert response.json() == {"failed_entry_count": 0, "entries": [{"event_id": event.id}]}
    [(bus, [stored])] = recorder.appended
    assert bus == "orders"
    assert stored.subject == "café 100%"
    assert stored.extensions == {"tenant": 'a "b"'}
    assert stored.data == {"order": 1}


async def test_structured_event_is_stored(client: httpx.AsyncClient, recorder: Recorder) -> None:
    event = _event(extensions={"count": 3})
    headers, body = to_structured(event)
    response = await client.post(URL, headers=headers, content=body)
    assert response.json()["entries"] == [{"event_id": event.id}]
    assert recorder.events == [event]


async def test_batch_is_answered_entry_by_entry_and_stores_the_valid_ones(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    good = [_event(), _event()]
    body = orjson.dumps(
        [good[0].to_dict(), {"specversion": "1.0", "id": "x", "source": "/s"}, good[1].to_dict()]
    )
    response = await client.post(
        URL, headers={"content-type": "application/cloudevents-batch+json"}, content=body
    )
    assert response.status_code == 200
    result = response.json()
    assert result["failed_entry_count"] == 1
    assert result["entries"][0] == {"event_id": good[0].id}
    assert result["entries"][1]["error_code"] == "InvalidEvent"
    assert "batch entry #1" in result["entries"][1]["error_message"]
    assert "'type'" in result["entries"][1]["error_message"]
    assert result["entries"][2] == {"event_id": good[1].id}
    assert [e.id for e in recorder.events] == [good[0].id, good[1].id]
    assert len(recorder.appended) == 1  # one append for the whole batch


async def test_empty_batch_is_valid(client: httpx.AsyncClient, recorder: Recorder) -> None:
    headers, body = to_batch([])
    response = await client.post(URL, headers=headers, content=body)
    assert response.json() == {"failed_entry_count": 0, "entries": []}
    assert recorder.appended == []


async def test_a_batch_where_every_entry_failed_is_a_400_with_the_entries(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    body = orjson.dumps([{"id": "1"}, "not an event"])
    response = await client.post(
        URL, headers={"content-type": "application/cloudevents-batch+json"}, content=body
    )
    problem = _problem(response, 400, "InvalidEvent")
    assert problem["failed_entry_count"] == 2
    assert [entry["error_code"] for entry in problem["entries"]] == ["InvalidEvent"] * 2
    assert "got a string" in problem["entries"][1]["error_message"]
    assert recorder.appended == []


async def test_events_are_durable_before_the_answer(bridge: EventBridge) -> None:
    store = MemoryStore()
    bridge.override(store=store)
    async with _client(Gateway(bridge)) as client:
        headers, body = to_binary(_event())
        response = await client.post(URL, headers=headers, content=body)
        assert response.status_code == 200
        # Read back from the store itself, not from the bridge's bookkeeping.
        records = await store.read("orders", after=-1, max_count=10)
        assert [orjson.loads(record.body)["id"] for record in records] == [
            response.json()["entries"][0]["event_id"]
        ]
    await bridge.stop()


# -- interoperability ---------------------------------------------------------------------


@pytest.mark.parametrize("encode", [ce_http.to_binary_event, ce_http.to_structured_event])
async def test_events_encoded_by_the_cloudevents_sdk_are_accepted(
    client: httpx.AsyncClient, recorder: Recorder, encode: Any
) -> None:
    sdk_event = CloudEvent(
        {
            "specversion": "1.0",
            "id": 'id with spaces %20 and "quotes"',
            "source": "urn:shop/ü",
            "type": "order.paid",
            "subject": "€ 😀",
            "tenant": "a%b c",
        },
        {"order": 7, "note": "ünïcode"},
    )
    message = encode(sdk_event)
    response = await client.post(URL, headers=message.headers, content=message.body)
    assert response.status_code == 200, response.text
    [stored] = recorder.events
    assert stored.id == 'id with spaces %20 and "quotes"'
    assert stored.source == "urn:shop/ü"
    assert stored.subject == "€ 😀"
    assert stored.extensions == {"tenant": "a%b c"}
    assert stored.data == {"order": 7, "note": "ünïcode"}


# -- refused: nothing stored --------------------------------------------------------------


async def test_malformed_json_is_a_400_naming_the_problem(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await client.post(
        URL, headers={"content-type": "application/cloudevents+json"}, content=b'{"id": '
    )
    problem = _problem(response, 400, "InvalidEvent")
    assert "not valid JSON" in problem["detail"]
    assert recorder.appended == []


async def test_missing_attributes_are_named(client: httpx.AsyncClient, recorder: Recorder) -> None:
    response = await client.post(
        URL, headers={"ce-specversion": "1.0", "ce-id": "1", "content-type": "application/json"}
    )
    problem = _problem(response, 400, "InvalidEvent")
    assert "ce-source, ce-type" in problem["detail"]
    assert recorder.appended == []


@pytest.mark.parametrize(
    ("content_type", "needle"),
    [
        ("text/plain", "no ce-specversion header"),
        ("application/cloudevents+avro", "application/cloudevents+avro"),
        ("application/cloudevents-batch+xml", "batched"),
    ],
)
async def test_wrong_content_type_is_a_415(
    client: httpx.AsyncClient, recorder: Recorder, content_type: str, needle: str
) -> None:
    response = await client.post(URL, headers={"content-type": content_type}, content=b"hello")
    problem = _problem(response, 415, "UnsupportedMediaType")
    assert needle in problem["detail"]
    assert recorder.appended == []


async def test_an_oversize_event_is_a_413(bridge: EventBridge, recorder: Recorder) -> None:
    gateway = Gateway(bridge, settings=GatewaySettings(max_event_size=1000))
    async with _client(gateway) as client:
        headers, body = to_binary(_event(data={"blob": "x" * 2000}))
        problem = _problem(
            await client.post(URL, headers=headers, content=body), 413, "EventTooLarge"
        )
        assert "at most 1000 bytes per event" in problem["detail"]
        # In a batch, only the oversize entry fails.
        small = _event()
        headers, body = to_batch([small, _event(data={"blob": "x" * 2000})])
        result = (await client.post(URL, headers=headers, content=body)).json()
        assert result["failed_entry_count"] == 1
        assert result["entries"][1]["error_code"] == "EventTooLarge"
        assert "batch entry #1" in result["entries"][1]["error_message"]
    assert [e.id for e in recorder.events] == [small.id]
    await bridge.stop()


async def test_too_many_events_in_a_batch_is_a_413(bridge: EventBridge, recorder: Recorder) -> None:
    gateway = Gateway(bridge, settings=GatewaySettings(max_batch_events=3))
    async with _client(gateway) as client:
        headers, body = to_batch([_event() for _ in range(4)])
        problem = _problem(
            await client.post(URL, headers=headers, content=body), 413, "BatchTooLarge"
        )
        assert "4 events" in problem["detail"]
        assert "at most 3" in problem["detail"]
    assert recorder.appended == []
    await bridge.stop()


async def test_a_body_over_the_request_limit_is_a_413_declared_or_streamed(
    bridge: EventBridge, recorder: Recorder
) -> None:
    gateway = Gateway(bridge, settings=GatewaySettings(max_request_size=500))
    async with _client(gateway) as client:
        headers, body = to_batch([_event() for _ in range(10)])
        problem = _problem(
            await client.post(URL, headers=headers, content=body), 413, "RequestTooLarge"
        )
        assert f"{len(body)} bytes" in problem["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
            for start in range(0, len(body), 100):
                yield body[start : start + 100]

        streamed = await client.post(URL, headers=headers, content=chunks())
        _problem(streamed, 413, "RequestTooLarge")
    assert recorder.appended == []
    await bridge.stop()


@pytest.fixture
def keyed(bridge: EventBridge) -> Gateway:
    return Gateway(
        bridge,
        settings=GatewaySettings(api_keys={"orders-key": ["orders"], "admin-key": ["*"]}),
    )


@pytest.mark.parametrize(
    ("headers", "status", "code", "needle"),
    [
        ({}, 401, "Unauthorized", "needs an API key"),
        ({"x-api-key": "wrong"}, 401, "Unauthorized", "not valid"),
        ({"authorization": "Bearer wrong"}, 401, "Unauthorized", "not valid"),
        ({"authorization": "Basic b3JkZXJzLWtleQ=="}, 401, "Unauthorized", "needs an API key"),
    ],
)
async def test_a_missing_or_wrong_api_key_is_a_401(
    bridge: EventBridge,
    recorder: Recorder,
    keyed: Gateway,
    headers: dict[str, str],
    status: int,
    code: str,
    needle: str,
) -> None:
    message = to_binary(_event())
    async with _client(keyed) as client:
        response = await client.post(
            URL, headers={**message.headers, **headers}, content=message.body
        )
    problem = _problem(response, status, code)
    assert needle in problem["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert recorder.appended == []
    await bridge.stop()


async def test_api_keys_open_only_their_buses(
    bridge: EventBridge, recorder: Recorder, keyed: Gateway
) -> None:
    message = to_binary(_event())
    payments = URL.replace("orders", "payments")
    async with _client(keyed) as client:
        refused = await client.post(
            payments, headers={**message.headers, "x-api-key": "orders-key"}, content=message.body
        )
        problem = _problem(refused, 403, "Forbidden")
        assert "'payments'" in problem["detail"]
        assert recorder.appended == []
        for key_headers in ({"x-api-key": "orders-key"}, {"authorization": "Bearer admin-key"}):
            ok = await client.post(
                URL, headers={**message.headers, **key_headers}, content=message.body
            )
            assert ok.status_code == 200
        ok = await client.post(
            payments, headers={**message.headers, "x-api-key": "admin-key"}, content=message.body
        )
        assert ok.status_code == 200
    assert [bus for bus, _ in recorder.appended] == ["orders", "orders", "payments"]
    await bridge.stop()


async def test_keys_from_the_environment_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from eventbridge_sdk import Settings

    monkeypatch.setenv("EVENTBRIDGE_GATEWAY__API_KEYS", '["k1", "k2"]')
    assert Settings().gateway.api_keys == {"k1": ["*"], "k2": ["*"]}
    monkeypatch.setenv("EVENTBRIDGE_GATEWAY__API_KEYS", '{"k1": ["orders"]}')
    assert Settings().gateway.api_keys == {"k1": ["orders"]}
    monkeypatch.setenv("EVENTBRIDGE_GATEWAY__API_KEYS", '{"k1": []}')
    with pytest.raises(ValueError, match="empty list would allow none"):
        Settings()


async def test_unknown_bus_path_and_method(client: httpx.AsyncClient, recorder: Recorder) -> None:
    message = to_binary(_event())
    unknown = await client.post(
        URL.replace("orders", "nope"), headers=message.headers, content=message.body
    )
    assert "'nope' is not declared" in _problem(unknown, 404, "UnknownBus")["detail"]
    _problem(await client.post("/elsewhere", content=b""), 404, "NotFound")
    wrong = await client.get(URL)
    _problem(wrong, 405, "MethodNotAllowed")
    assert wrong.headers["allow"] == "POST"
    assert recorder.appended == []


async def test_a_failing_store_is_a_503_with_retry_after(bridge: EventBridge) -> None:
    class FailingStore(MemoryStore):
        async def append(self, bus: str, bodies: Any, *, block: bool = True) -> Any:
            raise StoreError("disk full")

    bridge.override(store=FailingStore())
    async with _client(Gateway(bridge)) as client:
        message = to_binary(_event())
        response = await client.post(URL, headers=message.headers, content=message.body)
    _problem(response, 503, "InternalFailure")
    assert response.headers["retry-after"] == "1"
    await bridge.stop()


async def test_mounted_under_a_prefix(bridge: EventBridge, recorder: Recorder) -> None:
    gateway = Gateway(bridge)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        # What a framework's mount does: the prefix moves to root_path.
        await gateway({**scope, "root_path": "/eventbridge"}, receive, send)

    message = to_binary(_event())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://g"
    ) as client:
        response = await client.post(
            "/eventbridge/buses/orders/events", headers=message.headers, content=message.body
        )
    assert response.status_code == 200
    assert len(recorder.events) == 1
    await bridge.stop()


async def test_handle_is_the_framework_free_core(bridge: EventBridge, recorder: Recorder) -> None:
    gateway = Gateway(bridge, settings=GatewaySettings(api_keys={"k": ["orders"]}))
    message = to_binary(_event())
    refused = await gateway.handle("orders", message.headers, message.body)
    assert refused.status == 401
    answer = await gateway.handle("orders", {**message.headers, "X-Api-Key": "k"}, message.body)
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert len(recorder.events) == 1
    await bridge.stop()
