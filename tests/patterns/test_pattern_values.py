"""Exact values, arrays, nesting, null and missing fields: AWS EventBridge semantics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Check = Callable[[Any, dict[str, Any]], bool]

CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # id, pattern, event, matches
    ("string equal", {"source": ["shop"]}, {"source": "shop"}, True),
    ("string differs", {"source": ["shop"]}, {"source": "shop2"}, False),
    ("case sensitive", {"source": ["shop"]}, {"source": "Shop"}, False),
    ("values are OR-ed", {"type": ["a", "b"]}, {"type": "b"}, True),
    ("fields are AND-ed", {"type": ["a"], "source": ["s"]}, {"type": "a", "source": "x"}, False),
    ("both fields", {"type": ["a"], "source": ["s"]}, {"type": "a", "source": "s"}, True),
    ("unnamed fields ignored", {"type": ["a"]}, {"type": "a", "other": 1}, True),
    ("missing field", {"type": ["a"]}, {"source": "a"}, False),
    ("keys case sensitive", {"Type": ["a"]}, {"type": "a"}, False),
    ("any top-level key", {"tenant": ["t1"]}, {"tenant": "t1"}, True),
    ("string 5 is not number 5", {"n": ["5"]}, {"n": 5}, False),
    ("number 5 is not string 5", {"n": [5]}, {"n": "5"}, False),
    ("true is not string true", {"b": [True]}, {"b": "true"}, False),
    ("string true is not true", {"b": ["true"]}, {"b": True}, False),
    ("true equal", {"b": [True]}, {"b": True}, True),
    ("false equal", {"b": [False]}, {"b": False}, True),
    ("true is not 1", {"b": [True]}, {"b": 1}, False),
    ("1 is not true", {"b": [1]}, {"b": True}, False),
    ("0 is not false", {"b": [0]}, {"b": False}, False),
    ("false is not 0", {"b": [False]}, {"b": 0}, False),
    ("true and 1 in one array: 1", {"b": [True, 1]}, {"b": 1}, True),
    ("true and 1 in one array: true", {"b": [True, 1]}, {"b": True}, True),
    ("false and 0 in one array: 0.0", {"b": [False, 0]}, {"b": 0.0}, True),
    ("300 matches 300.0", {"n": [300]}, {"n": 300.0}, True),
    ("3e2 matches 300", {"n": [3e2]}, {"n": 300}, True),
    ("300.0 matches 300", {"n": [300.0]}, {"n": 300}, True),
    ("300 is not 300.5", {"n": [300]}, {"n": 300.5}, False),
    ("big ints by value", {"n": [2**53 + 1]}, {"n": 2**53 + 1}, True),
    ("null matches null", {"x": [None]}, {"x": None}, True),
    ("null does not match missing", {"x": [None]}, {}, False),
    ("null is not the string null", {"x": [None]}, {"x": "null"}, False),
    ("null is not an empty array", {"x": [None]}, {"x": []}, False),
    ("empty string matches empty string", {"x": [""]}, {"x": ""}, True),
    ("empty string is not null", {"x": [""]}, {"x": None}, False),
    ("event array intersects", {"r": ["a", "z"]}, {"r": ["x", "z"]}, True),
    ("event array disjoint", {"r": ["a"]}, {"r": ["x", "y"]}, False),
    ("nested arrays flattened", {"r": ["c"]}, {"r": [["a"], [["b", "c"]]]}, True),
    ("empty event array", {"r": ["a"]}, {"r": []}, False),
    ("nested field", {"data": {"state": ["on"]}}, {"data": {"state": "on"}}, True),
    ("nested field wrong", {"data": {"state": ["on"]}}, {"data": {"state": "off"}}, False),
    ("nested field parent missing", {"data": {"state": ["on"]}}, {}, False),
    ("parent is a scalar", {"data": {"state": ["on"]}}, {"data": "on"}, False),
    ("leaf pattern on object", {"data": ["x"]}, {"data": {"x": 1}}, False),
    ("leaf pattern on array of objects", {"data": ["x"]}, {"data": [{"x": 1}]}, False),
    (
        "array of objects, one element",
        {"e": {"n": ["Anna"]}},
        {"e": [{"n": "Jo"}, {"n": "Anna"}]},
        True,
    ),
    (
        "array consistency: same element",
        {"e": {"first": ["Anna"], "last": ["Smith"]}},
        {"e": [{"first": "John", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]},
        True,
    ),
    (
        "array consistency: different elements",
        {"e": {"first": ["Anna"], "last": ["Jones"]}},
        {"e": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]},
        False,
    ),
    (
        "array consistency across multi-level arrays",
        {"e": {"first": ["Anna"], "last": ["Jones"]}},
        {"e": [[{"first": "Anna", "last": "Smith"}], [{"first": "Peter", "last": "Jones"}]]},
        False,
    ),
    (
        "array consistency with $or re-entering the array",
        {"e": {"first": ["Anna"]}, "$or": [{"e": {"last": ["Jones"]}}, {"x": [1]}]},
        {"e": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]},
        False,
    ),
    (
        "fields outside the array combine freely",
        {"type": ["t"], "e": {"first": ["Anna"]}},
        {"type": "t", "e": [{"first": "John"}, {"first": "Anna"}]},
        True,
    ),
    (
        "nested objects in array elements",
        {"items": {"sku": ["A"], "price": {"cur": ["EUR"]}}},
        {"items": [{"sku": "B", "price": {"cur": "EUR"}}, {"sku": "A", "price": {"cur": "EUR"}}]},
        True,
    ),
    ("a key with a dot is one key", {"a.b": ["x"]}, {"a.b": "x"}, True),
    ("a dotted key is the nested field", {"a.b": ["x"]}, {"a": {"b": "x"}}, True),
    ("data as a JSON string is not parsed", {"data": {"a": ["x"]}}, {"data": '{"a": "x"}'}, False),
    ("empty pattern matches everything", {}, {"anything": 1}, True),
    ("empty pattern matches an empty event", {}, {}, True),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_values(
    decide: Check, pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    assert decide(pattern, event) is expected


OR_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("first branch", {"$or": [{"a": [1]}, {"b": [2]}]}, {"a": 1}, True),
    ("second branch", {"$or": [{"a": [1]}, {"b": [2]}]}, {"b": 2}, True),
    ("no branch", {"$or": [{"a": [1]}, {"b": [2]}]}, {"a": 2, "b": 1}, False),
    (
        "AND with a sibling field",
        {"t": ["x"], "$or": [{"a": [1]}, {"b": [2]}]},
        {"t": "y", "a": 1},
        False,
    ),
    (
        "sibling field holds",
        {"t": ["x"], "$or": [{"a": [1]}, {"b": [2]}]},
        {"t": "x", "b": 2},
        True,
    ),
    ("nested inside an object", {"d": {"$or": [{"a": [1]}, {"b": [2]}]}}, {"d": {"b": 2}}, True),
    (
        "nested $or",
        {"$or": [{"a": [1]}, {"$or": [{"b": [2]}, {"c": [3]}]}]},
        {"c": 3},
        True,
    ),
    (
        "branch with several fields is an AND",
        {"$or": [{"a": [1], "b": [1]}, {"c": [3]}]},
        {"a": 1, "b": 2},
        False,
    ),
    (
        "branches with operators",
        {"$or": [{"n": [{"numeric": [">", 10]}]}, {"s": [{"prefix": "x"}]}]},
        {"n": 5, "s": "xy"},
        True,
    ),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"), [c[1:] for c in OR_CASES], ids=[c[0] for c in OR_CASES]
)
def test_or(decide: Check, pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert decide(pattern, event) is expected
