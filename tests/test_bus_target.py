"""The bus target: forwarding matched events to another bus of this bridge, or to a remote bus
through a client whose put_events answers per entry."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from eventbridge_sdk import (
    BatchError,
    BusTarget,
    ConfigurationError,
    Delivery,
    DeliveryError,
    Event,
    EventBridge,
    RetryPolicy,
    SinkContext,
    UnknownBusError,
)
from eventbridge_sdk.testing import run_bridge


@dataclass
class Entry:
    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class Result:
    entries: list[Entry]


@dataclass
class FakeClient:
    """A remote gateway: ``codes`` gives the error code per event id for the next calls
    (popped per call; an event without one is taken)."""

    codes: dict[str, list[str]] = field(default_factory=dict)
    calls: list[tuple[str, list[Event]]] = field(default_factory=list)

    async def put_events(self, bus: str, events: Sequence[Any]) -> Result:
        self.calls.append((bus, list(events)))
        entries = []
        for event in events:
            pending = self.codes.get(event.id)
            if pending:
                code = pending.pop(0)
                entries.append(Entry(None, code, f"{code} for {event.id}"))
            else:
                entries.append(Entry(event.id))
        return Result(entries)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=False)


def context(executor: ThreadPoolExecutor) -> SinkContext:
    async def publish(bus: str, events: Any) -> list[str]:
        raise AssertionError("a remote bus target publishes nothing locally")

    return SinkContext(bus="orders", rule="r", target="t", executor=executor, publish=publish)


def order(n: int, **options: Any) -> Event:
    return Event(type="order.paid", source="/shop", data={"order": n}, **options)


def quick(max_attempts: int = 3) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, initial_delay=0.01, max_delay=0.01, jitter=0)


class TestLocalForwarding:
    async def test_the_forwarded_event_keeps_its_attributes_and_gets_the_transform(self) -> None:
        bridge = EventBridge("memory://")
        bridge.bus("orders").rule("paid", pattern={"type": ["order.paid"]}).target(
            BusTarget("audit"),
            transform={"InputPathsMap": {"n": "$.data.order"}, "InputTemplate": '{"n": <n>}'},
        )

        @bridge.bus("audit").rule("all")
        async def audited(event: Event) -> None: ...

        sent = order(
            7,
            subject="zoë",
            time="2024-05-01T12:30:00Z",
            extensions={"tenant": "acme", "priority": 3, "urgent": True},
        )
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", [sent, Event(type="order.created", source="/shop")])
            [got] = harness.received("audited")
            assert [e.id for e in harness.published["audit"]] == [sent.id]
        assert (got.id, got.source, got.type, got.subject) == (
            sent.id,
            "/shop",
            "order.paid",
            "zoë",
        )
        assert got.time == sent.time
        assert got.extensions == {"tenant": "acme", "priority": 3, "urgent": True}
        assert got.data == {"n": 7}

    async def test_without_a_transform_the_event_is_forwarded_as_it_is(self) -> None:
        bridge = EventBridge("memory://")
        target = bridge.bus("orders").rule("all").target(BusTarget("copy"))
        assert target.name == "bus-copy"

        @bridge.bus("copy").rule("all")
        async def copied(event: Event) -> None: ...

        sent = [order(n) for n in range(5)]
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", sent)
            got = harness.received("copied")
        assert [e.to_json() for e in got] == [e.to_json() for e in sent]

    async def test_forwarding_to_an_undeclared_bus_is_refused_at_start(self) -> None:
        bridge = EventBridge("memory://")
        bridge.bus("orders").rule("all").target(BusTarget("nowhere"))
        with pytest.raises(UnknownBusError, match="'nowhere'") as caught:
            await bridge.start()
        assert "bridge.bus('nowhere')" in str(caught.value)
        assert not bridge.running

    def test_forwarding_to_the_rules_own_bus_is_refused_at_declaration(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("all")
        with pytest.raises(ConfigurationError, match="forwards to the rule's own bus"):
            rule.target(BusTarget("orders"))
        assert rule.targets == {}

    def test_bad_arguments_are_refused(self) -> None:
        with pytest.raises(ConfigurationError, match="client must be"):
            BusTarget("audit", client=object())  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            BusTarget("not a bus name!")

    async def test_put_before_start_is_an_error(self) -> None:
        with pytest.raises(DeliveryError, match="not started"):
            await BusTarget("audit").put([Delivery(order(1), "orders", "r", "t")])


class TestRemoteForwarding:
    async def test_failed_entries_become_per_event_failures(
        self, executor: ThreadPoolExecutor
    ) -> None:
        events = [order(n) for n in range(4)]
        client = FakeClient(
            {
                events[1].id: ["InvalidEvent"],
                events[2].id: ["InternalFailure"],
                events[3].id: ["EventTooLarge"],
            }
        )
        target = BusTarget("billing", client=client)
        assert not target.local
        await target.start(context(executor))
        with pytest.raises(BatchError) as caught:
            await target.put([Delivery(e, "orders", "r", "t") for e in events])
        await target.stop()
        assert client.calls == [("billing", events)]
        failures = caught.value.failures
        assert sorted(failures) == [1, 2, 3]
        assert {i: getattr(e, "retryable", True) for i, e in failures.items()} == {
            1: False,
            2: True,
            3: False,
        }
        assert all(isinstance(e, DeliveryError) for e in failures.values())
        assert "InvalidEvent" in str(failures[1])
        assert "'billing'" in str(failures[1])
        assert "EventTooLarge" in str(failures[3])

    async def test_all_entries_taken_is_a_success(self, executor: ThreadPoolExecutor) -> None:
        client = FakeClient()
        target = BusTarget("billing", client=client)
        await target.start(context(executor))
        await target.put([Delivery(order(n), "orders", "r", "t") for n in range(3)])
        assert len(client.calls) == 1

    async def test_an_answer_with_missing_entries_is_a_failure(
        self, executor: ThreadPoolExecutor
    ) -> None:
        class Short(FakeClient):
            async def put_events(self, bus: str, events: Sequence[Any]) -> Result:
                return Result([Entry(events[0].id)])

        target = BusTarget("billing", client=Short())
        await target.start(context(executor))
        with pytest.raises(DeliveryError, match="1 entries for 3 events"):
            await target.put([Delivery(order(n), "orders", "r", "t") for n in range(3)])

    async def test_through_a_bridge_retryable_failures_retry_and_permanent_ones_dead_letter(
        self,
    ) -> None:
        events = [order(n) for n in range(3)]
        client = FakeClient(
            {events[1].id: ["InternalFailure", "InternalFailure"], events[2].id: ["InvalidEvent"]}
        )
        bridge = EventBridge("memory://")
        # A remote bus may share the rule's bus name and need not be declared here.
        bridge.bus("orders").rule("all").target(
            BusTarget("orders", client=client), name="billing", retry=quick(5)
        )
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", events)
            await harness.run_retries()
            [letter] = await bridge.dead_letters.list()
            received = [e.id for e in harness.received("billing")]
        assert sorted(received) == sorted([events[0].id, events[1].id])
        attempts = [e.id for _, batch in client.calls for e in batch]
        assert attempts.count(events[0].id) == 1
        assert attempts.count(events[1].id) == 3
        assert attempts.count(events[2].id) == 1
        assert letter.event.id == events[2].id
        assert (letter.reason, letter.attempts, letter.target) == ("non-retryable", 1, "billing")
        assert "InvalidEvent" in letter.error


class TestThroughTheClient:
    async def test_a_refused_request_dead_letters_at_once_and_a_5xx_is_retried(self) -> None:
        import httpx
        import respx

        from eventbridge_sdk import AsyncEventBridgeClient

        refused = httpx.Response(
            403,
            json={"code": "Forbidden", "detail": "this key may not publish to bus billing"},
            headers={"content-type": "application/problem+json"},
        )
        calls = 0

        def answer(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                return httpx.Response(503, json={"code": "InternalFailure"})
            return refused

        events = [order(1)]
        with respx.mock(base_url="http://gw.test") as router:
            router.post("/eventbridge/buses/billing/events").mock(side_effect=answer)
            client = AsyncEventBridgeClient(
                "http://gw.test/eventbridge", retry=RetryPolicy(max_attempts=1)
            )
            bridge = EventBridge("memory://")
            bridge.bus("orders").rule("all").target(
                BusTarget("billing", client=client), name="billing", retry=quick(5)
            )
            async with run_bridge(bridge) as harness:
                await harness.publish("orders", events)
                await harness.run_retries()
                [letter] = await bridge.dead_letters.list()
            await client.aclose()
        assert calls == 2  # the 503 was retried by the delivery policy; the 403 was not
        assert (letter.reason, letter.attempts) == ("non-retryable", 2)
        assert "this key may not publish" in letter.error
