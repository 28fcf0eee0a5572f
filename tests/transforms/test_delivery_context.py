"""The delivery context: AWS's rule name, rule ARN and ingestion time, and who asks for them."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from eventbridge_sdk import Event, EventBridge, RetryPolicy
from eventbridge_sdk.testing import run_bridge
from eventbridge_sdk.transforms import (
    Constant,
    InputTransformer,
    InvalidTransformError,
    JsonPath,
    Original,
    Template,
    TransformContext,
    compile_transform,
)

CLOUDEVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/shop",
    "type": "order.paid",
    "detail": "an extension named detail",
    "data": {"order": 7, "items": [{"sku": "A-1"}, {"sku": "B-7"}]},
}
AWS_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "e-2",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "time": "2026-01-31T12:00:00Z",
    "resources": ["arn:aws:ec2:eu-west-1:1:instance/i-1"],
    "detail": {"instance-id": "i-1", "state": "running"},
}
# 2026-01-31T12:00:00.123Z, a time whose milliseconds are not exact as a binary float.
INGESTED = 1769860800.123
CONTEXT = TransformContext("orders", "paid", INGESTED)
RESERVED = (
    '{"rule": <aws.events.rule-name>, "arn": <aws.events.rule-arn>, '
    '"at": <aws.events.event.ingestion-time>}'
)


def test_the_reserved_variables_read_the_delivery_context() -> None:
    transformer = InputTransformer(input_template=RESERVED)
    assert transformer.apply(CLOUDEVENT, CONTEXT) == {
        "rule": "paid",
        "arn": "arn:eventbridge-sdk:events:local::rule/orders/paid",
        "at": "2026-01-31T12:00:00.123Z",
    }


def test_the_reserved_variables_render_raw_in_a_string_template() -> None:
    transformer = InputTransformer(
        input_paths_map={"order": "$.data.order"},
        input_template='"order <order> matched <aws.events.rule-name> at '
        '<aws.events.event.ingestion-time> (<aws.events.rule-arn>)"',
    )
    assert transformer.render(CLOUDEVENT, CONTEXT) == (
        '"order 7 matched paid at 2026-01-31T12:00:00.123Z '
        '(arn:eventbridge-sdk:events:local::rule/orders/paid)"'
    )


def test_without_a_context_the_reserved_variables_render_as_a_missing_path() -> None:
    transformer = InputTransformer(input_template=RESERVED)
    assert transformer.apply(CLOUDEVENT) == {"rule": "", "arn": "", "at": ""}
    text = InputTransformer(input_template='"[<aws.events.rule-name>]"')
    assert text.render(CLOUDEVENT) == '"[]"'


def test_an_unknown_ingestion_time_renders_as_a_missing_path() -> None:
    transformer = InputTransformer(input_template=RESERVED)
    assert transformer.apply(CLOUDEVENT, TransformContext("orders", "paid"))["at"] == ""


@pytest.mark.parametrize(
    ("ingested", "text"),
    [
        pytest.param(0.0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(1769860800.5, "2026-01-31T12:00:00.500Z", id="half"),
        pytest.param(1769860800.9999, "2026-01-31T12:00:00.999Z", id="truncated-to-ms"),
        pytest.param(1769860800.0009, "2026-01-31T12:00:00.000Z", id="below-a-ms"),
    ],
)
def test_the_ingestion_time_is_utc_with_milliseconds(ingested: float, text: str) -> None:
    transformer = InputTransformer(input_template="<aws.events.event.ingestion-time>")
    assert transformer.apply(CLOUDEVENT, TransformContext("b", "r", ingested)) == text


def test_only_a_template_that_reads_the_context_asks_for_it() -> None:
    assert InputTransformer(input_template=RESERVED).uses_context
    assert compile_transform(
        {"InputTransformer": {"InputTemplate": '"<aws.events.rule-arn>"'}}
    ).uses_context  # type: ignore[attr-defined]
    plain = InputTransformer(
        input_paths_map={"id": "$.id"}, input_template='{"id": <id>, "e": <aws.events.event>}'
    )
    assert not plain.uses_context
    for form in (Original(), Constant(1), JsonPath("$.id"), Template({"i": "$.id"}, "${i}")):
        assert not form.uses_context, form


def test_forms_that_need_no_context_ignore_one() -> None:
    forms = [
        Original(),
        Constant({"a": 1}),
        JsonPath("$.data.order"),
        Template({"order": "$.data.order"}, '{"o": ${order}}'),
        InputTransformer(input_paths_map={"o": "$.data.order"}, input_template='"<o>"'),
    ]
    for form in forms:
        assert form.apply(CLOUDEVENT, CONTEXT) == form.apply(CLOUDEVENT), form


def test_the_context_is_an_immutable_value() -> None:
    assert TransformContext(bus="orders", rule="paid", ingested=INGESTED) == CONTEXT
    assert TransformContext("orders", "paid").ingested is None
    with pytest.raises(AttributeError):
        CONTEXT.rule = "other"  # type: ignore[misc]


def test_aws_events_event_of_a_cloudevent_drops_data_only() -> None:
    transformer = InputTransformer(input_template="<aws.events.event>")
    expected = {key: value for key, value in CLOUDEVENT.items() if key != "data"}
    assert transformer.apply(CLOUDEVENT) == expected
    with_base64 = {"specversion": "1.0", "id": "e-3", "data_base64": "AAE="}
    assert transformer.apply(with_base64) == {"specversion": "1.0", "id": "e-3"}


def test_aws_events_event_of_an_aws_event_drops_detail_and_spells_detail_type() -> None:
    transformer = InputTransformer(
        input_template='{"event": <aws.events.event>, "json": <aws.events.event.json>}'
    )
    out = transformer.apply(AWS_EVENT)
    assert out["event"] == {
        "version": "0",
        "id": "e-2",
        "detailType": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "time": "2026-01-31T12:00:00Z",
        "resources": ["arn:aws:ec2:eu-west-1:1:instance/i-1"],
    }
    assert out["json"] == AWS_EVENT


@pytest.mark.parametrize(
    ("paths", "template", "expected"),
    [
        pytest.param(
            {"all": "$"},
            '"all: <all>"',
            "all: {specversion:1.0,id:e-1,source:/shop,type:order.paid,"
            "detail:an extension named detail,data:{order:7,items:[{sku:A-1},{sku:B-7}]}}",
            id="whole-event-in-string",
        ),
        pytest.param(
            {"skus": "$.data.items[*].sku"}, '"skus <skus>"', "skus [A-1,B-7]", id="array-in-string"
        ),
        pytest.param(
            {"skus": "$.data.items[*].sku"}, '{"s": <skus>}', {"s": ["A-1", "B-7"]}, id="bare"
        ),
        pytest.param(
            {"items": "$.data.items"},
            '{"s": "<items>"}',
            {"s": "[{sku:A-1},{sku:B-7}]"},
            id="plain-path-type-unknown-at-declaration",
        ),
    ],
)
def test_objects_and_arrays_are_allowed_where_aws_delivers_them(
    paths: dict[str, str], template: str, expected: Any
) -> None:
    transformer = InputTransformer(input_paths_map=paths, input_template=template)
    assert transformer.apply(CLOUDEVENT) == expected


def test_a_quoted_object_is_rejected_naming_the_placeholder_and_the_reason() -> None:
    with pytest.raises(InvalidTransformError) as caught:
        compile_transform(
            {"InputPathsMap": {"all": "$"}, "InputTemplate": '{"a": 1, "e": "event <all>"}'},
            where="rule 'paid' target 'audit'",
        )
    message = str(caught.value)
    assert message.startswith("rule 'paid' target 'audit': InputTransformer input_template:")
    assert "placeholder <all> at character 21 is inside quotes" in message
    assert "its path '$' is the whole event" in message


async def test_a_bridge_fills_the_reserved_variables_at_delivery_and_on_retries() -> None:
    bridge = EventBridge("memory://")
    got: list[dict[str, str]] = []
    attempts = 0
    transform = InputTransformer(
        input_paths_map={"id": "$.id"},
        input_template='{"id": <id>, "rule": <aws.events.rule-name>, '
        '"arn": <aws.events.rule-arn>, "ingested": <aws.events.event.ingestion-time>}',
    )

    @(
        bridge.bus("orders")
        .rule("paid")
        .target(transform=transform, retry=RetryPolicy(max_attempts=2, initial_delay=1, jitter=0))
    )
    async def audit(payload: dict[str, str]) -> None:
        nonlocal attempts
        got.append(payload)
        attempts += 1
        if attempts == 1:
            raise ConnectionError("fails once")

    before = time.time()
    async with run_bridge(bridge) as harness:
        [event_id] = await harness.publish("orders", Event(type="t", source="s"))
        await harness.run_retries()
    after = time.time()
    assert len(got) == 2  # the first attempt and the retry from the delay queue
    for payload in got:
        assert payload["id"] == event_id
        assert payload["rule"] == "paid"
        assert payload["arn"] == "arn:eventbridge-sdk:events:local::rule/orders/paid"
        ingested = datetime.fromisoformat(payload["ingested"]).timestamp()
        assert before - 0.001 <= ingested <= after + 0.001
    assert got[0]["ingested"] == got[1]["ingested"]  # the retry keeps when it was appended
