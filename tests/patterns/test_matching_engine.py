"""The one matching engine (code generated per node of the rule trie) behind RuleIndex.match and
Pattern.matches: it follows rule changes, keeps names and values out of the generated source,
and reads every kind of value on the way to a field; explain() agrees throughout."""

from __future__ import annotations

import enum
import json
import math
from collections import UserDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pattern_strategies import patterns

from eventbridge_sdk.patterns import Pattern, RuleIndex, compile_pattern

KEYS = ["a", "b", "a.b", "data"]
NUMBERS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([-2.5, -0.0, 0.0, 0.5, 1.0, 2.0, 2.5, 1e300, 2**53, 2**53 + 1, 300, 3e2]),
)
SCALARS = st.one_of(
    st.sampled_from(["x", "xy", "Xy", "XY", "yx", "", "a.b", "10.1.2.3", True, False, None]),
    NUMBERS,
    # Never in JSON, but possible in a hand-built event: they satisfy no numeric condition.
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
MATCH_VALUES = st.one_of(
    st.sampled_from(["x", "xy", "", "a.b", True, False, None]),
    NUMBERS,
    st.sampled_from(
        [
            {"prefix": "x"},
            {"prefix": ""},
            {"prefix": "a."},
            {"suffix": "y"},
            {"suffix": ".b"},
            {"prefix": {"equals-ignore-case": "X"}},
            {"suffix": {"equals-ignore-case": "Y"}},
            {"equals-ignore-case": "XY"},
            {"wildcard": "x*"},
            {"anything-but": "x"},
            {"anything-but": [1, 2.5]},
            {"anything-but": {"prefix": "x"}},
            {"numeric": [">", 0]},
            {"numeric": ["<=", 1]},
            {"numeric": ["=", 1]},
            {"numeric": [">=", 2]},
            {"numeric": ["<", 2.5]},
            {"numeric": [">=", -3, "<", 2.5]},
            {"exists": True},
            {"exists": False},
            {"cidr": "10.0.0.0/8"},
        ]
    ),
)
LEAVES = st.lists(MATCH_VALUES, min_size=1, max_size=3)
PATTERNS = patterns(LEAVES, KEYS)
#: Events with arrays, objects and dotted keys anywhere.
EVENTS = st.dictionaries(
    st.sampled_from(KEYS),
    st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
        ),
        max_leaves=10,
    ),
    max_size=3,
)


def check(idx: RuleIndex[int], live: dict[int, Pattern], event: Any) -> list[int]:
    """The keys ``event`` matches, asserting that the index, each pattern and explain() agree."""
    expected = [key for key, pattern in live.items() if pattern.matches(event)]
    assert idx.match(event) == expected, "RuleIndex.match and Pattern.matches disagree"
    for key, pattern in live.items():
        assert pattern.explain(event).matched is (key in expected), "explain() disagrees"
    return expected


def indexed(*rules: Any) -> tuple[RuleIndex[int], dict[int, Pattern]]:
    """An index of ``rules`` (keyed by position) and the compiled patterns by key."""
    live = {key: compile_pattern(rule) for key, rule in enumerate(rules)}
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in live.items():
        idx.add(key, pattern)
    return idx, live


@given(rules=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(EVENTS, max_size=5))
def test_index_patterns_and_explain_agree_on_events_with_arrays_and_dotted_keys(
    rules: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    idx, live = indexed(*rules)

    for event in events:
        check(idx, live, event)


@given(
    steps=st.lists(
        st.tuples(st.integers(0, 5), st.one_of(st.none(), PATTERNS), EVENTS),
        min_size=1,
        max_size=12,
    )
)
def test_the_index_follows_adds_removes_and_replacements_between_matches(
    steps: list[tuple[int, dict[str, Any] | None, dict[str, Any]]],
) -> None:
    idx: RuleIndex[int] = RuleIndex()
    live: dict[int, Pattern] = {}
    for key, pattern, event in steps:
        if pattern is None:
            if key in live:
                idx.remove(key)
                del live[key]
        else:
            live[key] = compile_pattern(pattern)
            idx.add(key, live[key])
        check(idx, live, event)


FIELDS = [f"f{i}" for i in range(10)]
#: Objects holding many of FIELDS, as an object, an array of them, or dotted keys beside.
MANY_FIELDS = st.dictionaries(st.sampled_from(FIELDS), SCALARS, max_size=6)
MANY_FIELD_EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "d": st.one_of(MANY_FIELDS, st.lists(MANY_FIELDS, max_size=3), SCALARS),
        **{f"d.{field}": SCALARS for field in FIELDS[:3]},
    },
)


@given(
    rules=st.lists(st.tuples(st.sampled_from(FIELDS), LEAVES), min_size=8, max_size=24),
    events=st.lists(MANY_FIELD_EVENTS, max_size=5),
)
def test_rules_on_many_fields_of_one_object_agree(
    rules: list[tuple[str, list[Any]]], events: list[dict[str, Any]]
) -> None:
    idx, live = indexed(*({"d": {field: leaf}} for field, leaf in rules))

    for event in events:
        check(idx, live, event)


def test_field_names_and_values_never_become_source_text() -> None:
    nasty = '"); raise SystemExit("injected") #'
    idx, live = indexed(
        {nasty: [nasty, {"prefix": nasty}], "a": {nasty: [{"anything-but": nasty}]}},
        {"'\\n": [{"suffix": "'''"}], "__import__('os')": [{"exists": True}]},
    )

    assert check(idx, live, {nasty: nasty, "a": {nasty: "x"}}) == [0]
    assert check(idx, live, {"'\\n": "x'''", "__import__('os')": 1}) == [1]


def test_arrays_scalars_and_objects_on_the_way_to_a_field() -> None:
    idx, live = indexed(
        {"data": {"c": {"t": ["gold"]}}},
        {"data": {"c": {"t": [{"exists": False}]}}},
        {"data": {"n": [{"numeric": [">", 1]}], "c": {"t": [{"prefix": "g"}]}}},
    )
    events: list[dict[str, Any]] = [
        {"data": "text data"},
        {"data": None},
        {"data": {"c": 5}},
        {"data": {"c": {"t": {"nested": "gold"}}}},
        {"data": {"c": {"t": "gold"}, "n": 2.5}},
        {"data": {"c": [{"t": "gold"}, {"t": "x"}], "n": 2}},
        {"data": [{"c": {"t": "gold"}, "n": 2}, {"n": 0}]},
        {"data": [{"c": {"t": "gold"}, "n": 0}, {"n": 2}]},
        {"data": {"c": {"t": ["x", "gold"]}, "n": [0, 3]}},
    ]

    found = [check(idx, live, event) for event in events]

    assert found == [[1], [1], [1], [1], [0, 2], [0, 2], [0, 2], [0], [0, 2]]


def test_numbers_match_by_value_and_booleans_stay_apart() -> None:
    idx, live = indexed(
        {"n": [300]},
        {"n": [1]},
        {"n": [True]},
        {"n": [{"numeric": ["=", 0]}]},
        {"n": [{"numeric": [">=", 1, "<=", 300]}]},
        {"n": [{"numeric": ["<", 1]}, {"numeric": [">", 299]}]},
        {"n": [{"anything-but": [7]}]},
    )

    assert check(idx, live, {"n": 3e2}) == [0, 4, 5, 6]
    assert check(idx, live, {"n": 1.0}) == [1, 4, 6]
    assert check(idx, live, {"n": True}) == [2, 6]
    assert check(idx, live, {"n": -0.0}) == [3, 5, 6]
    for value in ("1", None, math.nan, math.inf, -math.inf, False, 0.5, 7):
        check(idx, live, {"n": value})


def test_mappings_tuples_and_subclasses_in_events() -> None:
    class Tag(str):
        pass

    idx, live = indexed({"t": [{"prefix": "ab"}]}, {"t": ["abc"]}, {"t": [{"exists": True}]})

    assert check(idx, live, UserDict({"t": "abc"})) == [0, 1, 2]
    assert check(idx, live, {"t": Tag("abc")}) == [0, 1, 2]
    assert check(idx, live, {"t": ("x", "abc")}) == [0, 1, 2]
    assert check(idx, live, {"t": UserDict({"u": "abc"})}) == []


def test_clauses_of_hundreds_of_fields_match_without_deep_calls() -> None:
    deep = {f"f{i}": [i] for i in range(300)}
    idx, live = indexed(deep, {"f0": [0]})
    event = {f"f{i}": i for i in range(300)}

    assert check(idx, live, event) == [0, 1]
    assert check(idx, live, {**event, "f299": -1}) == [1]
    idx.remove(0)
    del live[0]
    assert check(idx, live, event) == [1]


def test_many_fields_of_one_object_are_found_by_its_keys() -> None:
    rules = [{"data": {f"f{i}": [f"v{i}"]}} for i in range(20)]
    rules.append({"data": {"f3": [{"exists": False}]}})
    idx, live = indexed(*rules)

    assert check(idx, live, {"data": {"f3": "v3", "f7": "v7", "f8": "x"}}) == [3, 7]
    assert check(idx, live, {"data": {"f5": "v5"}}) == [5, 20]
    assert check(idx, live, {"data.f5": "v5", "data": {"f6": "v6"}}) == [5, 6, 20]
    assert check(idx, live, {"data": [{"f1": "v1"}, {"f2": "v2"}]}) == [1, 2, 20]
    assert check(idx, live, {"data": UserDict({"f4": "v4"})}) == [4, 20]
    assert check(idx, live, {"data": {f"f{i}": f"v{i}" for i in range(40)}}) == list(range(20))
    assert check(idx, live, {"data": "f1"}) == [20]


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    ONE = 1


class Ratio(float):
    pass


@pytest.mark.parametrize(
    ("value", "plain_value"),
    [
        (Colour.RED, "red"),
        (Level.ONE, 1),
        (Ratio(2.5), 2.5),
        ([Colour.RED, "x"], ["red", "x"]),
        ({"n": Level.ONE}, {"n": 1}),
    ],
)
def test_enum_and_other_subclass_values_match_as_the_json_they_are(
    value: Any, plain_value: Any
) -> None:
    rules: list[Any] = [
        {"v": ["red"]},
        {"v": [{"prefix": "re"}]},
        {"v": [{"equals-ignore-case": "RED"}]},
        {"v": [{"anything-but": "blue"}]},
        {"v": [{"wildcard": "r*d"}]},
        {"v": [1]},
        {"v": [{"numeric": [">", 2]}]},
        {"v": [{"anything-but": [3]}]},
        {"v": {"n": [1]}},
        {"v": [{"exists": True}]},
    ]
    idx, live = indexed(*rules)

    expected = check(idx, live, {"v": plain_value})
    assert expected, "the plain value matches something"
    assert check(idx, live, {"v": value}) == expected


def test_enum_members_in_patterns_are_the_json_values_they_stand_for() -> None:
    with_enums: list[Any] = [
        {"v": [Colour.RED]},
        {"v": [{"prefix": Colour.RED}]},
        {"v": [{"suffix": Colour.RED}, {"wildcard": Colour.RED}]},
        {"v": [{"equals-ignore-case": Colour.RED}]},
        {"v": [{"anything-but": Colour.RED}]},
        {"v": [{"anything-but": [Colour.RED, "blue"]}]},
        {"v": [Level.ONE, {"numeric": [">", Level.ONE]}]},
        {"v": [{"anything-but": [Level.ONE]}]},
        {Colour.RED: {Colour.RED: [{"exists": True}]}},  # keys too
    ]
    idx, live = indexed(*with_enums)
    plain_idx, plain_live = indexed(*(json.loads(json.dumps(p)) for p in with_enums))

    for value in ("red", "RED", "redder", 1, 2, "x", Colour.RED, Level.ONE):
        event = {"v": value, "red": {"red": value}}
        expected = check(plain_idx, plain_live, event)
        assert check(idx, live, event) == expected
        assert len(expected) > 1
