"""Real servers for integration tests: Redis and NATS on localhost.

A test that needs a server calls :func:`require`: when the server does not answer, the test is
skipped with the reason, or fails when ``EVENTBRIDGE_REQUIRE_SERVICES=1`` (as in CI), so that a
missing server can never pass for a green run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from eventbridge_sdk.stores import Store
from eventbridge_sdk.stores.base import Record

REDIS_HOST, REDIS_PORT = os.environ.get("EVENTBRIDGE_TEST_REDIS", "127.0.0.1:6379").split(":")
NATS_HOST, NATS_PORT = os.environ.get("EVENTBRIDGE_TEST_NATS", "127.0.0.1:4222").split(":")

_SERVERS = {
    "redis": (REDIS_HOST, int(REDIS_PORT)),
    "nats": (NATS_HOST, int(NATS_PORT)),
}


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require(service: str) -> None:
    """Skip (or fail, under ``EVENTBRIDGE_REQUIRE_SERVICES=1``) unless ``service`` answers."""
    host, port = _SERVERS[service]
    if _answers(host, port):
        return
    reason = f"{service} does not answer on {host}:{port}"
    if os.environ.get("EVENTBRIDGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and EVENTBRIDGE_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{reason} (set EVENTBRIDGE_REQUIRE_SERVICES=1 to make this a failure)")


_NAMESPACES: list[str] = []


def namespace() -> str:
    """A prefix of names no other test run uses, so that runs on one server never meet."""
    name = f"t{uuid.uuid4().hex[:10]}"
    _NAMESPACES.append(name)
    return name


def delete_namespaces() -> None:
    """Delete the NATS streams and buckets of the namespaces this test session made."""
    if not _NAMESPACES or not _answers(*_SERVERS["nats"]):
        return
    import asyncio

    import orjson
    from nats.aio.client import Client

    prefixes = tuple(p for name in _NAMESPACES for p in (f"{name}_", f"KV_{name}_"))

    async def run() -> None:
        nc = Client()
        await nc.connect(f"nats://{NATS_HOST}:{NATS_PORT}")
        try:
            names: list[str] = []
            while True:
                request = orjson.dumps({"offset": len(names)})
                msg = await nc.request("$JS.API.STREAM.NAMES", request, timeout=5)
                page = orjson.loads(msg.data)
                names += page.get("streams") or []
                if not page.get("streams") or len(names) >= page.get("total", 0):
                    break
            for name in names:
                if name.startswith(prefixes):
                    await nc.request(f"$JS.API.STREAM.DELETE.{name}", b"", timeout=5)
        finally:
            await nc.close()

    asyncio.run(run())
    _NAMESPACES.clear()


def redis_url(query: str = "") -> str:
    """A Redis store URL on a fresh key prefix (``query`` adds options, e.g. ``ack_timeout=1``)."""
    require("redis")
    extra = f"&{query}" if query else ""
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0?prefix={namespace()}{extra}"


def nats_url(query: str = "") -> str:
    """A NATS store URL on a fresh stream and bucket prefix."""
    require("nats")
    extra = f"&{query}" if query else ""
    return f"nats://{NATS_HOST}:{NATS_PORT}?prefix={namespace()}{extra}"


def delete_redis_keys(url: str) -> None:
    """Delete every key under the prefix of a URL made by :func:`redis_url`."""
    import redis

    prefix = parse_qs(urlsplit(url).query)["prefix"][0]
    client = redis.Redis(host=REDIS_HOST, port=int(REDIS_PORT))
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def fetch_until(
    store: Store, bus: str, group: str, *, count: int, within: float
) -> list[Record]:
    """Fetch until ``count`` records came or ``within`` seconds passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    out: list[Record] = []
    while len(out) < count and loop.time() < deadline:
        out += await store.fetch(bus, group, max_count=count - len(out), timeout=0.2)
    return out
