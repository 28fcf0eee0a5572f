"""What a new user runs into: short forms that work, and mistakes that get a clear answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from eventbridge_sdk import (
    Delivery,
    Event,
    EventBridge,
    InvalidEventError,
    RuntimeStateError,
    SinkContext,
    StoreError,
)
from eventbridge_sdk.testing import run_bridge


async def test_rule_target_works_without_parentheses() -> None:
    bridge = EventBridge("memory://")
    rule = bridge.bus("orders").rule("all")

    @rule.target
    async def handler(event: Event) -> None: ...

    assert list(rule.targets) == ["handler"]
    assert callable(handler)
    async with run_bridge(bridge) as harness:
        await harness.publish("orders", {"type": "t", "source": "s"})
        assert len(harness.received("handler")) == 1


def test_a_handler_that_is_not_callable_is_a_type_error() -> None:
    rule = EventBridge("memory://").bus("orders").rule("all")
    with pytest.raises(TypeError, match="must be a function, got str"):
        rule.target()("not a function")  # type: ignore[type-var]


def test_a_sink_without_max_batch_is_rejected_at_declaration() -> None:
    class NoBatch:
        async def start(self, context: SinkContext) -> None: ...
        async def put(self, batch: Sequence[Delivery]) -> None: ...
        async def flush(self) -> None: ...
        async def pre_commit(self) -> None: ...
        async def stop(self) -> None: ...

    rule = EventBridge("memory://").bus("orders").rule("all")
    with pytest.raises(TypeError, match="max_batch"):
        rule.add_sink("s", NoBatch())  # type: ignore[arg-type]


async def test_a_returned_value_without_reply_to_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> dict[str, str]:
        return {"type": "x"}

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", [{"type": "t", "source": "s"}] * 3)
    warnings = [r for r in caplog.records if "reply_to" in r.getMessage()]
    assert len(warnings) == 1
    assert "returned dict, which is dropped" in warnings[0].getMessage()


async def test_a_published_mapping_needs_only_type_and_source() -> None:
    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> None: ...

    async with run_bridge(bridge) as harness:
        [event_id] = await harness.publish(
            "orders", {"type": "order.created", "source": "/shop", "data": {"n": 1}}
        )
        [got] = harness.received("handler")
    assert got.id == event_id
    assert got.time is not None
    assert got.data == {"n": 1}


async def test_a_mapping_missing_several_attributes_names_them_all() -> None:
    bridge = EventBridge("memory://")
    bridge.bus("orders")
    with pytest.raises(InvalidEventError, match="attributes 'type', 'source' are required"):
        await bridge.publish("orders", {"data": 1})


async def test_run_inside_a_running_loop_points_to_serve() -> None:
    with pytest.raises(RuntimeStateError, match="await bridge.serve"):
        EventBridge("memory://").run()


async def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path) -> None:
    garbage = tmp_path / "events.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    bridge = EventBridge(f"sqlite:///{garbage}")
    bridge.bus("orders")
    with pytest.raises(StoreError, match="exists but is not a SQLite database"):
        await bridge.publish("orders", {"type": "t", "source": "s"})


async def test_a_permanent_failure_is_one_log_line_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pydantic import BaseModel

    class Order(BaseModel):
        order: int

    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all")
    async def handler(order: Order) -> None: ...

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", {"type": "t", "source": "s", "data": {"order": "x"}})
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "PayloadValidationError" in record.getMessage()
    assert record.exc_info is None


async def test_a_harness_timeout_says_where_each_bus_stands() -> None:
    bridge = EventBridge("memory://")
    stuck = asyncio.Event()

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> None:
        await stuck.wait()

    async with run_bridge(bridge, timeout=0.2) as harness:
        with pytest.raises(TimeoutError, match=r"bus 'orders': published up to \{0: 1\}"):
            await harness.publish("orders", {"type": "t", "source": "s"})
        stuck.set()


async def test_the_harness_records_what_was_published_to_unread_buses() -> None:
    bridge = EventBridge("memory://")
    bridge.bus("shipping")

    @bridge.bus("orders").rule("all").target(reply_to="shipping")
    async def plan(event: Event) -> dict[str, str]:
        return {"type": "shipment.requested"}

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", {"type": "order.paid", "source": "/shop"})
    assert [e.type for e in harness.published["shipping"]] == ["shipment.requested"]
    assert [e.type for e in harness.published["orders"]] == ["order.paid"]


async def test_start_logs_where_the_store_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bridge = EventBridge(f"sqlite:///{tmp_path}/events.db")

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> None: ...

    async with bridge:
        pass
    started = next(r.getMessage() for r in caplog.records if "started" in r.getMessage())
    assert str(tmp_path / "events.db") in started
    assert "'orders'" in started


async def test_two_stops_at_once_share_one_drain(tmp_path: Path) -> None:
    bridge = EventBridge(f"sqlite:///{tmp_path}/events.db")
    handled: list[int] = []

    @bridge.bus("orders").rule("all")
    async def slow(event: Event) -> None:
        await asyncio.sleep(0.2)
        handled.append(1)

    await bridge.start()
    await bridge.publish("orders", {"type": "t", "source": "s"})
    assert await asyncio.gather(bridge.stop(), bridge.stop()) == [True, True]
    again = EventBridge(f"sqlite:///{tmp_path}/events.db")

    @again.bus("orders").rule("all")
    async def count(event: Event) -> None:
        handled.append(2)

    async with again:
        await asyncio.sleep(0.2)
    assert handled == [1]  # committed by the shared drain: not delivered again


async def test_leaving_an_override_block_while_running_is_an_error() -> None:
    from eventbridge_sdk.stores import MemoryStore

    bridge = EventBridge("memory://")

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> None: ...

    override = bridge.override(store=MemoryStore())
    await bridge.start()
    with pytest.raises(RuntimeStateError, match="stop the bridge inside the block"):
        override.__exit__(None, None, None)
    await bridge.stop()
    override.__exit__(None, None, None)
