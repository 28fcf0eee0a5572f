"""Wildcard values AWS finds too complex are rejected when the pattern is compiled.

The complexity of a field is the most prefixes of its wildcard values one value can match at
once; AWS accepts up to 10. The figures in the names and in REJECTED are what aws/event-ruler's
MachineComplexityEvaluator gives for the same rule; the error names the first figure past the
limit it finds.
"""

from __future__ import annotations

from typing import Any

import pytest

from eventbridge_sdk.patterns import MAX_WILDCARD_COMPLEXITY, InvalidPatternError, compile_pattern


def wildcards(*values: str) -> list[dict[str, str]]:
    return [{"wildcard": value} for value in values]


EXTENSIONS = ["*.png", "*.jpg", "*.gif", "*.svg", "*.tif", "*.bmp"]
DATASYNC = ["*/datasync/*.bif", "*/datasync/*.tif", "*/datasync/*.tiff", "*/datasync/*.svs"]
STACKS = ["*:stack/Shared/*", "*:stack/Tracker/*", "*:stack/Driver/*", "*:stack/Worker/*"]

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("5 suffixes, at the limit (10)", {"key": wildcards(*EXTENSIONS[:5])}),
    ("repeats after the stars, at the limit (10)", {"key": wildcards("*a*a*a*a*a")}),
    ("an ARN with 4 stars (9)", {"arn": wildcards("*:*:*:*:event-bus/*")}),
    (
        "an ARN with its fixed parts written out (5)",
        {"arn": wildcards("arn:aws:events:*:*:event-bus/*")},
    ),
    ("2 paths accepted by AWS (8)", {"key": wildcards(*DATASYNC[:2])}),
    ("3 stack ids accepted by AWS (9)", {"id": wildcards(*STACKS[:3])}),
    (
        "a dir and 4 repeated names accepted by AWS (7)",
        {"f": wildcards("/Users/*/dir/dir/dir/dir/dir/doc.txt")},
    ),
    (
        "fields are measured apart (8 each)",
        {"k": wildcards(*DATASYNC[:2]), "j": wildcards(*DATASYNC[2:])},
    ),
    (
        "$or branches that differ before the field are measured apart (8 each)",
        {
            "$or": [
                {"a": ["1"], "key": wildcards(*DATASYNC[:2])},
                {"a": ["2"], "key": wildcards(*DATASYNC[2:])},
            ]
        },
    ),
]

REJECTED: list[tuple[str, dict[str, Any], str, int]] = [
    ("6 suffixes", {"key": wildcards(*EXTENSIONS)}, "key", 12),
    ("repeats after the stars", {"key": wildcards("a*a*a*a*a*a*")}, "key", 11),
    (
        "an ARN with 5 stars, rejected by AWS",
        {"arn": wildcards("*:*:*:*:*:event-bus/*")},
        "arn",
        11,
    ),
    ("4 paths rejected by AWS", {"key": wildcards(*DATASYNC)}, "key", 16),
    ("4 stack ids rejected by AWS", {"detail": {"id": wildcards(*STACKS)}}, "detail.id", 12),
    (
        "anything-but wildcard counts too",
        {"arn": [{"anything-but": {"wildcard": "*:*:*:*:*:event-bus/*"}}]},
        "arn",
        11,
    ),
    (
        "$or branches sharing the fields before the field are measured together",
        {"$or": [{"key": wildcards(*DATASYNC[:2])}, {"key": wildcards(*DATASYNC[2:])}]},
        "$or[0].key",
        16,
    ),
    (
        "fields after the wildcard field do not separate branches",
        {
            "$or": [
                {"z": ["1"], "key": wildcards(*DATASYNC[:2])},
                {"z": ["2"], "key": wildcards(*DATASYNC[2:])},
            ]
        },
        "$or[0].key",
        16,
    ),
    (
        "several values of the field before are one state",
        {"a": ["1", "2"], "key": wildcards(*DATASYNC)},
        "key",
        16,
    ),
]


@pytest.mark.parametrize("pattern", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_patterns_aws_accepts_compile(pattern: dict[str, Any]) -> None:
    assert compile_pattern(pattern).source == pattern


@pytest.mark.parametrize(
    ("pattern", "path", "complexity"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_patterns_aws_finds_too_complex_are_rejected_naming_the_field(
    pattern: dict[str, Any], path: str, complexity: int
) -> None:
    with pytest.raises(InvalidPatternError) as caught:
        compile_pattern(pattern)

    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: the wildcard values of ")
    found = int(str(caught.value).split("can match ")[1].split(" or more")[0])
    assert MAX_WILDCARD_COMPLEXITY < found <= complexity
    assert f"at most {MAX_WILDCARD_COMPLEXITY} are allowed" in str(caught.value)


def test_the_limit_is_the_one_aws_applies() -> None:
    assert MAX_WILDCARD_COMPLEXITY == 10


def test_a_long_wildcard_value_compiles_and_matches() -> None:
    value = "*" + "/".join(f"segment{i}" for i in range(600)) + "*"

    assert compile_pattern({"key": wildcards(value)}).matches({"key": f"x{value[1:-1]}y"})
