"""AWS EventBridge's input transformer, checked against AWS's recorded behaviour."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventbridge_sdk.transforms import InputTransformer, InvalidTransformError

# The event of AWS's recordings (localstack `test_events_inputs.py`, marked as validated on AWS).
AWS_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "e-1",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "time": "date",
    "resources": [],
    "detail": {"command": "update-account", "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}},
}
RECORDED_TEMPLATE = (
    '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"'
)
RECORDED_PATHS = {
    "detail-type": "$.detail-type",
    "timestamp": "$.time",
    "command": "$.detail.command",
}
MISSING_PATHS = {**RECORDED_PATHS, "command": "$.detail.notinmessage"}

DOCUMENT: dict[str, Any] = {
    "id": "e-2",
    "type": "ec2.state",
    "data": {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "severity": ["HIGH"],
        "states": ["ACTIVE", "INACTIVE"],
        "account": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
        "nested": {"a": [1, {"b": None}], "ok": True},
        "flag": True,
        "count": 3,
        "ratio": 0.5,
        "nothing": None,
        "quote": 'say "hi"',
        "unicode": "Zoë ✓",
    },
}
PATHS = {name: f"$.data.{name}" for name in DOCUMENT["data"]} | {"missing": "$.data.missing"}


@pytest.mark.parametrize(
    ("paths", "template", "body"),
    [
        pytest.param(
            RECORDED_PATHS,
            RECORDED_TEMPLATE,
            '"Event of core.update-account-command type, at time date, info extracted from detail '
            'update-account"',
            id="string-match-all",
        ),
        pytest.param(
            MISSING_PATHS,
            RECORDED_TEMPLATE,
            '"Event of core.update-account-command type, at time date, info extracted from '
            'detail "',
            id="string-missing-path",
        ),
        pytest.param(
            RECORDED_PATHS,
            '"{[/Check with special starting characters for event of <detail-type> type"',
            '"{[/Check with special starting characters for event of core.update-account-command '
            'type"',
            id="string-starting-with-brackets",
        ),
    ],
)
def test_string_templates_render_as_aws_recorded(
    paths: dict[str, str], template: str, body: str
) -> None:
    transformer = InputTransformer(input_paths_map=paths, input_template=template)
    assert transformer.render(AWS_EVENT) == body
    assert transformer.apply(AWS_EVENT) == json.loads(body)


@pytest.mark.parametrize(
    ("paths", "body"),
    [
        pytest.param(
            RECORDED_PATHS,
            {
                "detailType": "core.update-account-command",
                "time": "date",
                "command": "update-account",
            },
            id="json-match-all",
        ),
        pytest.param(
            MISSING_PATHS,
            {"detailType": "core.update-account-command", "time": "date", "command": ""},
            id="json-missing-path-is-empty-string",
        ),
    ],
)
def test_json_templates_render_as_aws_recorded(paths: dict[str, str], body: Any) -> None:
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    transformer = InputTransformer(input_paths_map=paths, input_template=template)
    assert transformer.is_json
    assert json.loads(transformer.render(AWS_EVENT)) == body
    assert transformer.apply(AWS_EVENT) == body


@pytest.mark.parametrize(
    ("template", "text"),
    [
        pytest.param('"<instance> is in <state>"', '"i-0123456789 is in RUNNING"', id="strings"),
        pytest.param('"severity <severity>"', '"severity [HIGH]"', id="array-of-one"),
        pytest.param('"states <states>"', '"states [ACTIVE,INACTIVE]"', id="array"),
        pytest.param('"acct <account>"', '"acct {acc_id:0a787ecb-4015,sf_id:baz}"', id="object"),
        pytest.param('"n <nested>"', '"n {a:[1,{b:null}],ok:true}"', id="nested"),
        pytest.param('"<flag> <count> <ratio> <nothing>"', '"true 3 0.5 null"', id="scalars"),
        pytest.param('"[<missing>]"', '"[]"', id="missing"),
        pytest.param('"<unicode>"', '"Zoë ✓"', id="unicode"),
        pytest.param('"<quote>"', '"say \\"hi\\""', id="quote-escaped"),
        pytest.param('"a < b, <count> > 2"', '"a < b, 3 > 2"', id="angle-brackets-as-text"),
        pytest.param('"<count><count>"', '"33"', id="same-variable-twice"),
    ],
)
def test_string_templates_insert_raw_values(template: str, text: str) -> None:
    transformer = InputTransformer(input_paths_map=PATHS, input_template=template)
    assert transformer.render(DOCUMENT) == text
    assert transformer.apply(DOCUMENT) == json.loads(text)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param('{"i": <instance>}', {"i": "i-0123456789"}, id="string-gets-quoted"),
        pytest.param(
            '{"f": <flag>, "c": <count>, "r": <ratio>, "n": <nothing>}',
            {"f": True, "c": 3, "r": 0.5, "n": None},
            id="scalars-as-json",
        ),
        pytest.param(
            '{"s": <states>, "a": <account>}',
            {"s": ["ACTIVE", "INACTIVE"], "a": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}},
            id="array-and-object-as-json",
        ),
        pytest.param('{"path": "users/<instance>"}', {"path": "users/i-0123456789"}, id="quoted"),
        pytest.param('{"c": "#<count>"}', {"c": "#3"}, id="quoted-number-raw"),
        pytest.param('{"s": "<states>"}', {"s": "[ACTIVE,INACTIVE]"}, id="quoted-array-raw"),
        pytest.param('{"m": "x<missing>"}', {"m": "x"}, id="quoted-missing"),
        pytest.param(
            '{"q": "<quote>", "u": <unicode>}', {"q": 'say "hi"', "u": "Zoë ✓"}, id="escaped"
        ),
        pytest.param('[<count>, <count>, "<count>"]', [3, 3, "3"], id="reused-in-array"),
        pytest.param("<account>", {"acc_id": "0a787ecb-4015", "sf_id": "baz"}, id="lone"),
    ],
)
def test_json_templates_insert_json_or_raw_text(template: str, expected: Any) -> None:
    transformer = InputTransformer(input_paths_map=PATHS, input_template=template)
    assert transformer.is_json
    assert json.loads(transformer.render(DOCUMENT)) == expected
    assert transformer.apply(DOCUMENT) == expected


def test_a_template_that_is_not_json_renders_raw_text() -> None:
    transformer = InputTransformer(
        input_paths_map=PATHS, input_template="instance <instance> has <states>"
    )
    assert not transformer.is_json
    assert transformer.apply(DOCUMENT) == "instance i-0123456789 has [ACTIVE,INACTIVE]"


def test_predefined_event_variables() -> None:
    transformer = InputTransformer(
        input_template='{"original": <aws.events.event>, "json": <aws.events.event.json>}'
    )
    assert transformer.apply(DOCUMENT) == {
        "original": {"id": "e-2", "type": "ec2.state"},
        "json": DOCUMENT,
    }


def test_forms_compare_and_print_by_their_arguments() -> None:
    one = InputTransformer(input_paths_map={"a": "$.id"}, input_template="<a>")
    assert one == InputTransformer(input_paths_map={"a": "$.id"}, input_template="<a>")
    assert one != InputTransformer(input_paths_map={"a": "$.type"}, input_template="<a>")
    assert repr(one) == "InputTransformer(input_paths_map={'a': '$.id'}, input_template='<a>')"


@pytest.mark.parametrize(
    ("paths", "template", "message"),
    [
        pytest.param(
            RECORDED_PATHS,
            '"Event of <detail-type> type, with not defined key <notdefinedkey>"',
            "placeholder 'notdefinedkey' at character 51 is not defined in input_paths_map",
            id="undefined-placeholder",
        ),
        pytest.param(
            {"a": "$.data["},
            "<a>",
            "input_paths_map\\['a'\\]: .* not a valid JSONPath",
            id="bad-path",
        ),
        pytest.param(
            {"a": "data.a"}, "<a>", "input_paths_map\\['a'\\]: .* starts with", id="no-root"
        ),
        pytest.param({"a": 1}, "<a>", "the path must be a string", id="path-not-string"),
        pytest.param({"a.b": "$.id"}, "<a.b>", "key 'a.b' is not valid", id="dotted-key"),
        pytest.param({"AWS.x": "$.id"}, "<x>", "aws. prefix is reserved", id="aws-prefix"),
        pytest.param({"": "$.id"}, "x", "key '' is not valid", id="empty-key"),
        pytest.param({"k" * 257: "$.id"}, "x", "is not valid", id="long-key"),
        pytest.param(
            {f"v{index}": "$.id" for index in range(101)},
            "x",
            "101 variables; AWS allows at most 100",
            id="101-variables",
        ),
        pytest.param(
            {}, '"' + "x" * 8191 + '"', "8193 characters; AWS allows at most 8192", id="long"
        ),
        pytest.param(
            {}, '"<aws.events.event>"', "can only be a JSON value", id="predefined-in-string"
        ),
        pytest.param(
            {},
            '{"e": "x<aws.events.event.json>"}',
            "can only be a JSON value",
            id="predefined-quoted",
        ),
        pytest.param(
            {}, "e <aws.events.event>", "can only be a JSON value", id="predefined-in-text"
        ),
        pytest.param(
            {"all": "$"},
            '{"e": "<all>"}',
            "placeholder <all> at character 7 is inside quotes, but it always holds an object",
            id="whole-event-path-quoted",
        ),
        pytest.param(
            {"skus": "$.data.items[*].sku"},
            '["sku <skus>"]',
            "placeholder <skus> at character 6 is inside quotes, but it always holds an array",
            id="wildcard-path-quoted",
        ),
        pytest.param(
            {}, '"<aws.events.rule>"', "placeholder 'aws.events.rule' .* not defined", id="typo"
        ),
        pytest.param(["a"], "x", "must be a mapping", id="paths-not-mapping"),
        pytest.param({}, None, "input_template: must be a string", id="template-not-string"),
    ],
)
def test_an_invalid_input_transformer_is_rejected_at_declaration(
    paths: Any, template: Any, message: str
) -> None:
    with pytest.raises(InvalidTransformError, match=message) as caught:
        InputTransformer(input_paths_map=paths, input_template=template)
    assert str(caught.value).startswith("InputTransformer ")


def test_the_limits_themselves_are_allowed() -> None:
    paths = {f"v{index}": "$.id" for index in range(100)}
    template = '"' + "x" * 8190 + '"'
    assert InputTransformer(input_paths_map=paths, input_template=template).apply({}) == "x" * 8190
