"""Competing workers of one application inside one process, on the Redis and NATS stores: the
events are shared, a slow handler keeps its events (its claims are extended), and a bridge
waiting for what it published sees what the other workers finished."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
import services

from eventbridge_sdk import Event, EventBridge, RuntimeSettings, Settings


@pytest.fixture(params=["redis", "nats"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    query = "ack_timeout=1"
    if request.param == "nats":
        yield services.nats_url(query)
        return
    url = services.redis_url(query)
    yield url
    services.delete_redis_keys(url)


def worker(url: str, seen: Counter[int], *, delay: float = 0.0) -> EventBridge:
    settings = Settings(store=url, group="shop", runtime=RuntimeSettings(fetch_batch=50))
    bridge = EventBridge(settings=settings)

    @bridge.bus("orders").rule("all", pattern={"type": ["order.created"]}).target(concurrency=16)
    async def handle(event: Event) -> None:
        if delay:
            await asyncio.sleep(delay)
        seen[event.data["n"]] += 1

    return bridge


def orders(start: int, stop: int) -> list[Event]:
    return [Event(type="order.created", source="/shop", data={"n": n}) for n in range(start, stop)]


async def test_two_workers_share_the_events_once_each(url: str) -> None:
    one, two = Counter[int](), Counter[int]()
    first, second = worker(url, one), worker(url, two)
    async with first, second:
        for start in range(0, 2_000, 200):
            await first.publish("orders", orders(start, start + 200))
        await first.wait_idle(60)  # sees what the other worker finished, too
        assert one.total() + two.total() == 2_000
    assert one
    assert two
    assert set(one) | set(two) == set(range(2_000))
    assert not set(one) & set(two)


async def test_a_handler_slower_than_the_ack_timeout_keeps_its_events(url: str) -> None:
    slow, other = Counter[int](), Counter[int]()
    first, second = worker(url, slow, delay=3.0), worker(url, other)
    async with first:
        await first.publish("orders", orders(0, 5))
        await asyncio.sleep(0.5)  # the slow worker took them all
        async with second:
            await first.wait_idle(30)
            await asyncio.sleep(1.5)
    assert slow + other == Counter(range(5))  # each handled once: nothing was taken over
