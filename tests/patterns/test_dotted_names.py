"""A nested key and its dot-joined form are one field, in patterns and in events, as in AWS.

Each expected answer below is the one aws/event-ruler (the matcher AWS EventBridge runs) gives
for the same pattern and event. The ``decide`` fixture also holds the index and explain() to
the pattern's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventbridge_sdk.patterns import compile_pattern

Check = Callable[[Any, dict[str, Any]], bool]

CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # the two spellings
    ("nested pattern, dotted event key", {"a": {"b": [1]}}, {"a.b": 1}, True),
    ("dotted pattern key, nested event", {"a.b": [1]}, {"a": {"b": 1}}, True),
    ("dotted pattern key, nested event, other value", {"a.b": [1]}, {"a": {"b": 2}}, False),
    ("three parts split one way", {"a.b.c": [1]}, {"a": {"b.c": 1}}, True),
    ("three parts split another way", {"a.b.c": [1]}, {"a.b": {"c": 1}}, True),
    ("nested pattern, fully dotted event key", {"a": {"b": {"c": [1]}}}, {"a.b.c": 1}, True),
    ("dotted then nested pattern", {"a.b": {"c": [1]}}, {"a": {"b.c": 1}}, True),
    ("a dotted key is not a longer name", {"a.b": [1]}, {"a.bc": 1, "a": {"bc": 1}}, False),
    # both spellings in one event: the field has the values of both
    ("both forms, the dotted one matches", {"a.b": [1]}, {"a": {"b": 2}, "a.b": 1}, True),
    ("both forms, the nested one matches", {"a.b": [2]}, {"a": {"b": 2}, "a.b": 1}, True),
    ("both forms, neither matches", {"a.b": [3]}, {"a": {"b": 2}, "a.b": 1}, False),
    # arrays along the way
    ("array of objects on the way", {"a.b": {"c": [1]}}, {"a": [{"b": {"c": 1}}]}, True),
    ("array of objects under a dotted key", {"a": {"b": {"c": [1]}}}, {"a.b": [{"c": 1}]}, True),
    ("array of values at the field", {"a": {"b": [1]}}, {"a.b": [3, 1]}, True),
    (
        "fields from two elements of one array never combine",
        {"a": {"b": [1], "c": [2]}},
        {"a": [{"b": 1}, {"c": 2}]},
        False,
    ),
    (
        "a dotted field outside the array combines with any element",
        {"a": {"b": [1], "c": [2]}},
        {"a": [{"b": 1}], "a.c": 2},
        True,
    ),
    (
        "dotted and nested pattern fields in one array element",
        {"x.y": [1], "x": {"z": [2]}},
        {"x": [{"y": 1}, {"z": 2}]},
        False,
    ),
    (
        "dotted and nested pattern fields, dotted event key outside",
        {"x": {"y": [1], "z": [2]}},
        {"x": [{"y": 1}], "x.z": 2},
        True,
    ),
    (
        "an array inside the field's array is one element of it",
        {"a": ["x"], "a.b": ["y"]},
        {"a": [["x"], {"b": "y"}]},
        False,
    ),
    (
        "a value of the field's array itself is bound to no element",
        {"b": ["x"], "b.a": ["y"]},
        {"b": ["x", {"a": "y"}]},
        True,
    ),
    # exists and anything-but
    ("exists false, present dotted", {"a.b": [{"exists": False}]}, {"a": {"b": 1}}, False),
    ("exists false, absent", {"a.b": [{"exists": False}]}, {"a": {"c": 1}}, True),
    (
        "exists false, dotted key in the event",
        {"a": {"b": [{"exists": False}]}},
        {"a.b": [1]},
        False,
    ),
    ("exists false, dotted key holds []", {"a": {"b": [{"exists": False}]}}, {"a.b": []}, True),
    (
        "exists false, dotted key holds an object",
        {"a": {"b": [{"exists": False}]}},
        {"a.b": {"c": 1}},
        True,
    ),
    (
        "exists true, null in an array element",
        {"a.b": [{"exists": True}]},
        {"a": [{"c": 1}, {"b": None}]},
        True,
    ),
    ("exists true, only the dotted form", {"a": {"b": [{"exists": True}]}}, {"a.b": "x"}, True),
    (
        "anything-but, one form excluded",
        {"a.b": [{"anything-but": "x"}]},
        {"a": {"b": "x"}, "a.b": "y"},
        True,
    ),
    (
        "anything-but, the only value excluded",
        {"a.b": [{"anything-but": "x"}]},
        {"a": {"b": "x"}},
        False,
    ),
    ("anything-but, dotted event key", {"a": {"b": [{"anything-but": "x"}]}}, {"a.b": "y"}, True),
    (
        "anything-but, missing in both forms",
        {"a.b": [{"anything-but": "x"}]},
        {"a": {"c": "y"}},
        False,
    ),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_nested_and_dotted_spellings(
    decide: Check, pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    assert decide(pattern, event) is expected


def test_a_field_named_twice_in_one_pattern_must_hold_both_ways() -> None:
    # AWS keeps only the last one written; see docs/patterns.md, differences from AWS.
    pattern = compile_pattern({"a": {"b": [1, 2]}, "a.b": [2, 3]})

    assert pattern.matches({"a": {"b": 2}})
    assert not pattern.matches({"a": {"b": 1}})
    assert not pattern.matches({"a.b": 3})


def test_explain_names_the_event_key_it_read() -> None:
    pattern = compile_pattern({"data": {"customer": {"tier": ["gold"]}}})

    explanation = pattern.explain({"data.customer": {"tier": "gold"}})

    assert explanation.reasons == ('data.customer.tier: "gold" matches ["gold"]',)


def test_explain_names_the_array_element_behind_a_dotted_key() -> None:
    pattern = compile_pattern({"a.b": {"c": [1]}})

    explanation = pattern.explain({"a": [{"b": {"c": 2}}, {"b": {"c": 1}}]})

    assert explanation.reasons == ("a[1].b.c: 1 matches [1]",)
