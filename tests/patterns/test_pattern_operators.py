"""Every operator, table-driven, with the edge cases AWS EventBridge documents or was seen to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Check = Callable[[Any, dict[str, Any]], bool]
MISSING = object()

# (id, match value, event value or MISSING, matches)
CASES: list[tuple[str, Any, Any, bool]] = [
    # prefix
    ("prefix hit", {"prefix": "ord"}, "order", True),
    ("prefix miss", {"prefix": "ord"}, "border", False),
    ("prefix is case sensitive", {"prefix": "Ord"}, "order", False),
    ("prefix never matches a number", {"prefix": "1"}, 123, False),
    ("empty prefix matches any string", {"prefix": ""}, "x", True),
    ("empty prefix does not match a number", {"prefix": ""}, 5, False),
    ("prefix ignore case", {"prefix": {"equals-ignore-case": "ORD"}}, "oRder", True),
    ("prefix ignore case miss", {"prefix": {"equals-ignore-case": "ORD"}}, "bord", False),
    ("prefix on array element", {"prefix": "b"}, ["a", "bc"], True),
    ("prefix on missing field", {"prefix": ""}, MISSING, False),
    # suffix
    ("suffix hit", {"suffix": ".png"}, "a.png", True),
    ("suffix miss", {"suffix": ".png"}, "a.PNG", False),
    ("suffix ignore case", {"suffix": {"equals-ignore-case": ".png"}}, "image.PNG", True),
    ("suffix ignore case miss", {"suffix": {"equals-ignore-case": ".png"}}, "image.jpg", False),
    ("suffix never matches a number", {"suffix": "5"}, 15, False),
    ("suffix longer than value", {"suffix": "xabc"}, "abc", False),
    # equals-ignore-case
    ("equals-ignore-case hit", {"equals-ignore-case": "ALICE"}, "alice", True),
    ("equals-ignore-case miss", {"equals-ignore-case": "ALICE"}, "alicia", False),
    ("equals-ignore-case empty matches only empty", {"equals-ignore-case": ""}, "", True),
    ("equals-ignore-case empty vs text", {"equals-ignore-case": ""}, "a", False),
    ("equals-ignore-case not a number", {"equals-ignore-case": "1"}, 1, False),
    # wildcard
    ("wildcard star", {"wildcard": "dir/*.png"}, "dir/a/b.png", True),
    ("wildcard star matches empty", {"wildcard": "a*b"}, "ab", True),
    ("wildcard miss", {"wildcard": "dir/*.png"}, "dir/a.jpg", False),
    ("wildcard several stars", {"wildcard": "*a*b*"}, "xxaYYbzz", True),
    ("wildcard several stars order", {"wildcard": "*a*b*"}, "xxbYYazz", False),
    ("wildcard overlapping head and tail", {"wildcard": "ab*ba"}, "aba", False),
    ("wildcard no star is exact", {"wildcard": "abc"}, "abc", True),
    ("wildcard no star is not prefix", {"wildcard": "abc"}, "abcd", False),
    ("wildcard empty matches only empty", {"wildcard": ""}, "", True),
    ("wildcard empty vs text", {"wildcard": ""}, "a", False),
    ("wildcard escaped star is literal", {"wildcard": "a\\*b"}, "a*b", True),
    ("wildcard escaped star is not a wildcard", {"wildcard": "a\\*b"}, "axxb", False),
    ("wildcard escaped backslash", {"wildcard": "a\\\\*"}, "a\\bc", True),
    ("wildcard escaped star then star", {"wildcard": "\\**"}, "*anything", True),
    ("wildcard not a number", {"wildcard": "*"}, 5, False),
    ("wildcard lone star", {"wildcard": "*"}, "", True),
    # anything-but
    ("anything-but string", {"anything-but": "x"}, "y", True),
    ("anything-but string equal", {"anything-but": "x"}, "x", False),
    ("anything-but list of strings", {"anything-but": ["a", "b"]}, "b", False),
    ("anything-but list of strings other", {"anything-but": ["a", "b"]}, "c", True),
    ("anything-but number", {"anything-but": 5}, 5.0, False),
    ("anything-but number other", {"anything-but": 5}, 6, True),
    ("anything-but numbers", {"anything-but": [100, 500]}, 500, False),
    ("anything-but numbers vs string", {"anything-but": [5]}, "5", True),
    ("anything-but strings vs number", {"anything-but": ["5"]}, 5, True),
    ("anything-but numbers vs true", {"anything-but": [1]}, True, True),
    ("anything-but missing field", {"anything-but": "x"}, MISSING, False),
    ("anything-but null matches", {"anything-but": "x"}, None, True),
    ("anything-but array any element", {"anything-but": [100, 500]}, [100, 50], True),
    ("anything-but array all excluded", {"anything-but": [100, 500]}, [100, 500], False),
    ("anything-but object value", {"anything-but": "x"}, {"a": 1}, False),
    ("anything-but prefix", {"anything-but": {"prefix": "init"}}, "running", True),
    ("anything-but prefix excluded", {"anything-but": {"prefix": "init"}}, "initial", False),
    ("anything-but prefix list", {"anything-but": {"prefix": ["a", "b"]}}, "bc", False),
    ("anything-but prefix number", {"anything-but": {"prefix": "1"}}, 12, True),
    ("anything-but prefix null", {"anything-but": {"prefix": "x"}}, None, True),
    ("anything-but suffix", {"anything-but": {"suffix": ".tmp"}}, "a.txt", True),
    ("anything-but suffix excluded", {"anything-but": {"suffix": ".tmp"}}, "a.tmp", False),
    ("anything-but ignore case", {"anything-but": {"equals-ignore-case": ["A", "b"]}}, "B", False),
    ("anything-but ignore case other", {"anything-but": {"equals-ignore-case": "A"}}, "c", True),
    ("anything-but wildcard", {"anything-but": {"wildcard": "*/lib/*"}}, "a/lib/b", False),
    ("anything-but wildcard other", {"anything-but": {"wildcard": "*/lib/*"}}, "a/src/b", True),
    ("anything-but wildcard number", {"anything-but": {"wildcard": "1*"}}, 12, True),
    ("anything-but wildcard empty", {"anything-but": {"wildcard": ""}}, "", False),
    ("anything-but wildcard empty other", {"anything-but": {"wildcard": ""}}, "x", True),
    # numeric
    ("numeric >", {"numeric": [">", 0]}, 0.001, True),
    ("numeric > boundary", {"numeric": [">", 0]}, 0, False),
    ("numeric >=", {"numeric": [">=", 0]}, 0, True),
    ("numeric <", {"numeric": ["<", 10]}, 9.99, True),
    ("numeric < boundary", {"numeric": ["<", 10]}, 10, False),
    ("numeric <=", {"numeric": ["<=", 10]}, 10, True),
    ("numeric =", {"numeric": ["=", 300]}, 300.0, True),
    ("numeric = 3e2", {"numeric": ["=", 3e2]}, 300, True),
    ("numeric = miss", {"numeric": ["=", 300]}, 301, False),
    ("numeric range inside", {"numeric": [">", 0, "<=", 5]}, 5, True),
    ("numeric range low edge", {"numeric": [">", 0, "<=", 5]}, 0, False),
    ("numeric range closed", {"numeric": [">=", 0, "<", 5]}, 0, True),
    ("numeric range high edge", {"numeric": [">=", 0, "<", 5]}, 5, False),
    ("numeric negative", {"numeric": ["<", -1e9]}, -5e9, True),
    ("numeric large doubles", {"numeric": [">", 1e300]}, 1e301, True),
    ("numeric string never", {"numeric": [">", 0]}, "300", False),
    ("numeric bool never", {"numeric": [">", 0]}, True, False),
    ("numeric null never", {"numeric": [">", 0]}, None, False),
    ("numeric array element", {"numeric": [">", 10]}, [1, 20], True),
    ("numeric missing", {"numeric": [">", 10]}, MISSING, False),
    # exists
    ("exists true present", {"exists": True}, "x", True),
    ("exists true null counts", {"exists": True}, None, True),
    ("exists true empty string counts", {"exists": True}, "", True),
    ("exists true missing", {"exists": True}, MISSING, False),
    ("exists true empty array", {"exists": True}, [], False),
    ("exists true object", {"exists": True}, {"a": 1}, False),
    ("exists true array of objects", {"exists": True}, [{"a": 1}], False),
    ("exists false missing", {"exists": False}, MISSING, True),
    ("exists false present", {"exists": False}, "x", False),
    ("exists false null is present", {"exists": False}, None, False),
    ("exists false empty array", {"exists": False}, [], True),
    ("exists false object", {"exists": False}, {"a": 1}, True),
    # cidr
    ("cidr v4 inside", {"cidr": "10.0.0.0/24"}, "10.0.0.255", True),
    ("cidr v4 network address", {"cidr": "10.0.0.0/24"}, "10.0.0.0", True),
    ("cidr v4 outside", {"cidr": "10.0.0.0/24"}, "10.0.1.0", False),
    ("cidr v4 /0", {"cidr": "0.0.0.0/0"}, "203.0.113.9", True),
    ("cidr host bits: from the address up", {"cidr": "10.0.0.5/24"}, "10.0.0.4", False),
    ("cidr host bits: top of network", {"cidr": "10.0.0.5/24"}, "10.0.0.200", True),
    ("cidr not an ip", {"cidr": "10.0.0.0/24"}, "hello", False),
    ("cidr number", {"cidr": "10.0.0.0/24"}, 10, False),
    ("cidr v6 inside", {"cidr": "2001:db8::/32"}, "2001:db8:0:0:0:0:0:1", True),
    ("cidr v6 compressed", {"cidr": "2001:0db8:0000::/48"}, "2001:db8::ff", True),
    ("cidr v6 outside", {"cidr": "2001:db8::/32"}, "2001:db9::1", False),
    ("cidr v4 never matches v6", {"cidr": "0.0.0.0/0"}, "::1", False),
    ("cidr in an array", {"cidr": "192.168.0.0/16"}, ["10.0.0.1", "192.168.3.4"], True),
]


@pytest.mark.parametrize(
    ("match_value", "value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_operator(decide: Check, match_value: Any, value: Any, expected: bool) -> None:
    event = {"other": 1} if value is MISSING else {"field": value}

    assert decide({"field": [match_value]}, event) is expected


NESTED_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    (
        "exists false with a missing parent",
        {"a": {"b": {"c": [{"exists": False}]}}},
        {"x": 1},
        True,
    ),
    ("exists false with a scalar parent", {"a": {"b": [{"exists": False}]}}, {"a": 5}, True),
    ("exists true with a missing parent", {"a": {"b": [{"exists": True}]}}, {}, False),
    (
        "exists false looks at every array element",
        {"a": {"b": [{"exists": False}]}},
        {"a": [{"c": 1}, {"b": 1}]},
        False,
    ),
    (
        "exists false with no element having it",
        {"a": {"b": [{"exists": False}]}},
        {"a": [{"c": 1}]},
        True,
    ),
    ("exists false or a value: absent", {"a": [{"exists": False}, "x"]}, {}, True),
    ("exists false or a value: the value", {"a": [{"exists": False}, "x"]}, {"a": "x"}, True),
    ("exists false or a value: other", {"a": [{"exists": False}, "x"]}, {"a": "y"}, False),
    (
        "several operators OR-ed",
        {"a": [{"prefix": "x"}, {"numeric": [">", 5]}, "z"]},
        {"a": 9},
        True,
    ),
    (
        "several numeric objects OR-ed",
        {"a": [{"numeric": ["<", 0]}, {"numeric": [">", 10]}]},
        {"a": 5},
        False,
    ),
    (
        "replay-name exclusion",
        {"source": ["shop"], "replay-name": [{"exists": False}]},
        {"source": "shop", "replay-name": "r1"},
        False,
    ),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [c[1:] for c in NESTED_CASES],
    ids=[c[0] for c in NESTED_CASES],
)
def test_operators_in_context(
    decide: Check, pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    assert decide(pattern, event) is expected
