"""The bridge end to end: declare, publish, deliver, stop — on the memory and SQLite stores."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

import pytest

from eventbridge_sdk import (
    DuplicateNameError,
    Event,
    EventBridge,
    InvalidEventError,
    InvalidNameError,
    InvalidPatternError,
    RuntimeStateError,
    Settings,
    UnknownBusError,
)


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/events.db"


def order(n: int, type_: str = "order.created", **data: object) -> Event:
    return Event(type=type_, source="/shop", data={"n": n, **data})


class TestDelivery:
    async def test_async_and_sync_handlers_get_matching_events(self, store_url: str) -> None:
        bridge = EventBridge(store_url)
        orders = bridge.bus("orders")
        created: list[int] = []
        paid: list[tuple[int, str]] = []

        @orders.rule("created", pattern={"type": ["order.created"]})
        async def on_created(event: Event) -> None:
            created.append(event.data["n"])

        @orders.rule("paid", pattern={"type": ["order.paid"]})
        def on_paid(event: Event) -> None:
            paid.append((event.data["n"], threading.current_thread().name))

        async with bridge:
            await bridge.publish("orders", [order(1), order(2, "order.paid"), order(3)])
        assert sorted(created) == [1, 3]
        assert [n for n, _ in paid] == [2]
        assert paid[0][1].startswith("eventbridge-handler")

    async def test_every_target_of_every_matching_rule_gets_the_event_once(self) -> None:
        bridge = EventBridge("memory://")
        orders = bridge.bus("orders")
        seen: Counter[str] = Counter()
        everything = orders.rule("everything")
        created = orders.rule("created", pattern={"type": ["order.created"]})

        @everything.target()
        async def audit(event: Event) -> None:
            seen["audit"] += 1

        @created.target()
        async def ship(event: Event) -> None:
            seen["ship"] += 1

        @created.target()
        async def bill(event: Event) -> None:
            seen["bill"] += 1

        async with bridge:
            await bridge.publish("orders", [order(1), order(2, "order.paid")])
        assert seen == {"audit": 2, "ship": 1, "bill": 1}

    async def test_events_published_before_start_are_delivered_after_it(self) -> None:
        bridge = EventBridge("memory://")
        got: list[int] = []

        @bridge.bus("orders").rule("all")
        async def handler(event: Event) -> None:
            got.append(event.data["n"])

        await bridge.publish("orders", [order(1), order(2)])
        async with bridge:
            await bridge.wait_idle(5)
        assert got == [1, 2]

    async def test_ten_thousand_events_on_sqlite_are_delivered_exactly_once(
        self, tmp_path: Path
    ) -> None:
        bridge = EventBridge(f"sqlite:///{tmp_path}/events.db")
        got: Counter[int] = Counter()

        @bridge.bus("orders").rule("all", pattern={"type": ["order.created"]})
        async def handler(event: Event) -> None:
            got[event.data["n"]] += 1

        async with bridge:
            for start in range(0, 10_000, 500):
                await bridge.publish("orders", [order(n) for n in range(start, start + 500)])
        assert len(got) == 10_000
        assert set(got.values()) == {1}

    async def test_a_failing_handler_is_logged_and_the_runtime_goes_on(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        bridge = EventBridge("memory://")
        got: list[int] = []

        @bridge.bus("orders").rule("all")
        async def flaky(event: Event) -> None:
            if event.data["n"] == 1:
                raise RuntimeError("boom")
            got.append(event.data["n"])

        async with bridge:
            ids = await bridge.publish("orders", [order(1), order(2)])
        assert got == [2]
        failure = next(r for r in caplog.records if "delivery failed" in r.getMessage())
        message = failure.getMessage()
        parts = ("bus=orders", "rule=all", "target=flaky", f"event={ids[0]}", "boom", "retry in")
        for part in parts:
            assert part in message

    async def test_events_of_other_buses_do_not_reach_a_rule(self) -> None:
        bridge = EventBridge("memory://")
        got: list[str] = []

        @bridge.bus("orders").rule("all")
        async def handler(event: Event) -> None:
            got.append(event.type)

        bridge.bus("users")
        async with bridge:
            await bridge.publish("users", Event(type="user.created", source="/auth"))
            await bridge.publish("orders", order(1))
        assert got == ["order.created"]


class TestBackPressure:
    async def test_a_full_buffer_stops_the_listener_and_loses_nothing(self) -> None:
        settings = Settings(
            store="memory://",
            runtime={"buffer_size": 20, "fetch_batch": 10},
        )
        bridge = EventBridge(settings=settings)
        release = asyncio.Event()
        got: list[int] = []

        @bridge.bus("orders").rule("all").target(concurrency=1)
        async def slow(event: Event) -> None:
            await release.wait()
            got.append(event.data["n"])

        async with bridge:
            await bridge.publish("orders", [order(n) for n in range(1_000)])
            await asyncio.sleep(0.2)
            store = bridge._store
            assert store is not None
            read_ahead = store._cursors[("orders", "default")] - 1  # type: ignore[attr-defined]
            # 20 in flight + the rest of the dispatcher's batch + 2 queued batches + 1 in hand
            assert read_ahead <= 60
            assert got == []
            release.set()
        assert got == list(range(1_000))


class TestStop:
    async def test_stop_drains_in_flight_deliveries(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path}/events.db"
        bridge = EventBridge(url)
        done: list[int] = []

        @bridge.bus("orders").rule("all").target(concurrency=4)
        async def slow(event: Event) -> None:
            await asyncio.sleep(0.05)
            done.append(event.data["n"])

        await bridge.start()
        await bridge.publish("orders", [order(n) for n in range(20)])
        assert await bridge.stop(timeout=10) is True
        assert sorted(done) == list(range(20))

        again = EventBridge(url)
        redelivered: list[int] = []

        @again.bus("orders").rule("all")
        async def count(event: Event) -> None:
            redelivered.append(event.data["n"])

        async with again:
            await asyncio.sleep(0.2)
        assert redelivered == []

    async def test_what_misses_the_deadline_is_delivered_on_restart(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path}/events.db"
        bridge = EventBridge(url)
        stuck = asyncio.Event()

        @bridge.bus("orders").rule("all")
        async def never_finishes(event: Event) -> None:
            await stuck.wait()

        await bridge.start()
        await bridge.publish("orders", [order(1), order(2)])
        assert await bridge.stop(timeout=0.2) is False

        again = EventBridge(url)
        redelivered: list[int] = []
        both = asyncio.Event()

        @again.bus("orders").rule("all")
        async def count(event: Event) -> None:
            redelivered.append(event.data["n"])
            if len(redelivered) == 2:
                both.set()

        await again.start()
        await asyncio.wait_for(both.wait(), 5)
        await again.stop()
        assert sorted(redelivered) == [1, 2]


class TestBadInput:
    @pytest.mark.parametrize("name", ["", "has space", "slash/name", "ü", "x" * 128, 7])
    def test_invalid_bus_names_are_rejected(self, name: object) -> None:
        with pytest.raises(InvalidNameError, match="bus name"):
            EventBridge("memory://").bus(name)  # type: ignore[arg-type]

    def test_invalid_rule_and_target_names_name_their_owner(self) -> None:
        orders = EventBridge("memory://").bus("orders")
        with pytest.raises(InvalidNameError, match="rule name 'a b' in bus 'orders'"):
            orders.rule("a b")
        rule = orders.rule("ok")
        with pytest.raises(InvalidNameError, match="target name 'no!' in rule 'ok'"):
            rule.target(name="no!")(lambda event: None)

    def test_a_name_of_127_characters_is_fine(self) -> None:
        assert EventBridge("memory://").bus("b" * 127).name == "b" * 127

    def test_duplicate_rules_and_targets_are_rejected(self) -> None:
        orders = EventBridge("memory://").bus("orders")
        rule = orders.rule("paid")
        with pytest.raises(DuplicateNameError, match="already has a rule named 'paid'"):
            orders.rule("paid")

        async def ship(event: Event) -> None: ...

        rule.target()(ship)
        with pytest.raises(DuplicateNameError, match="already has a target named 'ship'"):
            rule.target()(ship)

    def test_declaring_a_bus_twice_returns_the_same_bus(self) -> None:
        bridge = EventBridge("memory://")
        assert bridge.bus("orders") is bridge.bus("orders")

    def test_an_invalid_pattern_names_the_rule_and_the_path(self) -> None:
        orders = EventBridge("memory://").bus("orders")
        with pytest.raises(InvalidPatternError, match="rule 'r' of bus 'orders'") as info:
            orders.rule("r", pattern={"data": {"amount": [{"numeric": [">", "x"]}]}})
        assert info.value.path.startswith("data.amount")

    def test_bad_concurrency_is_rejected(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        with pytest.raises(ValueError, match="concurrency must be a whole number"):
            rule.target(name="t", concurrency=0)(lambda event: None)

    def test_a_lambda_needs_an_explicit_target_name(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        with pytest.raises(InvalidNameError, match="pass one with @rule.target"):
            rule.target()(lambda event: None)

    def test_a_non_sink_is_rejected(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        with pytest.raises(TypeError, match="has no start"):
            rule.add_sink("x", object())  # type: ignore[arg-type]

    async def test_publishing_to_an_undeclared_bus_names_it(self) -> None:
        bridge = EventBridge("memory://")
        bridge.bus("orders")
        with pytest.raises(
            UnknownBusError, match="bus 'ordres': it is not declared .declared: 'orders'"
        ):
            await bridge.publish("ordres", order(1))

    async def test_one_invalid_event_stores_none_of_the_batch(self, store_url: str) -> None:
        bridge = EventBridge(store_url)
        got: list[int] = []

        @bridge.bus("orders").rule("all")
        async def handler(event: Event) -> None:
            got.append(event.data["n"])

        async with bridge:
            await bridge.publish("orders", order(0))
            bad = {"specversion": "1.0", "id": "x", "source": "/shop"}
            with pytest.raises(InvalidEventError, match="event #1: .*'type' is required"):
                await bridge.publish("orders", [order(1), bad, order(2)])
            with pytest.raises(InvalidEventError, match="expected an Event or a mapping"):
                await bridge.publish("orders", [order(3), 42])  # type: ignore[list-item]
            with pytest.raises(InvalidEventError, match="cannot be encoded"):
                await bridge.publish("orders", [order(4), order(5, blob=object())])
            await bridge.publish("orders", order(6))
        assert got == [0, 6]

    async def test_declaring_while_running_is_rejected(self) -> None:
        bridge = EventBridge("memory://")
        orders = bridge.bus("orders")
        async with bridge:
            with pytest.raises(RuntimeStateError, match="before start"):
                orders.rule("late")
            with pytest.raises(RuntimeStateError, match="already running"):
                await bridge.start()

    async def test_wait_idle_needs_a_running_bridge(self) -> None:
        with pytest.raises(RuntimeStateError, match="running bridge"):
            await EventBridge("memory://").wait_idle()

    async def test_an_unopenable_store_is_a_clear_error_at_start(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("")
        bridge = EventBridge(f"sqlite:///{blocker}/events.db")
        bridge.bus("orders")
        from eventbridge_sdk import StoreError

        with pytest.raises(StoreError, match="cannot open the SQLite store"):
            await bridge.start()
        assert not bridge.running


class TestRestart:
    async def test_a_bridge_starts_and_stops_twice_without_waiting_for_old_events(
        self, tmp_path: Path
    ) -> None:
        bridge = EventBridge(f"sqlite:///{tmp_path}/events.db")
        got: list[int] = []

        @bridge.bus("orders").rule("all")
        async def handler(event: Event) -> None:
            got.append(event.data["n"])

        async with bridge:
            await bridge.publish("orders", order(1))
        await bridge.start()
        assert await bridge.stop(timeout=2) is True
        async with bridge:
            await bridge.publish("orders", order(2))
        assert got == [1, 2]

    async def test_the_test_kit_can_run_one_bridge_twice(self) -> None:
        from eventbridge_sdk.testing import run_bridge

        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all")
        async def handler(event: Event) -> None: ...

        async with run_bridge(bridge, timeout=2) as harness:
            await harness.publish("orders", [order(1), order(2), order(3)])
        async with run_bridge(bridge, timeout=2) as harness:
            await harness.publish("orders", order(4))
            assert [e.data["n"] for e in harness.received("handler")] == [4]

    async def test_a_restarted_memory_bridge_keeps_undelivered_events(self) -> None:
        bridge = EventBridge("memory://")
        got: list[int] = []
        orders = bridge.bus("orders")

        @orders.rule("all")
        async def handler(event: Event) -> None:
            got.append(event.data["n"])

        async with bridge:
            await bridge.publish("orders", order(1))
        await bridge.publish("orders", order(2))  # while stopped
        async with bridge:
            await bridge.wait_idle(5)
        assert got == [1, 2]

    def test_a_bridge_runs_in_one_event_loop_after_another(self) -> None:
        bridge = EventBridge("memory://")
        got: list[int] = []

        @bridge.bus("orders").rule("all")
        async def handler(event: Event) -> None:
            got.append(event.data["n"])

        async def run(n: int) -> None:
            async with bridge:
                await bridge.publish("orders", order(n))

        asyncio.run(run(1))
        asyncio.run(run(2))
        assert got == [1, 2]
