"""RuleIndex: the contract the push runtime codes against."""

from __future__ import annotations

from typing import Any

import pytest

import eventbridge_sdk.patterns
from eventbridge_sdk import Event
from eventbridge_sdk.patterns import Pattern, RuleIndex, compile_pattern


def _index(**rules: dict[str, Any]) -> RuleIndex[str]:
    idx: RuleIndex[str] = RuleIndex()
    for key, pattern in rules.items():
        idx.add(key, compile_pattern(pattern))
    return idx


def test_match_returns_matching_keys_in_insertion_order() -> None:
    idx = _index(
        zeta={"type": ["order.paid"]},
        alpha={"source": ["shop"]},
        other={"source": ["warehouse"]},
        mid={"data": {"total": [{"numeric": [">", 10]}]}},
    )

    assert idx.match({"type": "order.paid", "source": "shop", "data": {"total": 11}}) == [
        "zeta",
        "alpha",
        "mid",
    ]


def test_a_rule_matching_through_several_or_branches_is_returned_once() -> None:
    idx = _index(r={"$or": [{"a": [1]}, {"b": [2]}]})

    assert idx.match({"a": 1, "b": 2}) == ["r"]


def test_add_replaces_the_pattern_and_keeps_the_position() -> None:
    idx = _index(first={"a": [1]}, second={"a": [1]})

    idx.add("first", compile_pattern({"a": [1], "b": [2]}))

    assert idx.match({"a": 1}) == ["second"]
    assert idx.match({"a": 1, "b": 2}) == ["first", "second"]
    assert len(idx) == 2


def test_remove_forgets_the_rule() -> None:
    idx = _index(r1={"a": [1]}, r2={"a": [1]})

    idx.remove("r1")

    assert idx.match({"a": 1}) == ["r2"]
    assert "r1" not in idx
    assert len(idx) == 1


def test_remove_of_an_unknown_key_raises_key_error() -> None:
    idx = _index(r1={"a": [1]})

    with pytest.raises(KeyError):
        idx.remove("nope")


def test_removing_every_rule_leaves_an_empty_index_that_matches_nothing() -> None:
    patterns = [{"a": [1]}, {"a": [{"prefix": "x"}], "b": [{"numeric": [">", 1]}]}, {}]
    idx: RuleIndex[int] = RuleIndex()
    for key, pattern in enumerate(patterns):
        idx.add(key, compile_pattern(pattern))

    for key in range(len(patterns)):
        idx.remove(key)

    assert idx.match({"a": 1, "b": 5}) == []
    assert len(idx) == 0
    assert list(idx) == []


def test_the_match_all_pattern_matches_every_event() -> None:
    idx = _index(all={}, some={"a": [1]})

    assert idx.match({}) == ["all"]
    assert idx.match({"a": 1}) == ["all", "some"]


def test_keys_of_any_hashable_type() -> None:
    idx: RuleIndex[tuple[str, str]] = RuleIndex()
    idx.add(("bus", "rule"), compile_pattern({"a": [1]}))

    assert ("bus", "rule") in idx
    assert idx.match({"a": 1}) == [("bus", "rule")]


def test_add_requires_a_compiled_pattern() -> None:
    idx: RuleIndex[str] = RuleIndex()

    with pytest.raises(TypeError, match="compile_pattern"):
        idx.add("r", {"a": [1]})  # type: ignore[arg-type]


def test_an_event_object_is_matched_on_its_structured_form() -> None:
    idx = _index(r={"type": ["order.created"], "tenant": ["t1"], "data": {"total": [12]}})
    event = Event(
        type="order.created", source="shop", data={"total": 12}, extensions={"tenant": "t1"}
    )

    assert idx.match(event) == ["r"]  # type: ignore[arg-type]
    assert compile_pattern({"source": ["shop"]}).matches(event)


def test_a_non_event_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="to_dict"):
        compile_pattern({}).matches(42)


def test_many_rules_sharing_fields_each_match_their_own_events() -> None:
    idx: RuleIndex[int] = RuleIndex()
    for i in range(500):
        idx.add(i, compile_pattern({"source": ["shop"], "type": [f"t{i}"]}))

    assert idx.match({"source": "shop", "type": "t321"}) == [321]
    assert idx.match({"source": "other", "type": "t321"}) == []


def test_pattern_source_equality_and_repr() -> None:
    pattern = compile_pattern({"b": [1], "a": {"c": [{"prefix": "x"}]}})

    assert pattern.source == {"b": [1], "a": {"c": [{"prefix": "x"}]}}
    assert pattern == compile_pattern('{"a": {"c": [{"prefix": "x"}]}, "b": [1]}')
    assert hash(pattern) == hash(compile_pattern({"a": {"c": [{"prefix": "x"}]}, "b": [1]}))
    assert repr(pattern) == 'Pattern({"a":{"c":[{"prefix":"x"}]},"b":[1]})'
    assert isinstance(pattern, Pattern)


def test_pattern_source_is_a_copy() -> None:
    pattern = compile_pattern({"a": [1]})

    pattern.source["a"].append(2)

    assert pattern.source == {"a": [1]}


def test_tuples_are_accepted_as_arrays_in_python_patterns() -> None:
    assert compile_pattern({"a": ("x", "y")}).matches({"a": "y"})


def test_exports_are_sorted_and_documented() -> None:
    exported = eventbridge_sdk.patterns.__all__

    assert exported == sorted(exported, key=str.lower)
    assert set(exported) == {
        "compile_pattern",
        "Explanation",
        "InvalidPatternError",
        "MAX_COMBINATIONS",
        "MAX_PATTERN_CHARS",
        "MAX_WILDCARD_COMPLEXITY",
        "Pattern",
        "RuleIndex",
    }
    for name in ("compile_pattern", "Explanation", "Pattern", "RuleIndex"):
        assert getattr(eventbridge_sdk.patterns, name).__doc__
