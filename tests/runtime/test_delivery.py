"""Delivery guarantees: retries, dead letters, outcomes, tolerance, replay — on a manual clock."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import services
from pydantic import BaseModel

from eventbridge_sdk import (
    DeadLetter,
    Drop,
    Event,
    EventBridge,
    Retry,
    RetryPolicy,
    RuntimeStateError,
    Settings,
    testing,
)
from eventbridge_sdk.stores import MemoryStore, open_store
from eventbridge_sdk.testing import run_bridge

START = 1_700_000_000.0


URL = ["memory://"]
"""The store URL of the running test's backend, for a bridge started without the harness."""


@pytest.fixture(autouse=True, params=["memory", "sqlite", "redis", "nats"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """Every test of this module runs on each store: retries and dead letters hold on all."""
    kind = request.param
    if kind == "memory":
        URL[0] = "memory://"
        yield kind
        return
    URL[0] = url = {
        "sqlite": lambda: f"sqlite:///{tmp_path}/events.db",
        "redis": services.redis_url,
        "nats": services.nats_url,
    }[kind]()

    def on_store(bridge: EventBridge, **options: Any) -> Any:
        options.setdefault("store", open_store(url))
        return testing.run_bridge(bridge, **options)

    monkeypatch.setattr(sys.modules[__name__], "run_bridge", on_store)
    yield kind
    if kind == "redis":
        services.delete_redis_keys(url)


def order(n: int) -> Event:
    return Event(type="order.created", source="/shop", data={"n": n})


def numbers(events: list[Event]) -> list[int]:
    return [e.data["n"] for e in events]


def exact(max_attempts: int, delay: float = 10.0, **options: object) -> RetryPolicy:
    """A policy without jitter, so that a test knows when each retry is due."""
    return RetryPolicy(
        max_attempts=max_attempts,
        initial_delay=delay,
        max_delay=options.pop("max_delay", 3600.0),  # type: ignore[arg-type]
        jitter=0,
        **options,  # type: ignore[arg-type]
    )


class TestRetries:
    async def test_retries_due_one_after_another_each_run_when_due(self) -> None:
        # On the real clock, with the delay queue's poll far away: each retry must wake the
        # scheduler by its own due time, not wait for the next poll.
        settings = Settings(runtime={"delay_poll_interval": 3600})  # type: ignore[arg-type]
        bridge = EventBridge(URL[0], settings=settings)
        failed: set[int] = set()
        retried: list[int] = []
        done = asyncio.Event()

        @bridge.bus("orders").rule("all").target(concurrency=1, retry=exact(3, delay=0.05))
        async def flaky(event: Event) -> None:
            n = event.data["n"]
            if n not in failed:
                failed.add(n)
                await asyncio.sleep(0.01)  # so that the retries come due one after another
                raise ConnectionError("first attempts fail")
            retried.append(n)
            if len(retried) == 10:
                done.set()

        async with bridge:
            await bridge.publish("orders", [order(n) for n in range(10)])
            await asyncio.wait_for(done.wait(), 30)
        assert sorted(retried) == list(range(10))

    async def test_a_failed_delivery_is_retried_on_schedule_until_it_succeeds(self) -> None:
        bridge = EventBridge("memory://")
        calls = 0

        @bridge.bus("orders").rule("all").target(retry=exact(5, delay=10))
        async def flaky(event: Event) -> None:
            nonlocal calls
            calls += 1
            if calls < 3:
                raise ConnectionError("backend down")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            await harness.advance(9.9)
            assert calls == 1  # the first retry is due 10 s after the failure
            await harness.advance(0.1)
            assert calls == 2
            await harness.advance(19.9)
            assert calls == 2  # exponential: the second retry waits 20 s
            await harness.advance(0.1)
            assert numbers(harness.received("flaky")) == [1]
            assert [d.attempt for d in harness.deliveries] == [1, 2, 3]
            assert await harness.dead_letters() == []

    async def test_exhausted_attempts_dead_letter_the_event_with_what_happened(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(retry=exact(3, delay=1))
        async def broken(event: Event) -> None:
            raise TimeoutError("upstream timed out")

        async with run_bridge(bridge) as harness:
            [event_id] = await harness.publish("orders", order(7))
            await harness.run_retries()
            [letter] = await harness.dead_letters()
            published = harness.published["dead-letters"]
        assert len(harness.failures("broken")) == 3
        assert (letter.reason, letter.attempts) == ("attempts", 3)
        assert (letter.error_type, letter.error) == ("TimeoutError", "upstream timed out")
        assert (letter.source_bus, letter.rule, letter.target) == ("orders", "all", "broken")
        assert letter.bus == "dead-letters"
        assert (letter.event.id, letter.event.data) == (event_id, {"n": 7})
        assert "deadletterbus" not in letter.event.extensions
        assert letter.first_attempt == datetime.fromtimestamp(START, UTC)
        assert letter.last_attempt == datetime.fromtimestamp(START + 1 + 2, UTC)
        # On the bus, a dead letter is the original event with extension attributes.
        [dead] = published
        assert dead.id == event_id
        assert dead.extensions["deadlettertarget"] == "broken"
        assert dead.extensions["deadletterattempts"] == 3

    async def test_max_event_age_ends_the_retries_before_max_attempts(self) -> None:
        bridge = EventBridge("memory://")

        policy = exact(100, delay=60, max_delay=60, backoff="fixed", max_event_age=150)

        @bridge.bus("orders").rule("all").target(retry=policy)
        async def broken(event: Event) -> None:
            raise ConnectionError("down")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            await harness.run_retries()
            [letter] = await harness.dead_letters()
        # Attempts at 0, 60 and 120 s; one at 180 s would start past the 150 s age limit.
        assert (letter.reason, letter.attempts) == ("age", 3)

    async def test_retry_after_sets_the_next_attempt_time(self) -> None:
        bridge = EventBridge("memory://")
        calls = 0

        @bridge.bus("orders").rule("all").target(retry=exact(5, delay=1))
        async def warming_up(event: Event) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise Retry(after=30, reason="warming up")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            await harness.advance(29.9)
            assert harness.received("warming_up") == []
            await harness.advance(0.1)
            assert numbers(harness.received("warming_up")) == [1]

    async def test_retry_counts_against_max_attempts(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(retry=exact(2, delay=1))
        async def never_ready(event: Event) -> None:
            raise Retry(after=5)

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            await harness.run_retries()
            [letter] = await harness.dead_letters()
        assert (letter.reason, letter.attempts, letter.error_type) == ("attempts", 2, "Retry")

    async def test_a_poison_event_does_not_hold_back_the_events_behind_it(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(concurrency=1)
        async def handler(event: Event) -> None:
            if event.data["n"] == 0:
                raise ValueError("poison")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", [order(n) for n in range(50)])
            assert numbers(harness.received("handler")) == list(range(1, 50))
            status = await bridge.status()
            [target] = status.targets
            assert (target.delayed, target.counts.retried) == (1, 1)
            # The bus offset moves on past the poison event (the commit or ack follows soon).
            for _ in range(200):
                [orders] = [bus for bus in (await bridge.status()).buses if bus.name == "orders"]
                if orders.pending == 0:
                    break
                await asyncio.sleep(0.05)
            assert orders.pending == 0

    async def test_a_target_failing_half_the_time_ends_with_every_event_delivered_or_dead(
        self,
    ) -> None:
        bridge = EventBridge("memory://")
        rng = random.Random(2026)
        delivered: Counter[int] = Counter()

        @bridge.bus("orders").rule("all").target(retry=RetryPolicy(max_attempts=4))
        async def coin(event: Event) -> None:
            if rng.random() < 0.5:
                raise ConnectionError("coin says no")
            delivered[event.data["n"]] += 1

        async with run_bridge(bridge, timeout=30) as harness:
            await harness.publish("orders", [order(n) for n in range(1000)])
            await harness.run_retries()
            dead = Counter(letter.event.data["n"] for letter in await harness.dead_letters())
        assert set(delivered.values()) == {1}  # none twice
        assert set(dead.values()) == {1}
        assert not set(delivered) & set(dead)
        assert set(delivered) | set(dead) == set(range(1000))
        assert 0 < len(dead) < 200  # 0.5 ** 4 of them, about 62


class TestOutcomes:
    async def test_drop_acknowledges_without_retry_or_dead_letter(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all")
        async def only_real(event: Event) -> None:
            raise Drop

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            await harness.run_retries()
            assert await harness.dead_letters() == []
            [target] = (await bridge.status()).targets
        assert harness.received("only_real") == []
        assert harness.failures() == []
        assert (target.counts.dropped, target.delayed) == (1, 0)

    async def test_dead_letter_skips_the_remaining_attempts(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(retry=RetryPolicy.AWS)
        async def charge(event: Event) -> None:
            raise DeadLetter("card expired")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            [letter] = await harness.dead_letters()
        assert (letter.reason, letter.attempts) == ("dead-letter", 1)
        assert (letter.error_type, letter.error) == ("DeadLetter", "card expired")

    async def test_a_handler_cannot_swallow_a_control_exception(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all")
        async def careful(event: Event) -> None:
            try:
                raise DeadLetter("bad input")
            except Exception:  # the handler's own safety net
                return

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            assert [letter.reason for letter in await harness.dead_letters()] == ["dead-letter"]

    async def test_declared_non_retryable_errors_go_straight_to_the_dead_letter(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(non_retryable=(KeyError, LookupError))
        async def lookup(event: Event) -> None:
            raise KeyError("customer 7")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            [letter] = await harness.dead_letters()
        assert (letter.reason, letter.attempts, letter.error_type) == (
            "non-retryable",
            1,
            "KeyError",
        )

    async def test_a_payload_that_fails_validation_is_not_retried(self) -> None:
        bridge = EventBridge("memory://")

        class Order(BaseModel):
            total: float

        @bridge.bus("orders").rule("all")
        async def typed(payload: Order) -> None: ...

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            [letter] = await harness.dead_letters()
        assert (letter.reason, letter.error_type) == ("non-retryable", "PayloadValidationError")
        assert "total" in letter.error

    async def test_a_transform_that_fails_on_an_event_is_not_retried(self) -> None:
        bridge = EventBridge("memory://")

        class Ratio:
            def apply(self, event: dict[str, Any]) -> float:
                return 1 / event["data"]["n"]

        @bridge.bus("orders").rule("all").target(transform=Ratio())
        async def shaped(event: Event) -> None: ...

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", [order(0), order(4)])
            [letter] = await harness.dead_letters()
            assert [e.data for e in harness.received("shaped")] == [0.25]
        assert (letter.reason, letter.attempts) == ("non-retryable", 1)
        assert letter.error_type == "TransformFailedError"
        assert "ZeroDivisionError" in letter.error

    async def test_without_a_dead_letter_bus_an_exhausted_event_is_logged_and_dropped(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(retry=RetryPolicy.NO_RETRY, dead_letter=None)
        async def fragile(event: Event) -> None:
            raise ConnectionError("down")

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            assert await harness.dead_letters() == []
        assert any("no dead-letter bus" in r.getMessage() for r in caplog.records)


class TestTolerance:
    async def test_tolerance_none_pauses_the_target_and_resume_delivers_everything_in_order(
        self,
    ) -> None:
        bridge = EventBridge("memory://")
        broken = True

        @(
            bridge.bus("orders")
            .rule("all")
            .target(concurrency=1, tolerance="none", retry=RetryPolicy.NO_RETRY)
        )
        async def ledger(event: Event) -> None:
            if broken and event.data["n"] == 2:
                raise ConnectionError("ledger offline")

        @bridge.bus("orders").rule("audit")
        async def audit(event: Event) -> None: ...

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", [order(n) for n in range(1, 6)])
            assert numbers(harness.received("ledger")) == [1]
            assert numbers(harness.received("audit")) == [1, 2, 3, 4, 5]  # others go on
            status = await bridge.status()
            [paused] = status.paused
            assert paused.name == "orders/all/ledger"
            assert paused.paused is not None
            assert "ledger offline" in paused.paused.error
            assert paused.delayed == 4  # the failed event and all that came after it
            assert await harness.dead_letters() == []
            broken = False
            assert bridge.resume("ledger") is True
            await harness.wait_idle()
            assert numbers(harness.received("ledger")) == [1, 2, 3, 4, 5]
            assert (await bridge.status()).paused == []
            assert bridge.resume("ledger") is False


class TestDeadLetters:
    @staticmethod
    def declare(bridge: EventBridge, state: dict[str, bool]) -> None:
        paid = bridge.bus("orders").rule("paid")

        @paid.target(retry=RetryPolicy.NO_RETRY)
        async def charge(event: Event) -> None:
            if state["broken"]:
                raise ConnectionError("gateway down")

        @paid.target()
        async def email(event: Event) -> None: ...

    async def test_replay_delivers_to_the_failed_target_once_and_to_no_other(self) -> None:
        bridge = EventBridge("memory://")
        state = {"broken": True}
        self.declare(bridge, state)
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", [order(1), order(2)])
            letters = await bridge.dead_letters.list(target="charge")
            assert numbers([x.event for x in letters]) == [1, 2]
            state["broken"] = False
            assert await bridge.dead_letters.replay(letters[:1]) == 1
            await harness.wait_idle()
            assert numbers(harness.received("charge")) == [1]
            assert await bridge.dead_letters.replay(letters[:1]) == 0  # already replayed
            assert await bridge.dead_letters.replay() == 1  # the rest
            await harness.wait_idle()
            assert numbers(harness.received("charge")) == [1, 2]
            assert numbers(harness.received("email")) == [1, 2]
            assert await harness.dead_letters() == []

    async def test_get_and_purge(self) -> None:
        bridge = EventBridge("memory://")
        self.declare(bridge, {"broken": True})
        async with run_bridge(bridge) as harness:
            ids = await harness.publish("orders", [order(1), order(2), order(3)])
            [found] = await bridge.dead_letters.get(ids[1])
            assert found.event.data == {"n": 2}
            assert await bridge.dead_letters.purge([found]) == 1
            assert len(await bridge.dead_letters.list()) == 2
            assert await bridge.dead_letters.purge(target="orders/paid/charge") == 2
            assert await bridge.dead_letters.list() == []
            assert (await bridge.status()).dead_letters == 0

    async def test_replaying_to_an_undeclared_target_is_refused(self) -> None:
        bridge = EventBridge("memory://")
        self.declare(bridge, {"broken": True})
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            [letter] = await bridge.dead_letters.list()
            renamed = dataclasses.replace(letter, target="gone")
            with pytest.raises(RuntimeStateError, match=r"orders/paid/gone.*no such target"):
                await bridge.dead_letters.replay([renamed])
            assert await bridge.dead_letters.list() == [letter]  # nothing was removed

    async def test_a_dead_letter_bus_with_a_rule_delivers_dead_letters_like_events(self) -> None:
        bridge = EventBridge("memory://")
        self.declare(bridge, {"broken": True})
        alerts: list[str] = []

        @bridge.bus("dead-letters").rule("alert", pattern={"deadlettertarget": ["charge"]})
        async def alert(event: Event) -> None:
            alerts.append(str(event.extensions["deadlettererror"]))

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
        assert alerts == ["gateway down"]


class TestPolicyLevels:
    def test_the_most_specific_declaration_wins(self) -> None:
        settings = Settings(delivery={"max_attempts": 2, "dead_letter": "all-dlq"})
        bridge = EventBridge("memory://", settings=settings)
        bus = bridge.bus("orders", retry=RetryPolicy.BACKOFF_RETRY, tolerance="none")
        rule = bus.rule("paid", dead_letter="paid-dlq")

        @rule.target(tolerance="all")
        async def one(event: Event) -> None: ...

        @bus.rule("other")
        async def two(event: Event) -> None: ...

        @bridge.bus("users").rule("all")
        async def three(event: Event) -> None: ...

        first = bridge.delivery_policy(bridge.find_target("one"))
        assert (first.retry, first.dead_letter, first.tolerance) == (
            RetryPolicy.BACKOFF_RETRY,
            "paid-dlq",
            "all",
        )
        second = bridge.delivery_policy(bridge.find_target("two"))
        assert (second.dead_letter, second.tolerance) == ("all-dlq", "none")
        third = bridge.delivery_policy(bridge.find_target("three"))
        assert (third.retry.max_attempts, third.dead_letter) == (2, "all-dlq")
        assert bridge.dead_letter_buses() == ["paid-dlq", "all-dlq"]

    def test_delivery_defaults_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EVENTBRIDGE_DELIVERY__MAX_ATTEMPTS", "4")
        monkeypatch.setenv("EVENTBRIDGE_DELIVERY__DEAD_LETTER", "")
        monkeypatch.setenv("EVENTBRIDGE_DELIVERY__TOLERANCE", "none")
        delivery = Settings().delivery
        assert (delivery.max_attempts, delivery.dead_letter, delivery.tolerance) == (
            4,
            None,
            "none",
        )
        assert delivery.retry_policy().max_attempts == 4

    async def test_dead_letter_buses_need_no_declaration(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(dead_letter="orders-failed")
        async def handler(event: Event) -> None:
            raise DeadLetter

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", order(1))
            assert [x.bus for x in await harness.dead_letters()] == ["orders-failed"]


async def test_harness_wait_idle_times_out_with_a_clear_message_on_a_stuck_target() -> None:
    bridge = EventBridge("memory://")
    gate = asyncio.Event()

    @bridge.bus("orders").rule("all")
    async def stuck(event: Event) -> None:
        await gate.wait()

    async with run_bridge(bridge, timeout=0.2) as harness:
        with pytest.raises(TimeoutError, match="did not finish"):
            await harness.publish("orders", order(1))
        gate.set()


async def test_dead_letters_never_wait_for_room_in_a_full_memory_store() -> None:
    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all").target(retry=RetryPolicy.NO_RETRY)
    async def broken(event: Event) -> None:
        raise ConnectionError("down")

    # The dead-letter bus has no reader, so waiting for room in it would wait forever.
    async with run_bridge(bridge, store=MemoryStore(capacity=3)) as harness:
        for n in range(6):
            await harness.publish("orders", order(n))
        assert len(await harness.dead_letters()) == 6


async def test_wait_idle_with_retries_waits_for_retries_on_the_real_clock() -> None:
    bridge = EventBridge("memory://")
    calls = 0

    @bridge.bus("orders").rule("all")
    async def flaky(event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Retry(after=0.05)

    async with bridge:
        await bridge.publish("orders", order(1))
        await bridge.wait_idle(5)
        assert calls == 1  # processed: the retry is scheduled, not yet run
        await bridge.wait_idle(5, retries=True)
        assert calls == 2
