"""ORIGINAL, CONSTANT and TEMPLATE, RocketMQ EventBridge's forms, as Python values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventbridge_sdk._event import Event
from eventbridge_sdk.transforms import (
    Constant,
    InvalidTransformError,
    JsonPath,
    Original,
    Template,
)

DOCUMENT: dict[str, Any] = {
    "id": "e-1",
    "source": "/shop",
    "type": "order.created",
    "data": {
        "text": "100",
        "number": 100,
        "price": 9.5,
        "flag": True,
        "nothing": None,
        "quote": 'say "hi" \\ bye',
        "lines": "one\ntwo\ttab",
        "unicode": "Zoë ✓ 日本",
        "object": {"a": 1, "b": "x"},
        "array": ["A", 2, None],
        "empty": "",
    },
}

VARIABLES: dict[str, Any] = {
    "text": "$.data.text",
    "number": "$.data.number",
    "price": "$.data.price",
    "flag": "$.data.flag",
    "nothing": "$.data.nothing",
    "quote": "$.data.quote",
    "lines": "$.data.lines",
    "unicode": "$.data.unicode",
    "object": "$.data.object",
    "array": "$.data.array",
    "empty": "$.data.empty",
    "missing": "$.data.missing",
    "table": "tableName",
    "dollars": "$5 off",
    "seven": 7,
    "id": "$.id",
}


def test_original_gives_the_whole_event() -> None:
    assert Original().apply(DOCUMENT) == DOCUMENT


def test_original_gives_the_json_form_of_an_event_object() -> None:
    event = Event(type="t", source="s", data={"x": [1, 2]}, extensions={"tenant": "acme"})
    assert Original().apply(event) == event.to_dict()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("I am a constant!", id="string"),
        pytest.param(0, id="number"),
        pytest.param(None, id="null"),
        pytest.param({"alert": {"level": 2}}, id="object"),
        pytest.param(["a", {"b": 1}], id="array"),
    ],
)
def test_constant_gives_its_value_whatever_the_event(value: Any) -> None:
    constant = Constant(value)
    assert constant.apply(DOCUMENT) == value
    assert constant.apply({"id": "other"}) == value


def test_a_changed_constant_payload_does_not_leak_into_the_next_event() -> None:
    constant = Constant({"tags": ["a"]})
    first = constant.apply(DOCUMENT)
    first["tags"].append("changed")
    assert constant.apply(DOCUMENT) == {"tags": ["a"]}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("The ${text} = ${number}!", "The 100 = 100!", id="anchor-example"),
        pytest.param("price ${price}, paid ${flag}", "price 9.5, paid true", id="scalars"),
        pytest.param("value ${nothing}", "value null", id="null"),
        pytest.param("value [${missing}]", "value []", id="missing-is-empty"),
        pytest.param("obj ${object}", 'obj {"a":1,"b":"x"}', id="object-as-json"),
        pytest.param("arr ${array}", 'arr ["A",2,null]', id="array-as-json"),
        pytest.param("<${quote}>", '<say "hi" \\ bye>', id="quotes-unescaped-in-text"),
        pytest.param("${unicode}!", "Zoë ✓ 日本!", id="unicode"),
        pytest.param("${lines}.", "one\ntwo\ttab.", id="control-characters"),
        pytest.param("insert into ${table}", "insert into tableName", id="literal-variable"),
        pytest.param("${dollars} today", "$5 off today", id="dollar-literal"),
        pytest.param("${seven} days", "7 days", id="number-literal"),
        pytest.param("${id}/${id}", "e-1/e-1", id="same-variable-twice"),
        pytest.param("cost $${text} is ${text}", "cost ${text} is 100", id="escaped-placeholder"),
        pytest.param("no placeholders", "no placeholders", id="no-placeholders"),
        pytest.param("[ALERT] ${text}", "[ALERT] 100", id="bracket-start-but-text"),
        pytest.param('{"a": ${text}', '{"a": 100', id="brace-start-invalid-json-is-text"),
        pytest.param("${empty}|", "|", id="empty-string"),
    ],
)
def test_a_text_template_inserts_values_as_text(template: str, expected: str) -> None:
    transform = Template(VARIABLES, template)
    assert not transform.is_json
    assert transform.apply(DOCUMENT) == expected
    assert transform.render(DOCUMENT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param(
            '{"text":"${text}","number":${number}}',
            {"text": "100", "number": 100},
            id="anchor-example",
        ),
        pytest.param('{"t": ${text}}', {"t": "100"}, id="bare-string-gets-quoted"),
        pytest.param(
            '{"p": ${price}, "f": ${flag}, "n": ${nothing}}',
            {"p": 9.5, "f": True, "n": None},
            id="bare-scalars",
        ),
        pytest.param(
            '{"o": ${object}, "a": ${array}}',
            {"o": {"a": 1, "b": "x"}, "a": ["A", 2, None]},
            id="bare-object-and-array",
        ),
        pytest.param('{"m": ${missing}}', {"m": None}, id="bare-missing-is-null"),
        pytest.param('{"m": "${missing}"}', {"m": ""}, id="quoted-missing-is-empty"),
        pytest.param('{"q": "${quote}"}', {"q": 'say "hi" \\ bye'}, id="quotes-escaped"),
        pytest.param('{"q": ${quote}}', {"q": 'say "hi" \\ bye'}, id="bare-quotes-escaped"),
        pytest.param('{"l": "<${lines}>"}', {"l": "<one\ntwo\ttab>"}, id="control-escaped"),
        pytest.param('{"u": "${unicode}"}', {"u": "Zoë ✓ 日本"}, id="unicode"),
        pytest.param('{"n": "#${number}"}', {"n": "#100"}, id="quoted-number-as-text"),
        pytest.param('{"n": "${nothing}"}', {"n": "null"}, id="quoted-null-as-text"),
        pytest.param('{"o": "${object}"}', {"o": '{"a":1,"b":"x"}'}, id="quoted-object-as-json"),
        pytest.param('{"path": "users/${id}"}', {"path": "users/e-1"}, id="inside-a-string"),
        pytest.param('{"twice": [${id}, "${id}"]}', {"twice": ["e-1", "e-1"]}, id="reused"),
        pytest.param("[${number}, ${table}]", [100, "tableName"], id="array-template"),
        pytest.param("${object}", {"a": 1, "b": "x"}, id="lone-placeholder"),
        pytest.param(" ${missing} ", None, id="lone-missing-placeholder"),
        pytest.param('{"k": "$${x}"}', {"k": "${x}"}, id="escaped-placeholder"),
        pytest.param('{"esc": "a\\"${text}"}', {"esc": 'a"100'}, id="escape-before-slot"),
    ],
)
def test_a_json_template_gives_structured_data(template: str, expected: Any) -> None:
    transform = Template(VARIABLES, template)
    assert transform.is_json
    assert transform.apply(DOCUMENT) == expected
    assert json.loads(transform.render(DOCUMENT)) == expected


def test_variables_may_be_given_as_path_and_constant_objects() -> None:
    transform = Template(
        {"order": JsonPath("$.data.number"), "label": Constant("$.not.a.path")},
        '{"order": ${order}, "label": "${label}"}',
    )
    assert transform.apply(DOCUMENT) == {"order": 100, "label": "$.not.a.path"}


def test_a_wildcard_variable_gives_a_list() -> None:
    transform = Template({"keys": "$.data.array[*]"}, "${keys}")
    assert transform.apply(DOCUMENT) == ["A", 2, None]


def test_a_template_works_on_an_event_object() -> None:
    event = Event(type="order.created", source="/shop", data={"id": 7})
    assert Template({"id": "$.data.id"}, '{"order": ${id}}').apply(event) == {"order": 7}


@pytest.mark.parametrize(
    ("variables", "template", "message"),
    [
        pytest.param(
            {}, "Hi ${name}", "placeholder 'name' at character 3 is not defined", id="undefined"
        ),
        pytest.param(
            {"a": "$.id"}, "${a} ${}", "placeholder '' at character 5", id="empty-placeholder"
        ),
        pytest.param({"a b": "$.id"}, "${a b}", "variable name 'a b' is not valid", id="bad-name"),
        pytest.param(
            {"a": "$.data["}, "${a}", "variable 'a': '\\$.data\\[' is not a valid", id="bad-path"
        ),
        pytest.param({"a": "$."}, "${a}", "variable 'a'", id="dangling-path"),
        pytest.param(["a"], "${a}", "variables must be a mapping", id="variables-not-mapping"),
        pytest.param({"a": "$.id"}, None, "template: must be a string", id="template-not-string"),
        pytest.param({"a": Original()}, "${a}", "not Original\\(\\)", id="variable-is-a-form"),
    ],
)
def test_an_invalid_template_is_rejected_at_declaration(
    variables: Any, template: Any, message: str
) -> None:
    with pytest.raises(InvalidTransformError, match=message) as caught:
        Template(variables, template)
    assert "TEMPLATE" in str(caught.value)


def test_forms_compare_by_value() -> None:
    assert Original() == Original()
    assert Constant({"a": 1}) == Constant({"a": 1})
    assert Constant(1) != Constant(2)
    assert JsonPath("$.data") == JsonPath("$.data")
    assert Template({"a": "$.id"}, "${a}") == Template({"a": "$.id"}, "${a}")
    assert Template({"a": "$.id"}, "${a}") != Template({"a": "$.type"}, "${a}")
    assert Original() != Constant(None)
    assert len({JsonPath("$.data"), JsonPath("$.data"), Original()}) == 2


@pytest.mark.parametrize(
    ("transform", "text"),
    [
        pytest.param(Original(), "Original()", id="original"),
        pytest.param(Constant("x"), "Constant('x')", id="constant"),
        pytest.param(JsonPath("$.data"), "JsonPath('$.data')", id="jsonpath"),
        pytest.param(
            Template({"a": "$.id"}, "${a}"), "Template({'a': '$.id'}, '${a}')", id="template"
        ),
    ],
)
def test_a_form_reads_as_the_code_that_builds_it(transform: object, text: str) -> None:
    assert repr(transform) == text
