"""Match values: parse each entry of a leaf's value array into a :class:`Condition`.

A condition knows its kind, the operand the index uses, the JSON it was written as, and a
predicate over one scalar event value. ``exists`` has no predicate: it is about presence, which
the leaf matcher decides.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from eventbridge_sdk._errors import InvalidPatternError

__all__ = ["OPERATORS", "Condition", "at", "is_number", "parse_match_value"]

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
    """

    __slots__ = ("arg", "kind", "source", "test")

    def __init__(self, kind: str, arg: Any, source: Any, test: Predicate) -> None:
        self.kind = kind
        self.arg = arg
        self.source = source
        self.test = test


def at(path: str, part: str | int) -> str:
    """The path of ``part`` inside ``path``: ``a.b``, ``a[0]``."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def is_number(value: object) -> bool:
    """A JSON number: an int or a finite float, never a bool."""
    cls = value.__class__
    return (cls is int or cls is float) and math.isfinite(value)  # type: ignore[arg-type]


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


def _string(operand: Any, path: str, what: str) -> str:
    if not isinstance(operand, str):
        raise InvalidPatternError(f"{what} must be a string, not {_json_type(operand)}", path)
    return operand


def _prefix_or_suffix(operand: Any, path: str, kind: str) -> Condition:
    name = path.rsplit(".", 1)[-1]
    if isinstance(operand, Mapping):
        if list(operand) != ["equals-ignore-case"]:
            raise InvalidPatternError(
                f'{name} takes a string or {{"equals-ignore-case": "..."}}', path
            )
        text = _string(operand["equals-ignore-case"], at(path, "equals-ignore-case"), "the value")
        lowered = text.lower()
        if kind == "prefix":
            test: Predicate = lambda v: isinstance(v, str) and v.lower().startswith(lowered)  # noqa: E731
        else:
            test = lambda v: isinstance(v, str) and v.lower().endswith(lowered)  # noqa: E731
        return Condition(f"{kind}-ic", lowered, {kind: {"equals-ignore-case": text}}, test)
    text = _string(operand, path, f"the {name} value")
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
    lowered = _string(operand, path, "the equals-ignore-case value").lower()
    return Condition(
        "equals-ignore-case",
        lowered,
        {"equals-ignore-case": operand},
        lambda v: isinstance(v, str) and v.lower() == lowered,
    )


def wildcard_matcher(text: str, path: str) -> Predicate:
    """A predicate for a wildcard string: ``*`` is any run of characters, ``\\*`` and ``\\\\``
    are a literal star and backslash. Matching is greedy per segment, so it is linear in the
    event value and never backtracks."""
    segments: list[str] = [""]
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "*\\":
                raise InvalidPatternError(
                    f"invalid escape at position {i} of the wildcard: "
                    "only \\* and \\\\ are allowed",
                    path,
                )
            segments[-1] += text[i + 1]
            i += 2
            continue
        if char == "*":
            if i + 1 < len(text) and text[i + 1] == "*":
                raise InvalidPatternError(
                    f"consecutive wildcard characters at position {i + 1}", path
                )
            segments.append("")
        else:
            segments[-1] += char
        i += 1
    if len(segments) == 1:
        exact = segments[0]
        return lambda v: v == exact
    head, *middle, tail = segments
    minimum = len(head) + len(tail)

    def match(v: str) -> bool:
        if len(v) < minimum or not v.startswith(head) or not v.endswith(tail):
            return False
        start, end = len(head), len(v) - len(tail)
        for segment in middle:
            found = v.find(segment, start, end)
            if found < 0:
                return False
            start = found + len(segment)
        return True

    return match


def _wildcard(operand: Any, path: str) -> Condition:
    matcher = wildcard_matcher(_string(operand, path, "the wildcard value"), path)
    return Condition(
        "wildcard", operand, {"wildcard": operand}, lambda v: isinstance(v, str) and matcher(v)
    )


def _exists(operand: Any, path: str) -> Condition:
    if not isinstance(operand, bool):
        raise InvalidPatternError(f"exists takes true or false, not {_json_type(operand)}", path)
    return Condition("exists", operand, {"exists": operand}, lambda v: False)


def _number(operand: Any, path: str) -> float | int:
    if not is_number(operand):
        raise InvalidPatternError(
            f"a numeric bound must be a finite number, not {_json_type(operand)}", path
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


@lru_cache(maxsize=4096)
def ip_value(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` of an IP address literal, or None when it is not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


def _cidr(operand: Any, path: str) -> Condition:
    text = _string(operand, path, "the cidr value")
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
        f"object, not {_json_type(operand)}",
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
                f"{form} value must be a string, not {_json_type(item)}", where
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
    return Condition("anything-but", None, source, test)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


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
