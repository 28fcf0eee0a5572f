"""End to end on real uvicorn servers on 127.0.0.1: the client publishes to the gateway, a rule
delivers to a webhook receiver, and what the receiver gets is signed and decodes intact."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cloudevents.core.bindings import http as ce_http
from servers import read_body, serve, until

from eventbridge_sdk import (
    AsyncEventBridgeClient,
    Event,
    EventBridge,
    EventBridgeClient,
    GatewaySettings,
    HttpTarget,
    RetryPolicy,
    Settings,
)
from eventbridge_sdk.http import Gateway, from_http, generate_webhook_secret, verify_webhook


class Receiver:
    """A webhook endpoint that records each request; the first answer can be a 503."""

    def __init__(self, secret: str, fail_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.requests: list[tuple[list[tuple[bytes, bytes]], bytes]] = []
        self.arrived = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        self.requests.append((scope["headers"], body))
        status = 503 if len(self.requests) <= self.fail_first else 204
        headers = [(b"retry-after", b"0")] if status == 503 else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        self.arrived.set()


async def test_client_to_gateway_to_webhook(tmp_path: Path) -> None:
    secret = generate_webhook_secret()
    receiver = Receiver(secret, fail_first=1)
    settings = Settings(
        store=f"sqlite:///{tmp_path}/events.db",
        gateway=GatewaySettings(api_keys={"publisher-key": ["orders"]}),
    )
    bridge = EventBridge(settings=settings)
    orders = bridge.bus("orders")
    async with serve(receiver) as receiver_url:
        orders.rule("paid", pattern={"type": ["order.paid"]}).target(
            HttpTarget(f"{receiver_url}/hooks/orders", signing_secret=secret),
            retry=RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=0),
        )
        # The gateway runs the bridge with the server's lifespan: start, then drain at shutdown.
        async with serve(Gateway(bridge)) as gateway_url:
            assert bridge.running
            sent = [
                Event(
                    type="order.paid",
                    source="/shop",
                    subject='order "42" 100% ✓',
                    data={"order": n},
                    extensions={"traceparent": f"00-{n:032x}-{n:016x}-01"},
                )
                for n in range(1, 4)
            ]
            async with AsyncEventBridgeClient(gateway_url, api_key="publisher-key") as client:
                result = await client.put_events("orders", sent)  # a batch
                assert result.failed_entry_count == 0
                assert result.event_ids == [event.id for event in sent]
                ignored = await client.put_events(
                    "orders", {"type": "order.created", "source": "/shop"}
                )  # one binary-mode event no rule matches
                assert ignored.failed_entry_count == 0
            await until(lambda: len(receiver.requests) >= 4)  # three events, one 503 retried
        assert not bridge.running  # the lifespan's shutdown stopped it

    received = {}
    for headers, body in receiver.requests:
        verify_webhook(secret, headers, body)
        [event] = from_http(headers, body)
        received.setdefault(event.id, []).append(dict(headers))
        # The independent SDK reads the same request with every attribute intact.
        sdk_event = ce_http.from_http_event(
            ce_http.HTTPMessage({k.decode(): v.decode() for k, v in headers}, body)
        )
        assert sdk_event.get_subject() == event.subject == 'order "42" 100% ✓'
        assert sdk_event.get_extension("traceparent") == event.extensions["traceparent"]
    assert set(received) == {event.id for event in sent}
    retried = [copies for copies in received.values() if len(copies) == 2]
    assert len(retried) == 1
    first, second = retried[0]
    assert first[b"webhook-id"] == second[b"webhook-id"]  # the idempotency key stays


def test_the_synchronous_client_against_a_real_gateway(tmp_path: Path) -> None:
    bridge = EventBridge(f"sqlite:///{tmp_path}/events.db")
    bridge.bus("orders")
    published: list[Event] = []

    async def main() -> None:
        with bridge.observe(publishes=lambda bus, events: published.extend(events)):
            async with serve(Gateway(bridge, runtime=False)) as url:
                # The synchronous client blocks: give it a thread, as a WSGI app would have.
                def publish() -> list[str]:
                    with EventBridgeClient(url) as client:
                        return client.publish(
                            "orders",
                            [
                                {"type": "order.paid", "source": "/shop", "data": {"n": n}}
                                for n in range(5)
                            ],
                            mode="structured",
                        )

                ids = await asyncio.to_thread(publish)
                assert ids == [event.id for event in published]

    asyncio.run(main())
    assert [event.data for event in published] == [{"n": n} for n in range(5)]
