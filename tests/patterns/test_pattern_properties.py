"""Property tests: the rule index, the single-pattern matcher and explain() always agree.

The number of examples comes from the hypothesis profile (tests/conftest.py): a quick one by
default, a deeper one under ``HYPOTHESIS_PROFILE=ci``. Field names include a dotted key, so
that nested and dotted spellings of one field meet in patterns and events alike.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pattern_strategies import patterns

from eventbridge_sdk.patterns import RuleIndex, compile_pattern

KEYS = ["a", "b", "c", "a.b"]
SCALARS: list[Any] = ["x", "xy", "Xy", "yx", "", "10.1.2.3", 0, 1, 1.0, 2.5, -3, True, False, None]

MATCH_VALUES = st.sampled_from(
    [
        "x",
        "xy",
        "",
        1,
        2.5,
        0,
        True,
        False,
        None,
        {"prefix": "x"},
        {"prefix": ""},
        {"suffix": "y"},
        {"prefix": {"equals-ignore-case": "X"}},
        {"suffix": {"equals-ignore-case": "Y"}},
        {"equals-ignore-case": "XY"},
        {"wildcard": "x*"},
        {"wildcard": "*y*"},
        {"anything-but": "x"},
        {"anything-but": [1, 2.5]},
        {"anything-but": {"prefix": "x"}},
        {"anything-but": {"suffix": ["y", "x"]}},
        {"anything-but": {"equals-ignore-case": "xy"}},
        {"anything-but": {"wildcard": "*y"}},
        {"numeric": [">", 0]},
        {"numeric": ["<=", 1]},
        {"numeric": ["=", 1]},
        {"numeric": [">=", -3, "<", 2.5]},
        {"exists": True},
        {"exists": False},
        {"cidr": "10.0.0.0/8"},
    ]
)
LEAVES = st.lists(MATCH_VALUES, min_size=1, max_size=3)


PATTERNS = patterns(LEAVES, KEYS)

EVENT_SCALARS = st.sampled_from(SCALARS)
EVENT_VALUES = st.recursive(
    EVENT_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=10,
)
ELEMENTS = st.dictionaries(
    st.sampled_from(KEYS), st.one_of(EVENT_SCALARS, st.lists(EVENT_SCALARS, max_size=2)), max_size=3
)
# Arrays of objects are where array consistency matters: give them their own share of events.
ARRAYS_OF_OBJECTS = st.dictionaries(
    st.sampled_from(KEYS),
    st.one_of(st.lists(ELEMENTS, min_size=2, max_size=3), EVENT_SCALARS),
    min_size=1,
    max_size=3,
)
EVENTS = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), EVENT_VALUES, max_size=3), ARRAYS_OF_OBJECTS
)


@given(patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(EVENTS, max_size=5))
def test_index_returns_exactly_the_rules_whose_pattern_matches(
    patterns: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    compiled = [compile_pattern(p) for p in patterns]
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in enumerate(compiled):
        idx.add(key, pattern)

    for event in events:
        expected = [key for key, pattern in enumerate(compiled) if pattern.matches(event)]
        assert idx.match(event) == expected


@given(patterns=st.lists(PATTERNS, min_size=2, max_size=8), event=EVENTS, data=st.data())
def test_index_stays_exact_after_removing_and_replacing_rules(
    patterns: list[dict[str, Any]], event: dict[str, Any], data: st.DataObject
) -> None:
    idx: RuleIndex[int] = RuleIndex()
    live = {}
    for key, pattern in enumerate(patterns):
        idx.add(key, compile_pattern(pattern))
        live[key] = compile_pattern(pattern)
    for key in data.draw(st.sets(st.sampled_from(sorted(live)))):
        idx.remove(key)
        del live[key]
    replaced = data.draw(st.lists(st.tuples(st.integers(0, 9), PATTERNS), max_size=3))
    for key, pattern in replaced:
        if key not in live:
            live[key] = compile_pattern(pattern)  # new keys go last, like a dict
        live[key] = compile_pattern(pattern)
        idx.add(key, live[key])

    assert idx.match(event) == [key for key, p in live.items() if p.matches(event)]
    assert len(idx) == len(live)


@given(pattern=PATTERNS, event=EVENTS)
def test_explain_agrees_with_matches(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    compiled = compile_pattern(pattern)

    explanation = compiled.explain(event)

    assert explanation.matched == compiled.matches(event)
    assert str(explanation).startswith("match" if explanation.matched else "no match")


@given(pattern=PATTERNS)
def test_json_text_and_mapping_compile_to_equal_patterns(pattern: dict[str, Any]) -> None:
    import json

    assert compile_pattern(json.dumps(pattern)) == compile_pattern(pattern)
    assert compile_pattern(pattern).source == pattern


NUMBERS = st.one_of(st.integers(-5, 5), st.sampled_from([-2.5, -0.5, 0.0, 0.5, 2.5, 1e300]))
NUMERIC_CONDITIONS = st.one_of(
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), NUMBERS).map(list),
    st.tuples(st.sampled_from([">", ">="]), NUMBERS, st.sampled_from(["<", "<="]), NUMBERS)
    .filter(lambda c: c[1] < c[3])
    .map(list),
)


@given(
    conditions=st.lists(NUMERIC_CONDITIONS, min_size=1, max_size=30),
    values=st.lists(st.one_of(NUMBERS, st.just("1"), st.just(True)), min_size=1, max_size=10),
    removed=st.sets(st.integers(0, 29)),
)
def test_index_agrees_on_numeric_bounds_at_and_around_their_edges(
    conditions: list[list[Any]], values: list[Any], removed: set[int]
) -> None:
    patterns = {i: compile_pattern({"n": [{"numeric": c}]}) for i, c in enumerate(conditions)}
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in patterns.items():
        idx.add(key, pattern)
    for key in removed & set(patterns):
        idx.remove(key)
        del patterns[key]

    for value in values:
        event = {"n": value}
        assert idx.match(event) == [k for k, p in patterns.items() if p.matches(event)]


# Bus-shaped rule sets: many rules sharing the same few fields (top-level attributes and nested
# data fields, some inside arrays of objects), each field holding a mix of operators, so that
# rules share index nodes and a node holds exact values, prefixes, numeric bounds and
# anything-but lists side by side.
WORDS = ["a", "ab", "abc", "b", "ba"]
FIELD_VALUES = st.one_of(
    st.sampled_from(WORDS),
    st.builds(lambda w: {"prefix": w}, st.sampled_from(WORDS)),
    st.builds(lambda w: {"anything-but": w}, st.lists(st.sampled_from(WORDS), min_size=1)),
    st.builds(lambda n: {"numeric": [">=", n, "<", n + 2]}, st.integers(-2, 4)),
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from(["<", ">=", "="]), NUMBERS),
    st.integers(-2, 4),
)
BUS_FIELDS = {
    "type": st.lists(FIELD_VALUES, min_size=1, max_size=3),
    "source": st.lists(FIELD_VALUES, min_size=1, max_size=2),
}
BUS_DATA = st.fixed_dictionaries(
    {},
    optional={
        "amount": st.lists(FIELD_VALUES, min_size=1, max_size=2),
        "customer": st.fixed_dictionaries({"tier": st.lists(FIELD_VALUES, min_size=1, max_size=2)}),
        "items": st.fixed_dictionaries(
            {"sku": st.lists(FIELD_VALUES, min_size=1, max_size=2)},
            optional={"qty": st.lists(FIELD_VALUES, min_size=1, max_size=2)},
        ),
    },
)
BUS_RULES = st.fixed_dictionaries({}, optional={**BUS_FIELDS, "data": BUS_DATA}).filter(
    lambda rule: rule != {} and rule.get("data") != {}
)
BUS_SCALARS = st.one_of(st.sampled_from(WORDS), NUMBERS, st.sampled_from([True, None]))
BUS_EVENTS = st.fixed_dictionaries(
    {"type": BUS_SCALARS, "source": BUS_SCALARS},
    optional={
        "data": st.fixed_dictionaries(
            {},
            optional={
                "amount": st.one_of(BUS_SCALARS, st.lists(BUS_SCALARS, max_size=2)),
                "customer": st.fixed_dictionaries({}, optional={"tier": BUS_SCALARS}),
                "items": st.lists(
                    st.fixed_dictionaries({"sku": BUS_SCALARS}, optional={"qty": BUS_SCALARS}),
                    max_size=3,
                ),
            },
        )
    },
)


@given(rules=st.lists(BUS_RULES, min_size=5, max_size=40), events=st.lists(BUS_EVENTS, max_size=8))
def test_index_agrees_on_bus_shaped_rule_sets_with_shared_fields(
    rules: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    compiled = [compile_pattern(rule) for rule in rules]
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in enumerate(compiled):
        idx.add(key, pattern)

    for event in events:
        assert idx.match(event) == [k for k, p in enumerate(compiled) if p.matches(event)]
