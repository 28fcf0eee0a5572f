"""The generated Python matcher and the native matcher of RuleIndex agree with the trie walker
and with Pattern.matches (the native one where the extension is built)."""

from __future__ import annotations

import enum
import json
import math
from collections import UserDict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pattern_strategies import patterns

from eventbridge_sdk.patterns import RuleIndex, _native, compile_pattern
from eventbridge_sdk.patterns._codegen import MAX_DEPTH, Fallback, build

KEYS = ["a", "b", "data"]
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
#: Events without arrays: the generated code decides them alone.
PLAIN_EVENTS = st.recursive(
    SCALARS,
    lambda inner: st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=12,
).filter(lambda event: isinstance(event, dict))
#: Events with arrays anywhere: the generated code hands some of them to the walker.
ANY_EVENTS = st.dictionaries(
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


def generated(idx: RuleIndex[int], event: dict[str, Any]) -> list[int] | None:
    """The keys the generated code finds, in insertion order; None when it hands over."""
    out: list[Any] = []
    try:
        build(idx._root, idx._paths)(event, out)
    except Fallback:
        return None
    return [rule.key for rule in sorted(dict.fromkeys(out), key=lambda rule: rule.order)]


def native(idx: RuleIndex[int], event: dict[str, Any]) -> list[int] | None:
    """The keys the native matcher finds; None when it hands over."""
    root = _native.build(idx._root, idx._paths, idx._path_id)
    return _native.match(root, event, len(idx._paths))


def check(idx: RuleIndex[int], live: dict[int, Any], event: dict[str, Any]) -> list[int] | None:
    """Assert that every engine agrees with Pattern.matches; what the generated code found, or
    None when it handed the event to the walker (the native matcher hands over alike)."""
    expected = [key for key, pattern in live.items() if pattern.matches(event)]
    assert idx._walk_match(event) == expected, "walker and Pattern.matches disagree"
    assert idx.match(event) == expected, "RuleIndex.match and Pattern.matches disagree"
    fast = generated(idx, event)
    assert fast is None or fast == expected, "generated code and Pattern.matches disagree"
    if _native.AVAILABLE:
        found = native(idx, event)
        assert found == fast, "the native and the generated matcher disagree"
    return fast


def indexed(patterns: list[dict[str, Any]]) -> tuple[dict[int, Any], RuleIndex[int]]:
    """The compiled patterns by key, and an index holding them all."""
    live = {key: compile_pattern(pattern) for key, pattern in enumerate(patterns)}
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in live.items():
        idx.add(key, pattern)
    return live, idx


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(PLAIN_EVENTS, max_size=5)
)
def test_generated_code_decides_every_event_without_arrays(
    patterns: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    live, idx = indexed(patterns)

    for event in events:
        assert check(idx, live, event) is not None, "an event without arrays was handed over"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(ANY_EVENTS, max_size=5))
def test_generated_code_agrees_or_hands_over_events_with_arrays(
    patterns: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    live, idx = indexed(patterns)

    for event in events:
        check(idx, live, event)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 5), st.one_of(st.none(), PATTERNS), PLAIN_EVENTS),
        min_size=1,
        max_size=12,
    )
)
def test_generated_code_follows_adds_removes_and_replacements_between_matches(
    steps: list[tuple[int, dict[str, Any] | None, dict[str, Any]]],
) -> None:
    idx: RuleIndex[int] = RuleIndex()
    live: dict[int, Any] = {}
    for key, pattern, event in steps:
        if pattern is None:
            if key in live:
                idx.remove(key)
                del live[key]
        else:
            live.setdefault(key, None)
            live[key] = compile_pattern(pattern)
            idx.add(key, live[key])
        assert check(idx, live, event) is not None


def _index(*patterns: Any) -> tuple[RuleIndex[int], dict[int, Any]]:
    live, idx = indexed(patterns)
    return idx, live


def test_field_names_and_values_never_become_source_text() -> None:
    nasty = '"); raise SystemExit("injected") #'
    idx, live = _index(
        {nasty: [nasty, {"prefix": nasty}], "a": {nasty: [{"anything-but": nasty}]}},
        {"'\\n": [{"suffix": "'''"}], "__import__('os')": [{"exists": True}]},
    )

    for event in ({nasty: nasty, "a": {nasty: "x"}}, {"'\\n": "x'''", "__import__('os')": 1}):
        assert check(idx, live, event) is not None
        assert idx.match(event) == ([0] if nasty in event else [1])


def test_arrays_scalars_and_objects_on_the_way_to_a_field() -> None:
    idx, live = _index(
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
        {"data": {"c": {"t": ["x", "gold"]}, "n": [0, 3]}},
    ]

    handed_over = [check(idx, live, event) is None for event in events]

    assert handed_over == [False] * 5 + [True] * 3


def test_numbers_match_by_value_and_booleans_stay_apart() -> None:
    idx, live = _index(
        {"n": [300]},
        {"n": [1]},
        {"n": [True]},
        {"n": [{"numeric": ["=", 0]}]},
        {"n": [{"numeric": [">=", 1, "<=", 300]}]},
        {"n": [{"numeric": ["<", 1]}, {"numeric": [">", 299]}]},
        {"n": [{"numeric": [">=", 7]}]},
        {"n": [{"numeric": ["<=", 7]}]},
        {"n": [{"anything-but": [7]}]},
    )

    values = (300, 300.0, 3e2, 1, 1.0, True, False, 0, -0.0, 0.5, "1", None, math.nan, math.inf)
    for value in (*values, -math.inf):
        assert check(idx, live, {"n": value}) is not None


def test_mapping_events_and_unusual_types_use_the_walker() -> None:
    class Tag(str):
        pass

    idx, live = _index({"t": [{"prefix": "ab"}]}, {"t": ["abc"]}, {"t": [{"exists": True}]})

    assert idx.match(UserDict({"t": "abc"})) == [0, 1, 2]
    assert generated(idx, {"t": Tag("abc")}) is None
    assert check(idx, live, {"t": ("abc",)}) is None


def test_clauses_deeper_than_generated_calls_nest_use_the_walker() -> None:
    deep = {f"f{i}": [i] for i in range(MAX_DEPTH + 1)}
    idx, live = _index(deep, {"f0": [0]})
    event = {f"f{i}": i for i in range(MAX_DEPTH + 1)}

    assert idx.match(event) == [0, 1]
    idx.remove(0)
    del live[0]
    assert check(idx, live, event) == [1]


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
    patterns: list[Any] = [
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
    idx, live = _index(*patterns)

    expected = [key for key, p in live.items() if p.matches({"v": plain_value})]
    assert expected, "the plain value matches something"
    assert idx.match({"v": value}) == expected
    assert check(idx, live, {"v": value}) is None  # handed to the walker, which agrees
    for key, p in live.items():
        assert p.explain({"v": value}).matched is (key in expected)


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
    idx, live = _index(*with_enums)
    plain_idx, plain_live = _index(*(json.loads(json.dumps(p)) for p in with_enums))

    for value in ("red", "RED", "redder", 1, 2, "x", Colour.RED, Level.ONE):
        event = {"v": value, "red": {"red": value}}
        expected = [key for key, p in plain_live.items() if p.matches(event)]
        assert [key for key, p in live.items() if p.matches(event)] == expected
        assert idx.match(event) == plain_idx.match(event) == expected
        assert len(expected) > 1
        check(idx, live, event)
