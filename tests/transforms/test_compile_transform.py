"""compile_transform: each spelling gives the same transform, each mistake a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from eventbridge_sdk.transforms import (
    Constant,
    InputTransformer,
    InvalidTransformError,
    JsonPath,
    Original,
    Template,
    Transform,
    compile_transform,
)

AWS_TRANSFORMER = InputTransformer(input_paths_map={"id": "$.id"}, input_template='"event <id>"')


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({"form": "ORIGINAL"}, Original(), id="original"),
        pytest.param(
            {"form": "ORIGINAL", "value": None, "template": ""},
            Original(),
            id="original-empty-fields",
        ),
        pytest.param({"form": "original"}, Original(), id="form-case-insensitive"),
        pytest.param(
            {"form": "CONSTANT", "value": "I am a constant!"},
            Constant("I am a constant!"),
            id="constant",
        ),
        pytest.param({"form": "CONSTANT", "value": None}, Constant(None), id="constant-null"),
        pytest.param(
            {"form": "CONSTANT", "value": {"a": [1]}}, Constant({"a": [1]}), id="constant-object"
        ),
        pytest.param({"form": "JSONPATH", "value": "$.data"}, JsonPath("$.data"), id="jsonpath"),
        pytest.param(
            {"form": "TEMPLATE", "value": '{"text":"$.data.text"}', "template": "The ${text}"},
            Template({"text": "$.data.text"}, "The ${text}"),
            id="template-variables-as-json-text",
        ),
        pytest.param(
            {"form": "TEMPLATE", "value": {"text": "$.data.text"}, "template": "The ${text}"},
            Template({"text": "$.data.text"}, "The ${text}"),
            id="template-variables-as-mapping",
        ),
        pytest.param(
            {"form": "TEMPLATE", "template": "fixed"},
            Template({}, "fixed"),
            id="template-no-variables",
        ),
        pytest.param('{"form":"JSONPATH","value":"$.data"}', JsonPath("$.data"), id="json-text"),
        pytest.param(b'{"form":"ORIGINAL"}', Original(), id="json-bytes"),
        pytest.param(
            {"InputPathsMap": {"id": "$.id"}, "InputTemplate": '"event <id>"'},
            AWS_TRANSFORMER,
            id="aws-transformer",
        ),
        pytest.param(
            {"input_paths_map": {"id": "$.id"}, "input_template": '"event <id>"'},
            AWS_TRANSFORMER,
            id="aws-transformer-snake-case",
        ),
        pytest.param(
            {
                "InputTransformer": {
                    "InputPathsMap": {"id": "$.id"},
                    "InputTemplate": '"event <id>"',
                }
            },
            AWS_TRANSFORMER,
            id="aws-target-transformer",
        ),
        pytest.param({"InputPath": "$.data"}, JsonPath("$.data"), id="aws-input-path"),
        pytest.param({"Input": '{"ping": 1}'}, Constant({"ping": 1}), id="aws-input"),
        pytest.param(
            '{"InputTemplate": "<aws.events.event.json>"}',
            InputTransformer(input_template="<aws.events.event.json>"),
            id="aws-json-text-template-only",
        ),
    ],
)
def test_each_spelling_compiles_to_its_python_form(spec: Any, expected: Transform) -> None:
    assert compile_transform(spec) == expected


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(Original(), id="original"),
        pytest.param(Constant({"a": [1, None]}), id="constant"),
        pytest.param(JsonPath("$.data.items[*].sku"), id="jsonpath"),
        pytest.param(Template({"a": "$.id", "b": 3, "c": "literal"}, '{"a": ${a}}'), id="template"),
        pytest.param(AWS_TRANSFORMER, id="input-transformer"),
    ],
)
def test_the_data_form_of_a_transform_compiles_back_to_it(transform: Any) -> None:
    assert compile_transform(transform.to_spec()) == transform


def test_none_means_no_transform() -> None:
    assert compile_transform(None) is None


def test_a_transform_object_is_used_as_is() -> None:
    class TypeOnly:
        def apply(self, event: Any) -> Any:
            return event["type"]

    custom = TypeOnly()
    assert compile_transform(custom) is custom
    path = JsonPath("$.id")
    assert compile_transform(path) is path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"form": "JSONPAHT"},
            "form 'JSONPAHT' is not one of ORIGINAL, CONSTANT",
            id="unknown-form",
        ),
        pytest.param({"form": 3}, "form 3 is not one of", id="form-not-string"),
        pytest.param({"form": "ORIGINAL", "tmpl": "x"}, "unknown keys 'tmpl'", id="unknown-key"),
        pytest.param(
            {"form": "ORIGINAL", "value": "$.data"},
            "ORIGINAL takes no 'value'",
            id="original-value",
        ),
        pytest.param(
            {"form": "JSONPATH", "value": "$.a", "template": "x"},
            "JSONPATH takes no 'template'",
            id="stray-template",
        ),
        pytest.param({"form": "CONSTANT"}, "CONSTANT needs a 'value'", id="constant-no-value"),
        pytest.param({"form": "JSONPATH"}, "JSONPATH needs a 'value'", id="jsonpath-no-value"),
        pytest.param(
            {"form": "JSONPATH", "value": "$.a["},
            "JSONPATH value: '\\$.a\\[' is not a valid",
            id="jsonpath-bad",
        ),
        pytest.param(
            {"form": "TEMPLATE", "value": {}}, "TEMPLATE needs a 'template'", id="template-missing"
        ),
        pytest.param(
            {"form": "TEMPLATE", "value": "{oops", "template": "x"},
            "TEMPLATE value: not valid JSON",
            id="template-value-json",
        ),
        pytest.param(
            {"form": "TEMPLATE", "value": "[1]", "template": "x"},
            "TEMPLATE value: must map",
            id="template-value-list",
        ),
        pytest.param(
            {"form": "TEMPLATE", "value": {}, "template": "${x}"},
            "placeholder 'x'",
            id="template-undefined",
        ),
        pytest.param("{not json", "not valid JSON", id="bad-json-text"),
        pytest.param("[1, 2]", "must hold an object, got list", id="json-text-array"),
        pytest.param("null", "must hold an object, got NoneType", id="json-text-null"),
        pytest.param({}, "cannot tell the form", id="empty-mapping"),
        pytest.param({"value": "$.data"}, "cannot tell the form", id="no-form"),
        pytest.param(42, "got 42", id="not-a-spec"),
        pytest.param(
            {"Input": "{}", "InputPath": "$.a"}, "only one of Input, InputPath", id="aws-two-inputs"
        ),
        pytest.param({"Input": "{oops"}, "Input is not valid JSON text", id="aws-input-bad-json"),
        pytest.param({"Input": {"a": 1}}, "Input must be JSON text", id="aws-input-not-text"),
        pytest.param({"InputPath": 1}, "InputPath must be a path string", id="aws-input-path-type"),
        pytest.param(
            {"InputTransformer": "x"},
            "InputTransformer must be a mapping",
            id="aws-transformer-type",
        ),
        pytest.param({"InputPathsMap": {}}, "needs an InputTemplate", id="aws-no-template"),
        pytest.param(
            {"InputTemplate": "x", "Extra": 1}, "unknown key 'Extra'", id="aws-unknown-key"
        ),
        pytest.param(
            {"InputTemplate": "x", "input_template": "y"}, "given twice", id="aws-two-spellings"
        ),
        pytest.param(
            {"InputPathsMap": {"a": "$.id"}, "InputTemplate": "<b>"},
            "placeholder 'b'",
            id="aws-undefined",
        ),
    ],
)
def test_an_invalid_spec_is_rejected_with_what_and_where(spec: Any, message: str) -> None:
    with pytest.raises(InvalidTransformError, match=message) as caught:
        compile_transform(spec)
    assert str(caught.value).startswith("transform: ")


def test_the_caller_names_the_place_in_messages() -> None:
    with pytest.raises(InvalidTransformError, match=r"^rule 'orders' target 'audit': form 'X'"):
        compile_transform({"form": "X"}, where="rule 'orders' target 'audit'")
