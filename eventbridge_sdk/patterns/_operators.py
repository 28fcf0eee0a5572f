"""Match values: parse each entry of a leaf's value array into a :class:`Condition`.

A condition knows its kind, the operand the index uses, the JSON it was written as, and a
predicate over one scalar event value. ``exists`` has no predicate: it is about presence, which
the leaf matcher decides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from eventbridge_sdk._errors import InvalidPatternError
from eventbridge_sdk.patterns._text import (
    at,
    ip_value,
    is_number,
    json_type,
    require_string,
    wildcard_matcher,
)

__all__ = ["OPERATORS", "Condition", "parse_match_value"]

Predicate = Callable[[Any], bool]

OPERATORS = frozenset(
    {
        "anything-but",
        "cidr",
        "equals-ignore-case",
        "exists",
        "numeric",
        "prefix",
        "suffix",
        "wildcard",
    }
)
_ANYTHING_BUT_FORMS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")


class Condition:
    """One match value of a leaf: ``"x"``, ``{"prefix": "a"}``, ``{"numeric": [">", 0]}``...

    ``kind`` is ``exact``, ``prefix``, ``prefix-ic``, ``suffix``, ``suffix-ic``,
    ``equals-ignore-case``, ``wildcard``, ``anything-but``, ``numeric``, ``exists`` or ``cidr``.
    The ``arg`` of an ``anything-but`` is the frozenset of excluded values, or ``(form,
    values)`` for its ``prefix``, ``suffix``, ``equals-ignore-case`` and ``wildcard`` forms.
    """

    __slots__ = ("arg", "kind", "source", "test")

    def __init__(self, kind: str, arg: Any, source: Any, test: Predicate) -> None:
        self.kind = kind
        self.arg = arg
        self.source = source
        self.test = test


def parse_match_value(value: Any, path: str) -> Condition:
    """Parse one entry of a leaf's value array (``path`` is where it sits in the pattern)."""
    if value is None or isinstance(value, bool | str) or is_number(value):
        return _exact(value)
    if isinstance(value, float):
        raise InvalidPatternError(f"{value} is not a finite JSON number", path)
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise InvalidPatternError(
                f"a match expression has exactly one operator key, got {len(value)}"
                + (f" ({', '.join(sorted(map(str, value)))})" if value else ""),
                path,
            )
        ((name, operand),) = value.items()
        parser = _PARSERS.get(name) if isinstance(name, str) else None
        if parser is None:
            raise InvalidPatternError(
                f"unrecognized operator {name!r}; operators are {', '.join(sorted(OPERATORS))} "
                "(case-sensitive)",
                path,
            )
        return parser(operand, at(path, name))
    if isinstance(value, list | tuple):
        raise InvalidPatternError("nested arrays are not allowed as match values", path)
    raise InvalidPatternError(
        f"a match value must be a string, number, true, false, null or an operator object, "
        f"not {type(value).__name__}",
        path,
    )


def _exact(value: Any) -> Condition:
    test: Predicate
    if value is None or isinstance(value, bool):
        test = lambda v: v is value  # noqa: E731 - None, True and False are singletons
    elif isinstance(value, str):
        test = lambda v: v == value  # noqa: E731
    else:
        test = lambda v: v == value and v.__class__ is not bool  # noqa: E731
    return Condition("exact", value, value, test)


def _prefix_or_suffix(operand: Any, path: str, kind: str) -> Condition:
    if isinstance(operand, Mapping):
        if list(operand) != ["equals-ignore-case"]:
            raise InvalidPatternError(
                f'{kind} takes a string or {{"equals-ignore-case": "..."}}', path
            )
        text = require_string(
            operand["equals-ignore-case"], at(path, "equals-ignore-case"), "the value"
        )
        lowered = text.lower()
        if kind == "prefix":
            test: Predicate = lambda v: isinstance(v, str) and v.lower().startswith(lowered)  # noqa: E731
        else:
            test = lambda v: isinstance(v, str) and v.lower().endswith(lowered)  # noqa: E731
        return Condition(f"{kind}-ic", lowered, {kind: {"equals-ignore-case": text}}, test)
    text = require_string(operand, path, f"the {kind} value")
    if kind == "prefix":
        test = lambda v: isinstance(v, str) and v.startswith(text)  # noqa: E731
    else:
        test = lambda v: isinstance(v, str) and v.endswith(text)  # noqa: E731
    return Condition(kind, text, {kind: text}, test)


def _prefix(operand: Any, path: str) -> Condition:
    return _prefix_or_suffix(operand, path, "prefix")


def _suffix(operand: Any, path: str) -> Condition:
    return _prefix_or_suffix(operand, path, "suffix")


def _equals_ignore_case(operand: Any, path: str) -> Condition:
    lowered = require_string(operand, path, "the equals-ignore-case value").lower()
    return Condition(
        "equals-ignore-case",
        lowered,
        {"equals-ignore-case": operand},
        lambda v: isinstance(v, str) and v.lower() == lowered,
    )


def _wildcard(operand: Any, path: str) -> Condition:
    matcher = wildcard_matcher(require_string(operand, path, "the wildcard value"), path)
    return Condition(
        "wildcard", operand, {"wildcard": operand}, lambda v: isinstance(v, str) and matcher(v)
    )


def _exists(operand: Any, path: str) -> Condition:
    if not isinstance(operand, bool):
        raise InvalidPatternError(f"exists takes true or false, not {json_type(operand)}", path)
    return Condition("exists", operand, {"exists": operand}, lambda v: False)


def _number(operand: Any, path: str) -> float | int:
    if not is_number(operand):
        raise InvalidPatternError(
            f"a numeric bound must be a finite number, not {json_type(operand)}", path
        )
    return operand  # type: ignore[no-any-return]


def _numeric(operand: Any, path: str) -> Condition:
    hint = 'like ["=", 5], [">", 0] or [">", 0, "<=", 5]'
    if not isinstance(operand, list | tuple) or not operand:
        raise InvalidPatternError(f"numeric takes an array {hint}", path)
    if len(operand) > 4:
        raise InvalidPatternError(f"too many elements in the numeric expression; {hint}", path)
    if len(operand) % 2:
        raise InvalidPatternError(
            f"the operator at [{len(operand) - 1}] has no number after it; {hint}", path
        )
    op = operand[0]
    if op not in _NUMERIC_OPS:
        raise InvalidPatternError(
            f"unknown numeric operator {op!r}; use =, <, <=, > or >=", at(path, 0)
        )
    first = _number(operand[1], at(path, 1))
    lo: tuple[float | int, bool] | None = None
    hi: tuple[float | int, bool] | None = None
    if op == "=":
        lo = hi = (first, True)
    elif op in (">", ">="):
        lo = (first, op == ">=")
    else:
        hi = (first, op == "<=")
    if len(operand) == 4:
        op2 = operand[2]
        if op not in (">", ">=") or op2 not in ("<", "<="):
            raise InvalidPatternError(
                f"bad numeric range operator {op2!r}: a range is "
                '[">" or ">=", low, "<" or "<=", high]',
                at(path, 2) if op in (">", ">=") else at(path, 0),
            )
        second = _number(operand[3], at(path, 3))
        if not first < second:
            raise InvalidPatternError(
                f"the low bound {first} must be less than the high bound {second}", path
            )
        hi = (second, op2 == "<=")
    return Condition("numeric", (lo, hi), {"numeric": list(operand)}, _numeric_test(lo, hi))


def _numeric_test(
    lo: tuple[float | int, bool] | None, hi: tuple[float | int, bool] | None
) -> Predicate:
    low = lo[0] if lo else -math.inf
    high = hi[0] if hi else math.inf
    lo_incl = lo[1] if lo else False
    hi_incl = hi[1] if hi else False

    if lo_incl and hi_incl:
        return lambda v: (v.__class__ is int or v.__class__ is float) and low <= v <= high
    if lo_incl:
        return lambda v: (v.__class__ is int or v.__class__ is float) and low <= v < high
    if hi_incl:
        return lambda v: (v.__class__ is int or v.__class__ is float) and low < v <= high
    return lambda v: (v.__class__ is int or v.__class__ is float) and low < v < high


def _cidr(operand: Any, path: str) -> Condition:
    text = require_string(operand, path, "the cidr value")
    address, slash, mask = text.partition("/")
    if not slash or "/" in mask:
        raise InvalidPatternError(f"malformed CIDR {text!r}: exactly one '/' is required", path)
    if not mask.isdigit() or not mask.isascii():
        raise InvalidPatternError(f"malformed CIDR {text!r}: mask bits must be an integer", path)
    parsed = ip_value(address)
    if parsed is None:
        raise InvalidPatternError(f"nonstandard IP address {address!r} in CIDR", path)
    version, start = parsed
    width = 32 if version == 4 else 128
    bits = int(mask)
    if bits >= width:
        raise InvalidPatternError(
            f"IPv{version} mask bits must be < {width}; match a single address with an exact value",
            path,
        )
    # As event-ruler does: the range runs from the address as written to the top of its network.
    end = start | ((1 << (width - bits)) - 1)

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        found = ip_value(v)
        return found is not None and found[0] == version and start <= found[1] <= end

    return Condition("cidr", (version, start, end), {"cidr": text}, test)


def _anything_but(operand: Any, path: str) -> Condition:
    source = {"anything-but": operand}
    if isinstance(operand, str) or is_number(operand):
        operand = [operand]
    if isinstance(operand, list | tuple):
        return _anything_but_values(list(operand), path, source)
    if isinstance(operand, Mapping):
        if len(operand) != 1 or next(iter(operand)) not in _ANYTHING_BUT_FORMS:
            raise InvalidPatternError(
                f"anything-but takes one of {', '.join(_ANYTHING_BUT_FORMS)} inside an object, "
                f"got {', '.join(map(str, operand)) or 'nothing'}",
                path,
            )
        ((form, value),) = operand.items()
        return _anything_but_form(form, value, at(path, form), source)
    raise InvalidPatternError(
        f"anything-but takes a string, a number, a list of strings or of numbers, or an "
        f"object, not {json_type(operand)}",
        path,
    )


def _anything_but_values(values: list[Any], path: str, source: Any) -> Condition:
    if not values:
        raise InvalidPatternError("anything-but needs at least one value", path)
    if all(isinstance(v, str) for v in values):
        strings = frozenset(values)
        return Condition("anything-but", strings, source, lambda v: v not in strings)
    if all(is_number(v) for v in values):
        numbers = frozenset(values)
        return Condition(
            "anything-but", numbers, source, lambda v: v.__class__ is bool or v not in numbers
        )
    raise InvalidPatternError(
        "anything-but values must be all strings or all numbers (no null, true or false)", path
    )


def _anything_but_form(form: str, value: Any, path: str, source: Any) -> Condition:
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not values:
        raise InvalidPatternError(f"anything-but {form} needs at least one string", path)
    for i, item in enumerate(values):
        where = at(path, i) if isinstance(value, list | tuple) else path
        if not isinstance(item, str):
            raise InvalidPatternError(
                f"{form} value must be a string, not {json_type(item)}", where
            )
        if not item and form in ("prefix", "suffix"):
            raise InvalidPatternError(f"an empty {form} is not allowed in anything-but", where)
    test: Predicate
    if form == "prefix":
        starts = tuple(values)
        test = lambda v: not isinstance(v, str) or not v.startswith(starts)  # noqa: E731
    elif form == "suffix":
        ends = tuple(values)
        test = lambda v: not isinstance(v, str) or not v.endswith(ends)  # noqa: E731
    elif form == "equals-ignore-case":
        lowered = frozenset(s.lower() for s in values)
        test = lambda v: not isinstance(v, str) or v.lower() not in lowered  # noqa: E731
    else:
        matchers = [wildcard_matcher(s, path) for s in values]
        test = lambda v: not isinstance(v, str) or not any(m(v) for m in matchers)  # noqa: E731
    return Condition("anything-but", (form, tuple(values)), source, test)


_PARSERS: dict[str, Callable[[Any, str], Condition]] = {
    "anything-but": _anything_but,
    "cidr": _cidr,
    "equals-ignore-case": _equals_ignore_case,
    "exists": _exists,
    "numeric": _numeric,
    "prefix": _prefix,
    "suffix": _suffix,
    "wildcard": _wildcard,
}
