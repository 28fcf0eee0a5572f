"""CloudEvents over HTTP, both ways: a gateway receives, a rule delivers to a signed webhook.

Run it with ``python examples/http_edge.py`` (needs uvicorn: ``pip install
'eventbridge-sdk[server]'``). In one process it starts two servers on 127.0.0.1:

- the shop's **gateway** (``Gateway(bridge)``, served by uvicorn), whose bridge routes
  ``order.paid`` events to the CRM's webhook with a transform, a retry policy and a signature;
- the CRM's **webhook receiver**, which verifies each request's Standard Webhooks signature and
  decodes the CloudEvent. It answers the first request with a 503, so that one is retried.

Then a client publishes three events to the gateway, as another service would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from eventbridge_sdk import (
    AsyncEventBridgeClient,
    Event,
    EventBridge,
    GatewaySettings,
    HttpTarget,
    RetryPolicy,
)
from eventbridge_sdk.http import Gateway, from_http, generate_webhook_secret, verify_webhook

SECRET = generate_webhook_secret()  # shared by the shop and the CRM
received = asyncio.Queue[Event]()
answers = iter([503])  # the CRM is briefly unavailable once


async def crm_webhook(scope: Any, receive: Any, send: Any) -> None:
    """The CRM's endpoint: a plain ASGI app."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    status = next(answers, 204)
    if status == 204:
        webhook_id = verify_webhook(SECRET, scope["headers"], body)
        [event] = from_http(scope["headers"], body)
        print(f"crm: {event.type} {event.data} (webhook-id …{webhook_id[-6:]}, signature ok)")
        await received.put(event)
    else:
        print(f"crm: answering {status} once")
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def main() -> None:
    async with serve(crm_webhook) as crm_url:
        bridge = EventBridge("memory://")
        orders = bridge.bus("orders")
        orders.rule("paid", pattern={"type": ["order.paid"]}).target(
            HttpTarget(f"{crm_url}/hooks/orders", signing_secret=SECRET),
            name="crm",
            transform={
                "InputPathsMap": {"order": "$.data.order", "total": "$.data.total"},
                "InputTemplate": '{"order": <order>, "amount": <total>}',
            },
            retry=RetryPolicy(max_attempts=5, initial_delay=0.2, jitter=0),
        )
        # Publishers show an API key; this one may publish to "orders" only.
        gateway = Gateway(bridge, settings=GatewaySettings(api_keys={"shop-key": ["orders"]}))
        async with serve(gateway) as shop_url:  # the gateway starts and stops the bridge
            async with AsyncEventBridgeClient(shop_url, api_key="shop-key") as client:
                result = await client.put_events(
                    "orders",
                    [
                        Event(type="order.paid", source="/shop", data={"order": n, "total": 10 * n})
                        for n in (1, 2)
                    ]
                    + [Event(type="order.created", source="/shop", data={"order": 3})],
                )
                stored = sum(entry.ok for entry in result.entries)
                print(f"gateway: {stored} events stored, {result.failed_entry_count} failed")
            for _ in range(2):
                await asyncio.wait_for(received.get(), timeout=10)
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
