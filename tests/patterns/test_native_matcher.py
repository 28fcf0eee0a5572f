"""The native matcher: built where required, switchable, strict about its input, leak-free.

Its answers are checked against the other engines by the property tests of
test_generated_matcher.py and, through RuleIndex.match, by every other pattern test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from eventbridge_sdk.patterns import RuleIndex, _native, compile_pattern
from eventbridge_sdk.patterns._codegen import build

REQUIRED = os.environ.get("EVENTBRIDGE_REQUIRE_NATIVE") == "1"

native_only = pytest.mark.skipif(
    not _native.AVAILABLE,
    reason="the native pattern matcher (eventbridge_sdk.patterns._speedups) is not built here",
)


def test_native_matcher_is_built_where_required() -> None:
    if not REQUIRED:
        pytest.skip("EVENTBRIDGE_REQUIRE_NATIVE is not set: the pure-Python engine is allowed")
    assert _native.AVAILABLE, "EVENTBRIDGE_REQUIRE_NATIVE=1 but the C extension did not import"


def test_indexes_use_the_native_matcher_by_default_where_built() -> None:
    assert RuleIndex()._native is _native.ENABLED
    assert RuleIndex(native=False)._native is False


def test_asking_for_the_native_matcher_where_it_is_not_built_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_native, "AVAILABLE", False)

    with pytest.raises(ValueError, match=r"native matcher .* is not built"):
        RuleIndex(native=True)


@native_only
@pytest.mark.parametrize(
    ("value", "enabled"),
    [("0", False), ("off", False), (" False ", False), ("1", True), ("", True), (None, True)],
)
def test_the_environment_switches_the_native_matcher_off(value: str | None, enabled: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EVENTBRIDGE_NATIVE_PATTERNS"}
    if value is not None:
        env["EVENTBRIDGE_NATIVE_PATTERNS"] = value
    code = (
        "from eventbridge_sdk.patterns import RuleIndex, _native, compile_pattern\n"
        "idx = RuleIndex()\n"
        "idx.add('r', compile_pattern({'type': ['a']}))\n"
        "print(_native.ENABLED, idx._native, idx.match({'type': 'a'}))\n"
    )

    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout

    assert out.split() == [str(enabled), str(enabled), "['r']"]


@native_only
def test_both_engines_give_the_same_answers_on_a_bus_shaped_rule_set() -> None:
    rules: dict[str, Any] = {
        "orders": {"type": [{"prefix": "order."}], "source": ["shop"]},
        "big": {"data": {"total": [{"numeric": [">=", 100, "<", 1000]}]}},
        "vip": {"data": {"customer": {"tier": [{"anything-but": ["basic", "silver"]}]}}},
        "eu": {"data": {"customer": {"country": ["DE", "FR"]}}, "type": ["order.paid"]},
        "odd": {"data": {"total": [{"anything-but": [1, 2.5]}]}},
        "ip": {"data": {"ip": [{"cidr": "10.0.0.0/8"}]}},
        "any": {"$or": [{"type": [{"wildcard": "*.failed"}]}, {"source": [{"suffix": "-test"}]}]},
        "ic": {"source": [{"equals-ignore-case": "SHOP"}], "data": {"flag": [True]}},
        "none": {"data": {"note": [None]}, "type": [{"exists": True}]},
    }
    engines: list[RuleIndex[str]] = [RuleIndex(native=False), RuleIndex(native=True)]
    for idx in engines:
        for key, pattern in rules.items():
            idx.add(key, compile_pattern(pattern))
    events: list[dict[str, Any]] = [
        {"type": "order.paid", "source": "shop", "data": {"total": 250, "flag": True}},
        {"type": "order.failed", "source": "SHOP", "data": {"total": 2.5, "flag": True}},
        {"type": "x", "source": "a-test", "data": {"customer": {"tier": "gold"}, "note": None}},
        {"type": "order.paid", "data": {"customer": {"country": "FR", "tier": "basic"}}},
        {"type": "y", "data": {"ip": "10.1.2.3", "total": True}},
        {"type": "y", "data": {"ip": "11.1.2.3", "total": 1000.0}},
        {"type": "y", "data": "not an object"},
        {"type": "order.paid", "source": "shop", "data": {"total": [5, 150]}},  # walker
    ]

    for event in events:
        expected = [key for key, p in rules.items() if compile_pattern(p).matches(event)]
        assert [idx.match(event) for idx in engines] == [expected, expected], event


@native_only
def test_many_paths_are_cached_past_the_stack() -> None:
    idx: RuleIndex[int] = RuleIndex(native=True)
    for i in range(80):  # more paths than the C stack cache holds
        idx.add(i, compile_pattern({"data": {f"f{i}": [i], "g": {f"h{i}": [{"exists": False}]}}}))
    event = {"data": {f"f{i}": i for i in range(0, 80, 3)}}

    assert idx.match(event) == list(range(0, 80, 3))


@native_only
def test_matching_keeps_no_references_to_the_event_or_the_keys() -> None:
    key = ("rule", "key")
    idx: RuleIndex[tuple[str, str]] = RuleIndex(native=True)
    idx.add(key, compile_pattern({"data": {"a": [{"prefix": "x"}], "b": [{"numeric": [">", 1]}]}}))
    idx.add(("other",), compile_pattern({"data": {"a": [{"anything-but": "y"}]}}))
    value = "".join(["x", "yz"])  # not interned: its count is the event's alone
    event = {"data": {"a": value, "b": 5}}
    idx.match(event)  # builds the snapshot
    before = sys.getrefcount(event), sys.getrefcount(value), sys.getrefcount(key)

    for _ in range(1000):
        assert idx.match(event) == [key, ("other",)]
        assert idx.match({"data": [event]}) == []  # handed over to the walker

    assert (sys.getrefcount(event), sys.getrefcount(value), sys.getrefcount(key)) == before


@native_only
def test_exceptions_from_predicates_propagate() -> None:
    class Boom(Exception):
        pass

    def explode(value: Any) -> bool:
        raise Boom(value)

    _speedups = pytest.importorskip("eventbridge_sdk.patterns._speedups")
    leaf = _speedups.Node(((0, "hit"),), ())
    tests = ((0, explode, (leaf,)),)
    edge = (("a",), (0,), *([None] * 12), tests, None, None, False)
    root = _speedups.Node((), (edge,))

    assert _speedups.match(root, {"b": 1}, 1) == []
    with pytest.raises(Boom, match="1"):
        _speedups.match(root, {"a": 1}, 1)


def _edge(**slots: Any) -> tuple[Any, ...]:
    names = [
        "path",
        "ids",
        "exact",
        "bools",
        "prefix",
        "suffix",
        "ic",
        "prefix_ic",
        "suffix_ic",
        "equal",
        "below",
        "below_eq",
        "above",
        "above_eq",
        "tests",
        "present",
        "absent",
        "dedupe",
    ]
    values: dict[str, Any] = {"path": ("a",), "ids": (0,), "dedupe": False} | slots
    return tuple(values.get(name) for name in names)


@native_only
@pytest.mark.parametrize(
    ("rules", "edges", "message"),
    [
        ((("x", 1),), (), "rules must be a tuple of"),
        ((), ("not an edge",), "an edge must be a tuple of 18 items"),
        ((), (_edge(path=()),), "non-empty path"),
        ((), (_edge(ids=(0, 1)),), "one path id per key"),
        ((), (_edge(ids=(-1,)),), "path id must be an int"),
        ((), (_edge(path=(1,)),), "tuple of str"),
        ((), (_edge(exact=[]),), "exact must be a dict"),
        ((), (_edge(exact={"x": ("no node",)}),), "exact must be a tuple of Node"),
        ((), (_edge(exact={"x": None}),), "exact must map to tuples of Node"),
        ((), (_edge(prefix=((2, {"abc": ()}),)),), "not a str of its table's length"),
        ((), (_edge(prefix=((-1, {}),)),), "must not be negative"),
        ((), (_edge(suffix=(("2", {}),)),), "tuple of \\(length, dict\\)"),
        ((), (_edge(below=((1, 2), ())),), "bounds, nodes\\) of equal length"),
        ((), (_edge(tests=((9, None, ()),)),), "test of kind 9 has a malformed operand"),
        ((), (_edge(tests=((1, {"x"}, ()),)),), "test of kind 1 has a malformed operand"),
        ((), (_edge(tests=((3, (1, 1, 2, True), ()),)),), "kind 3 has a malformed"),
        ((), (_edge(present=("x",)),), "present must be a tuple of Node"),
        ((), (_edge(dedupe=1),), "dedupe flag must be a bool"),
    ],
)
def test_malformed_snapshots_are_refused_with_a_clear_error(
    rules: Any, edges: Any, message: str
) -> None:
    _speedups = pytest.importorskip("eventbridge_sdk.patterns._speedups")

    with pytest.raises((TypeError, ValueError), match=message):
        _speedups.Node(rules, edges)


@native_only
def test_match_checks_its_arguments() -> None:
    _speedups = pytest.importorskip("eventbridge_sdk.patterns._speedups")
    root = _speedups.Node((), (_edge(ids=(3,)),))

    with pytest.raises(TypeError, match="match\\(root: Node, event: dict"):
        _speedups.match("root", {}, 1)
    with pytest.raises(TypeError, match="match\\(root: Node, event: dict"):
        _speedups.match(root, [], 1)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        _speedups.match(root, {})
    with pytest.raises(ValueError, match="path id is out of range"):
        _speedups.match(root, {"a": 1}, 2)


@native_only
@pytest.mark.parametrize(("dedupe", "visits"), [(True, 1), (False, 2)])
def test_a_step_visits_a_node_once_however_many_of_its_conditions_hold(
    dedupe: bool, visits: int
) -> None:
    _speedups = pytest.importorskip("eventbridge_sdk.patterns._speedups")
    calls: list[Any] = []
    counter = _edge(path=("b",), ids=(1,), tests=((0, lambda v: calls.append(v), ()),))
    child = _speedups.Node(((0, "rule"),), (counter,))
    # "x" reaches the child both as an exact value and as a one-letter prefix.
    root = _speedups.Node(
        (), (_edge(exact={"x": (child,)}, prefix=((1, {"x": (child,)}),), dedupe=dedupe),)
    )

    assert _speedups.match(root, {"a": "x", "b": 1}, 2) == ["rule"]
    assert len(calls) == visits


def test_overlapping_conditions_of_one_leaf_do_not_multiply_the_walk() -> None:
    # Each leaf holds four ways for "ab": walked per combination, 12 leaves would be 4**12.
    leaf = [{"prefix": "a"}, {"prefix": "ab"}, {"suffix": "b"}, {"equals-ignore-case": "AB"}]
    pattern = compile_pattern({f"k{i}": leaf for i in range(12)})
    event = {f"k{i}": "ab" for i in range(12)}
    for native in (False, True) if _native.AVAILABLE else (False,):
        idx: RuleIndex[str] = RuleIndex(native=native)
        idx.add("r", pattern)
        assert idx.match(event) == ["r"]
    assert idx._root.repeating() == {path_id for path_id, _ in idx._root.edge_list}
    out: list[Any] = []
    build(idx._root, idx._paths)(event, out)
    assert len(out) == 1, "the generated code reached the rule more than once"


def test_numbers_beyond_double_precision_compare_exactly_in_every_engine() -> None:
    bounds: list[Any] = [0, 1.5, 2**53, 2**53 + 1, -(2**60), 2**60, 5e9]
    patterns: dict[str, Any] = {
        f"{op}{bound}": {"n": [{"numeric": [op, bound]}]}
        for op in ("<", "<=", ">", ">=", "=")
        for bound in bounds
    }
    for low, high in [(0, 1.5), (2**53, 2**53 + 2), (-(2**60), 2**60), (1, 5e9)]:
        patterns[f"({low}, {high}]"] = {"n": [{"numeric": [">", low, "<=", high]}]}
    values: list[Any] = [0, 1, 1.5, -0.0, 2**53, 2**53 + 1, 2**53 + 2, float(2**53)]
    values += [2.0**53 + 2, -(2**60), 2**60, 2**61, 1e300, -1e300, 5e9, 4999999999.999999, 10**30]
    compiled = {key: compile_pattern(p) for key, p in patterns.items()}
    for native in (False, True) if _native.AVAILABLE else (False,):
        idx: RuleIndex[str] = RuleIndex(native=native)
        for key, pattern in compiled.items():
            idx.add(key, pattern)
        for value in values:
            expected = [key for key, p in compiled.items() if p.matches({"n": value})]
            assert idx.match({"n": value}) == expected, (native, value)


@native_only
def test_exact_tables_mixing_strings_numbers_and_null_keep_json_types_apart() -> None:
    idx: RuleIndex[str] = RuleIndex(native=True)
    idx.add("text", compile_pattern({"v": ["1", "true", "null", "é", "日本"]}))
    idx.add("number", compile_pattern({"v": [1, 2.5]}))
    idx.add("bool", compile_pattern({"v": [True]}))
    idx.add("null", compile_pattern({"v": [None]}))
    cases: list[tuple[Any, list[str]]] = [
        ("1", ["text"]),
        (1, ["number"]),
        (1.0, ["number"]),
        (True, ["bool"]),
        ("true", ["text"]),
        (None, ["null"]),
        ("null", ["text"]),
        ("é", ["text"]),
        ("日本", ["text"]),
        ("日", []),
        (2.5, ["number"]),
        ("2.5", []),
    ]

    for value, expected in cases:
        assert idx.match({"v": value}) == expected, value


@native_only
def test_a_table_with_a_str_subclass_key_is_looked_up_in_its_dict() -> None:
    _speedups = pytest.importorskip("eventbridge_sdk.patterns._speedups")

    class Tag(str):
        pass

    hit = _speedups.Node(((0, "hit"),), ())
    other = _speedups.Node(((1, "other"),), ())
    root = _speedups.Node((), (_edge(exact={Tag("x"): (hit,), "y": (other,), 3: (other,)}),))

    assert _speedups.match(root, {"a": "x"}, 1) == ["hit"]
    assert _speedups.match(root, {"a": "y"}, 1) == ["other"]
    assert _speedups.match(root, {"a": 3}, 1) == ["other"]
    assert _speedups.match(root, {"a": "z"}, 1) == []


@native_only
def test_large_exact_tables_find_every_key_and_nothing_else() -> None:
    idx: RuleIndex[int] = RuleIndex(native=True)
    for i in range(5000):
        idx.add(i, compile_pattern({"type": [f"t{i}", f"u{i}é"]}))

    assert all(idx.match({"type": f"t{i}"}) == [i] for i in range(5000))
    assert all(idx.match({"type": f"u{i}é"}) == [i] for i in range(0, 5000, 7))
    assert idx.match({"type": "t5000"}) == []
    assert idx.match({"type": "".join(["t", "1"])}) == [1]  # equal text, another object


@native_only
def test_paths_longer_than_the_inline_keys_and_many_rules_found_out_of_order() -> None:
    engines: list[RuleIndex[int]] = [RuleIndex(native=True), RuleIndex(native=False)]
    deep = {"a": {"b": {"c": {"d": {"e": ["x"]}}}}}
    for idx in engines:
        for i in range(40):
            idx.add(i, compile_pattern(deep if i % 2 else {"a": {"b": {"c": {"f": [i]}}}}))
        for i in range(0, 40, 4):  # re-added rules come last, whatever their key
            idx.remove(i)
            idx.add(i, compile_pattern({"$or": [deep, {"a": {"b": {"c": {"f": [-1]}}}}]}))
    event = {"a": {"b": {"c": {"d": {"e": "x"}, "f": -1}}}}

    expected = [i for i in range(40) if i % 2] + list(range(0, 40, 4))
    assert [idx.match(event) for idx in engines] == [expected, expected]


@native_only
def test_entries_of_equal_order_reached_twice_come_back_once_each() -> None:
    _speedups = pytest.importorskip("eventbridge_sdk.patterns._speedups")
    twice = _speedups.Node(((1, "a"), (1, "b")), ())  # only a hand-made snapshot shares orders
    root = _speedups.Node(
        (),
        (
            _edge(path=("p",), ids=(0,), exact={"x": (twice,)}),
            _edge(path=("q",), ids=(1,), exact={"x": (twice,)}),
        ),
    )

    found = _speedups.match(root, {"p": "x", "q": "x"}, 2)

    assert sorted(found) == ["a", "b"]


@pytest.mark.parametrize("native", [False, pytest.param(True, marks=native_only)])
def test_building_a_node_looks_at_its_children_once_however_many_paths_it_reads(
    native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventbridge_sdk.patterns._trie import Node

    calls: list[Node] = []
    repeating = Node.repeating

    def counted(node: Node) -> frozenset[int]:
        calls.append(node)
        return repeating(node)

    monkeypatch.setattr(Node, "repeating", counted)
    idx: RuleIndex[int] = RuleIndex(native=native)
    for i in range(200):  # 200 paths at the root, one child on each
        idx.add(i, compile_pattern({"data": {f"f{i}": [i]}}))

    assert idx.match({"data": {"f3": 3}}) == [3]
    assert len(calls) == 201  # the root and its 200 children, each once
    assert len(set(map(id, calls))) == 201
