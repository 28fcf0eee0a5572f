"""The test kit runs the real pipeline and shows what each target received."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from eventbridge_sdk import Event, EventBridge, RetryPolicy
from eventbridge_sdk.stores import MemoryStore, SQLiteStore
from eventbridge_sdk.stores.base import Claimed
from eventbridge_sdk.testing import run_bridge


def make_bridge() -> EventBridge:
    bridge = EventBridge("sqlite:///must/not/be/used.db")
    orders = bridge.bus("orders")

    @orders.rule("big", pattern={"data": {"total": [{"numeric": [">", 100]}]}})
    async def notify(event: Event) -> None: ...

    @orders.rule("all")
    async def audit(event: Event) -> None:
        if event.data.get("explode"):
            raise ValueError("audit failed")

    return bridge


async def test_received_shows_only_what_a_target_got() -> None:
    async with run_bridge(make_bridge()) as harness:
        await harness.publish(
            "orders",
            [
                Event(type="t", source="s", data={"total": 250}),
                Event(type="t", source="s", data={"total": 5}),
            ],
        )
        assert [e.data["total"] for e in harness.received("notify")] == [250]
        assert [e.data["total"] for e in harness.received("orders/all/audit")] == [250, 5]


async def test_failures_are_captured_with_their_error() -> None:
    async with run_bridge(make_bridge()) as harness:
        await harness.publish("orders", Event(type="t", source="s", data={"explode": True}))
        [failure] = harness.failures()
    assert failure.runner == "orders/all/audit"
    assert isinstance(failure.error, ValueError)
    assert harness.received("audit") == []


async def test_an_unknown_target_name_lists_the_declared_ones() -> None:
    async with run_bridge(make_bridge()) as harness:
        with pytest.raises(LookupError, match="orders/big/notify"):
            harness.received("nobody")


async def test_a_given_store_is_used(tmp_path: object) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}/kit.db")
    async with run_bridge(make_bridge(), store=store) as harness:
        await harness.publish("orders", Event(type="t", source="s", data={"total": 500}))
        assert len(harness.received("notify")) == 1


async def test_the_bridge_is_stopped_and_restored_afterwards() -> None:
    bridge = make_bridge()
    async with run_bridge(bridge):
        assert bridge.running
    assert not bridge.running
    assert bridge._observers == []


async def test_waiting_for_idle_covers_a_retry_claimed_and_not_yet_queued() -> None:
    class SlowClaims(MemoryStore):
        """Claims an entry at once, then takes a while to hand it over."""

        async def claim(self, *args: Any, **options: Any) -> list[Claimed]:
            claimed = await super().claim(*args, **options)
            await asyncio.sleep(0.05)
            return claimed

    bridge = EventBridge("memory://")
    calls: list[int] = []
    retry = RetryPolicy(max_attempts=2, initial_delay=10, jitter=0)

    @bridge.bus("orders").rule("all").target(retry=retry)
    async def flaky(event: Event) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ConnectionError("first attempt")

    async with run_bridge(bridge, store=SlowClaims()) as harness:
        await harness.publish("orders", Event(type="t", source="/s"))
        assert calls == [0]
        await harness.clock.advance(10)  # the retry is due; its claim is under way
        await bridge.wait_idle(5)
        assert calls == [0, 1]
