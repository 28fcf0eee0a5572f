"""Targets end to end: transforms, typed handler parameters, replies, custom sinks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from eventbridge_sdk import (
    ConfigurationError,
    Delivery,
    Event,
    EventBridge,
    InvalidTransformError,
    PayloadValidationError,
    SinkContext,
    UnknownBusError,
)
from eventbridge_sdk.testing import run_bridge
from eventbridge_sdk.transforms import InputTransformer, JsonPath


class Order(BaseModel):
    order: int
    total: float


@dataclass
class Shipment:
    order: int


def created(order: int = 1, total: float = 10.0, **extensions: str) -> Event:
    return Event(
        type="order.created",
        source="/shop",
        data={"order": order, "total": total, "customer": {"name": 'Zoë "Z"'}},
        extensions=extensions,
    )


class TestTransforms:
    async def test_each_target_gets_its_own_transform(self) -> None:
        bridge = EventBridge("memory://")
        rule = bridge.bus("orders").rule("created", pattern={"type": ["order.created"]})

        @rule.target(transform=JsonPath("$.data.customer.name"))
        async def name_only(event: Event) -> None: ...

        @rule.target(
            transform={
                "form": "TEMPLATE",
                "value": {"n": "$.data.order", "who": "$.data.customer.name"},
                "template": '{"text": "order ${n} for ${who}"}',
            }
        )
        async def chat(event: Event) -> None: ...

        @rule.target()
        async def untouched(event: Event) -> None: ...

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", created(7))
        assert [e.data for e in harness.received("name_only")] == ['Zoë "Z"']
        assert [e.data for e in harness.received("chat")] == [{"text": 'order 7 for Zoë "Z"'}]
        assert harness.received("untouched")[0].data["order"] == 7

    async def test_the_transformed_event_keeps_its_attributes(self) -> None:
        bridge = EventBridge("memory://")

        @(
            bridge.bus("orders")
            .rule("all")
            .target(
                transform=InputTransformer(
                    input_paths_map={"n": "$.data.order"}, input_template='"order <n>"'
                )
            )
        )
        async def text(event: Event) -> None: ...

        async with run_bridge(bridge) as harness:
            [event_id] = await harness.publish("orders", created(3))
        [got] = harness.received("text")
        assert (got.id, got.type, got.data) == (event_id, "order.created", "order 3")

    def test_a_bad_transform_is_rejected_at_declaration_naming_the_target(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        with pytest.raises(InvalidTransformError, match="target 'h' of rule 'r'"):

            @rule.target(transform={"form": "JSONPATH", "value": "no-dollar"})
            async def h(event: Event) -> None: ...


class TestTypedHandlers:
    async def test_model_and_event_parameters_are_filled(self) -> None:
        bridge = EventBridge("memory://")
        got: list[tuple[Order, str]] = []

        @bridge.bus("orders").rule("all")
        async def handle(order: Order, event: Event) -> None:
            got.append((order, event.type))

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", created(5, 12.5))
        assert got == [(Order(order=5, total=12.5), "order.created")]

    async def test_sync_handler_gets_transformed_data_as_a_dataclass(self) -> None:
        bridge = EventBridge("memory://")
        got: list[Shipment] = []

        @(
            bridge.bus("orders")
            .rule("all")
            .target(
                transform={
                    "form": "TEMPLATE",
                    "value": {"n": "$.data.order"},
                    "template": '{"order": ${n}}',
                }
            )
        )
        def ship(shipment: Shipment) -> None:
            got.append(shipment)

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", created(9))
        assert got == [Shipment(order=9)]

    async def test_data_that_does_not_validate_is_a_permanent_failure(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all")
        async def handle(order: Order) -> None: ...

        async with run_bridge(bridge) as harness:
            bad = Event(type="order.created", source="/shop", data={"order": "many"})
            [bad_id] = await harness.publish("orders", [bad])
            await harness.publish("orders", created(1))
        [failure] = harness.failures("handle")
        assert isinstance(failure.error, PayloadValidationError)
        assert failure.error.retryable is False
        assert bad_id in str(failure.error)
        assert len(harness.received("handle")) == 1

    def test_a_handler_the_runtime_cannot_call_is_rejected_at_declaration(self) -> None:
        rule = EventBridge("memory://").bus("orders").rule("r")
        with pytest.raises(ConfigurationError, match="handle"):

            @rule.target()
            async def handle(first: Order, second: Shipment) -> None: ...


class TestReplies:
    async def test_returned_events_are_published_to_the_reply_bus(self) -> None:
        bridge = EventBridge("memory://")
        orders, shipping = bridge.bus("orders"), bridge.bus("shipping")

        @orders.rule("created", pattern={"type": ["order.created"]}).target(reply_to="shipping")
        async def plan(order: Order) -> list[object]:
            return [
                Event(type="shipment.planned", source="/planner", data={"order": order.order}),
                {"type": "shipment.note", "data": {"text": "fragile"}},
            ]

        @shipping.rule("all")
        async def shipped(event: Event) -> None: ...

        trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with run_bridge(bridge) as harness:
            await harness.publish("orders", created(4, traceparent=trace))
            await harness.wait_idle()
        planned, note = harness.received("shipped")
        assert (planned.type, planned.source, planned.data) == (
            "shipment.planned",
            "/planner",
            {"order": 4},
        )
        assert (note.type, note.source) == ("shipment.note", "/orders/created")
        assert planned.extensions["traceparent"] == note.extensions["traceparent"] == trace

    async def test_returning_something_else_is_a_clear_failure(self) -> None:
        bridge = EventBridge("memory://")
        bridge.bus("out")

        @bridge.bus("orders").rule("all").target(reply_to="out")
        async def odd(event: Event) -> int:
            return 42

        async with run_bridge(bridge) as harness:
            await harness.publish("orders", created())
        [failure] = harness.failures("odd")
        assert "returned int" in str(failure.error)

    async def test_replying_to_an_undeclared_bus_fails_at_start(self) -> None:
        bridge = EventBridge("memory://")

        @bridge.bus("orders").rule("all").target(reply_to="nowhere")
        async def plan(event: Event) -> None: ...

        with pytest.raises(UnknownBusError, match="replies to bus 'nowhere'"):
            await bridge.start()
        assert not bridge.running


class RecordingSink:
    """A Sink that takes batches and remembers the order of lifecycle calls."""

    max_batch = 50

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.batches: list[list[Event]] = []

    async def start(self, context: SinkContext) -> None:
        self.calls.append(f"start {context.bus}/{context.rule}/{context.target}")

    async def put(self, batch: Sequence[Delivery]) -> None:
        self.batches.append([d.event for d in batch])

    async def flush(self) -> None:
        self.calls.append("flush")

    async def pre_commit(self) -> None:
        if "pre_commit" not in self.calls:
            self.calls.append("pre_commit")

    async def stop(self) -> None:
        self.calls.append("stop")


async def test_a_custom_sink_gets_batches_and_its_lifecycle_calls() -> None:
    bridge = EventBridge("memory://")
    sink = RecordingSink()
    bridge.bus("orders").rule("all").add_sink("recorder", sink, concurrency=1)
    await bridge.publish("orders", [created(n) for n in range(200)])
    async with bridge:
        await bridge.wait_idle(5)
    delivered = [e.data["order"] for batch in sink.batches for e in batch]
    assert delivered == list(range(200))
    assert max(len(b) for b in sink.batches) <= 50
    assert len(sink.batches) < 200
    assert sink.calls[0] == "start orders/all/recorder"
    assert sink.calls[-2:] == ["flush", "stop"]
    assert "pre_commit" in sink.calls


async def test_annotations_may_name_types_local_to_the_declaring_function() -> None:
    from eventbridge_sdk import Event as LocalEvent

    class Local(BaseModel):
        order: int

    bridge = EventBridge("memory://")
    got: list[tuple[int, str]] = []

    @bridge.bus("orders").rule("all")
    async def handle(data: Local, event: LocalEvent) -> None:
        got.append((data.order, event.type))

    async with run_bridge(bridge) as harness:
        await harness.publish("orders", created(3))
    assert got == [(3, "order.created")]


async def test_wait_idle_also_waits_for_replies_to_a_new_bus() -> None:
    bridge = EventBridge("memory://")
    got: list[str] = []

    @bridge.bus("orders").rule("all").target(reply_to="audit")
    async def forward(event: Event) -> dict[str, str]:
        await asyncio.sleep(0.01)
        return {"type": "audited"}

    @bridge.bus("audit").rule("all")
    async def audited(event: Event) -> None:
        await asyncio.sleep(0.01)
        got.append(event.type)

    async with bridge:
        await bridge.publish("orders", created())
        await bridge.wait_idle(5)
        assert got == ["audited"]
