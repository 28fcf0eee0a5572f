"""Invalid patterns are rejected with the path inside the pattern and what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from eventbridge_sdk._errors import EventBridgeError
from eventbridge_sdk.patterns import MAX_PATTERN_CHARS, InvalidPatternError, compile_pattern

# (id, pattern, path, a fragment of the message)
INVALID: list[tuple[str, Any, str, str]] = [
    ("not an object", ["a"], "", "must be a JSON object"),
    ("a string that is JSON but not an object", '"x"', "", "must be a JSON object"),
    ("malformed JSON", '{"a": [1}', "", "not valid JSON"),
    ("JSON null text", "null", "", "must be a JSON object, not null"),
    ("bare string leaf", {"source": "x"}, "source", 'write ["x"]'),
    ("bare number leaf", {"n": 42}, "n", "write [42]"),
    ("bare null leaf", {"n": None}, "n", "write [null]"),
    ("bare boolean leaf", {"n": True}, "n", "array of match values"),
    ("empty array", {"a": []}, "a", "empty arrays"),
    ("empty object", {"a": {}}, "a", "empty objects"),
    ("nested array value", {"a": [["x"]]}, "a[0]", "nested arrays"),
    ("non-operator object", {"a": [{"x": 1}]}, "a[0]", "unrecognized operator 'x'"),
    ("empty operator object", {"a": [{}]}, "a[0]", "exactly one operator key, got 0"),
    (
        "two keys in one operator",
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "a[0]",
        "exactly one operator key, got 2",
    ),
    ("unknown operator", {"a": [{"contains": "x"}]}, "a[0]", "unrecognized operator 'contains'"),
    (
        "event-ruler's undocumented exactly",
        {"a": [{"exactly": "x"}]},
        "a[0]",
        "unrecognized operator",
    ),
    ("mis-cased operator", {"a": [{"EXISTS": True}]}, "a[0]", "case-sensitive"),
    (
        "mis-cased numeric",
        {"a": [{"NUMERIC": [">", 1]}]},
        "a[0]",
        "unrecognized operator 'NUMERIC'",
    ),
    ("nan value", {"a": [float("nan")]}, "a[0]", "finite"),
    ("non-JSON value", {"a": [object()]}, "a[0]", "must be a string, number"),
    ("non-string key", {1: ["x"]}, "", "keys must be strings"),
    # prefix / suffix / equals-ignore-case
    ("prefix number", {"a": [{"prefix": 1}]}, "a[0].prefix", "must be a string"),
    ("prefix list", {"a": [{"prefix": ["x"]}]}, "a[0].prefix", "must be a string"),
    ("prefix null", {"a": [{"prefix": None}]}, "a[0].prefix", "not null"),
    (
        "prefix other object",
        {"a": [{"prefix": {"wildcard": "x"}}]},
        "a[0].prefix",
        "equals-ignore-case",
    ),
    (
        "suffix ignore case number",
        {"a": [{"suffix": {"equals-ignore-case": 1}}]},
        "a[0].suffix.equals-ignore-case",
        "must be a string",
    ),
    (
        "equals-ignore-case list",
        {"a": [{"equals-ignore-case": ["x"]}]},
        "a[0].equals-ignore-case",
        "must be a string",
    ),
    # wildcard
    (
        "wildcard consecutive stars",
        {"a": [{"wildcard": "a**b"}]},
        "a[0].wildcard",
        "consecutive wildcard characters at position 2",
    ),
    (
        "wildcard bad escape",
        {"a": [{"wildcard": "a\\b"}]},
        "a[0].wildcard",
        "invalid escape at position 1",
    ),
    (
        "wildcard trailing backslash",
        {"a": [{"wildcard": "ab\\"}]},
        "a[0].wildcard",
        "invalid escape at position 2",
    ),
    ("wildcard number", {"a": [{"wildcard": 5}]}, "a[0].wildcard", "must be a string"),
    # anything-but
    ("anything-but null", {"a": [{"anything-but": None}]}, "a[0].anything-but", "not null"),
    ("anything-but boolean", {"a": [{"anything-but": True}]}, "a[0].anything-but", "not a boolean"),
    (
        "anything-but empty list",
        {"a": [{"anything-but": []}]},
        "a[0].anything-but",
        "at least one value",
    ),
    (
        "anything-but mixed list",
        {"a": [{"anything-but": ["a", 1]}]},
        "a[0].anything-but",
        "all strings or all numbers",
    ),
    (
        "anything-but list with null",
        {"a": [{"anything-but": ["a", None]}]},
        "a[0].anything-but",
        "all strings or all numbers",
    ),
    (
        "anything-but empty prefix",
        {"a": [{"anything-but": {"prefix": ""}}]},
        "a[0].anything-but.prefix",
        "empty prefix",
    ),
    (
        "anything-but empty suffix in list",
        {"a": [{"anything-but": {"suffix": ["x", ""]}}]},
        "a[0].anything-but.suffix[1]",
        "empty suffix",
    ),
    (
        "anything-but prefix number",
        {"a": [{"anything-but": {"prefix": 1}}]},
        "a[0].anything-but.prefix",
        "must be a string",
    ),
    (
        "anything-but nested ignore case",
        {"a": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]},
        "a[0].anything-but.prefix",
        "must be a string",
    ),
    (
        "anything-but numeric",
        {"a": [{"anything-but": {"numeric": [">", 1]}}]},
        "a[0].anything-but",
        "got numeric",
    ),
    (
        "anything-but exists",
        {"a": [{"anything-but": {"exists": True}}]},
        "a[0].anything-but",
        "got exists",
    ),
    (
        "anything-but two forms",
        {"a": [{"anything-but": {"prefix": "a", "suffix": "b"}}]},
        "a[0].anything-but",
        "got prefix, suffix",
    ),
    (
        "anything-but bad wildcard",
        {"a": [{"anything-but": {"wildcard": "**"}}]},
        "a[0].anything-but.wildcard",
        "consecutive",
    ),
    # numeric
    ("numeric not a list", {"a": [{"numeric": 5}]}, "a[0].numeric", "takes an array"),
    ("numeric empty", {"a": [{"numeric": []}]}, "a[0].numeric", "takes an array"),
    (
        "numeric missing value",
        {"a": [{"numeric": [">"]}]},
        "a[0].numeric",
        "has no number after it",
    ),
    (
        "numeric dangling operator",
        {"a": [{"numeric": [">", 0, "<"]}]},
        "a[0].numeric",
        "operator at [2]",
    ),
    (
        "numeric unknown operator",
        {"a": [{"numeric": ["!=", 0]}]},
        "a[0].numeric[0]",
        "unknown numeric operator '!='",
    ),
    (
        "numeric string bound",
        {"a": [{"numeric": [">", "5"]}]},
        "a[0].numeric[1]",
        "must be a finite number",
    ),
    (
        "numeric boolean bound",
        {"a": [{"numeric": [">", True]}]},
        "a[0].numeric[1]",
        "must be a finite number",
    ),
    (
        "numeric range from below",
        {"a": [{"numeric": ["<", 1, ">", 0]}]},
        "a[0].numeric[0]",
        "bad numeric range operator",
    ),
    (
        "numeric range two lows",
        {"a": [{"numeric": [">", 0, ">", 0]}]},
        "a[0].numeric[2]",
        "bad numeric range operator '>'",
    ),
    (
        "numeric range with =",
        {"a": [{"numeric": ["=", 0, "<", 1]}]},
        "a[0].numeric[0]",
        "bad numeric range operator",
    ),
    (
        "numeric range empty",
        {"a": [{"numeric": [">", 5, "<", 5]}]},
        "a[0].numeric",
        "must be less than",
    ),
    (
        "numeric range reversed",
        {"a": [{"numeric": [">=", 6, "<=", 5]}]},
        "a[0].numeric",
        "must be less than",
    ),
    (
        "numeric too many terms",
        {"a": [{"numeric": [">", 0, "<", 5, "<", 6]}]},
        "a[0].numeric",
        "too many elements",
    ),
    (
        "numeric second bound string",
        {"a": [{"numeric": [">", 0, "<", "x"]}]},
        "a[0].numeric[3]",
        "must be a finite number",
    ),
    # exists
    ("exists string", {"a": [{"exists": "true"}]}, "a[0].exists", "true or false"),
    ("exists number", {"a": [{"exists": 1}]}, "a[0].exists", "true or false"),
    # cidr
    ("cidr without mask", {"a": [{"cidr": "10.0.0.1"}]}, "a[0].cidr", "exactly one '/'"),
    ("cidr two slashes", {"a": [{"cidr": "10.0.0.0/8/8"}]}, "a[0].cidr", "exactly one '/'"),
    (
        "cidr mask not a number",
        {"a": [{"cidr": "10.0.0.0/x"}]},
        "a[0].cidr",
        "mask bits must be an integer",
    ),
    (
        "cidr negative mask",
        {"a": [{"cidr": "10.0.0.0/-1"}]},
        "a[0].cidr",
        "mask bits must be an integer",
    ),
    ("cidr v4 /32", {"a": [{"cidr": "10.0.0.1/32"}]}, "a[0].cidr", "IPv4 mask bits must be < 32"),
    ("cidr v6 /128", {"a": [{"cidr": "::1/128"}]}, "a[0].cidr", "IPv6 mask bits must be < 128"),
    (
        "cidr garbage address",
        {"a": [{"cidr": "10.0.0.256/8"}]},
        "a[0].cidr",
        "nonstandard IP address",
    ),
    ("cidr hostname", {"a": [{"cidr": "example.com/8"}]}, "a[0].cidr", "nonstandard IP address"),
    ("cidr number", {"a": [{"cidr": 10}]}, "a[0].cidr", "must be a string"),
    # $or
    ("$or with one branch", {"$or": [{"a": [1]}]}, "$or", "at least two objects, got 1"),
    ("$or empty", {"$or": []}, "$or", "at least two objects, got 0"),
    ("$or as an object", {"$or": {"a": [1], "b": [2]}}, "$or", "array of at least two objects"),
    ("$or with a non-object branch", {"$or": [{"a": [1]}, ["b"]]}, "$or[1]", "must be an object"),
    ("$or with an empty branch", {"$or": [{"a": [1]}, {}]}, "$or[1]", "empty objects"),
    (
        "$or with an operator name as a field",
        {"$or": [{"a": [1]}, {"prefix": ["x"]}]},
        "$or[1].prefix",
        "operator name",
    ),
    (
        "$or error inside a branch",
        {"d": {"$or": [{"a": [1]}, {"b": [{"numeric": [">"]}]}]}},
        "d.$or[1].b[0].numeric",
        "no number",
    ),
    (
        "deep path",
        {"data": {"amount": [{"numeric": [">", "x"]}]}},
        "data.amount[0].numeric[1]",
        "finite number",
    ),
]


@pytest.mark.parametrize(
    ("pattern", "path", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_pattern_is_rejected_with_its_path(pattern: Any, path: str, fragment: str) -> None:
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern(pattern)

    assert caught.value.path == path
    assert fragment in str(caught.value)
    if path:
        assert str(caught.value).startswith(f"{path}: ")


def test_invalid_pattern_error_is_a_value_error_and_the_project_error() -> None:
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern({"a": "x"})

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, EventBridgeError)


def _or_of(branches: int) -> dict[str, Any]:
    return {"$or": [{f"k{i}": [i]} for i in range(branches)]}


def test_or_combinations_up_to_1000_are_allowed() -> None:
    pattern = {"a": _or_of(10), "b": _or_of(10), "c": _or_of(10)}  # 10 x 10 x 10

    assert len(compile_pattern(pattern).clauses) == 1000


def test_more_than_1000_or_combinations_are_rejected() -> None:
    pattern = {"a": _or_of(10), "b": _or_of(10), "c": _or_of(11)}  # 1100

    with pytest.raises(InvalidPatternError, match="expands to 1100 combinations; at most 1000"):
        compile_pattern(pattern)


def test_nested_or_combinations_add_up_within_a_branch() -> None:
    nested = {"$or": [{"x": [1]}, {"$or": [{"y": [1]}, {"z": [1]}]}]}  # 1 + 2

    assert len(compile_pattern(nested).clauses) == 3


def test_too_large_pattern_text_is_rejected() -> None:
    text = '{"a": [' + ",".join(['"x"'] * (MAX_PATTERN_CHARS // 4 + 1)) + "]}"

    with pytest.raises(InvalidPatternError, match="too large"):
        compile_pattern(text)


def test_too_large_pattern_mapping_is_rejected() -> None:
    pattern = {"a": [f"value-{i:06d}" for i in range(MAX_PATTERN_CHARS // 10)]}

    with pytest.raises(InvalidPatternError, match="too large"):
        compile_pattern(pattern)


def test_too_deep_pattern_is_rejected() -> None:
    pattern: dict[str, Any] = {"leaf": ["x"]}
    for _ in range(100):
        pattern = {"a": pattern}

    with pytest.raises(InvalidPatternError, match="deeper than"):
        compile_pattern(pattern)


def test_a_large_but_allowed_value_list_compiles() -> None:
    accounts = [f"{i:012d}" for i in range(3000)]  # about 45,000 characters: over AWS's 4096

    assert compile_pattern({"account": accounts}).matches({"account": accounts[-1]})


@pytest.mark.parametrize("empty", [None, {}, "{}"])
def test_none_and_empty_compile_to_match_all(empty: Any) -> None:
    pattern = compile_pattern(empty)

    assert pattern.matches({"type": "x"})
    assert pattern.source == {}


def test_duplicate_json_keys_last_one_wins() -> None:
    pattern = compile_pattern('{"a": ["x"], "a": ["y"]}')

    assert pattern.source == {"a": ["y"]}
