"""Helpers shared by the operator parsers: paths inside a pattern, JSON types, wildcards and IP
addresses."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from eventbridge_sdk._errors import InvalidPatternError

__all__ = [
    "at",
    "ip_value",
    "is_number",
    "json_type",
    "plain",
    "require_string",
    "wildcard_matcher",
]

Predicate = Callable[[Any], bool]


def at(path: str, part: str | int) -> str:
    """The path of ``part`` inside ``path``: ``a.b``, ``a[0]``."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def is_number(value: object) -> bool:
    """A JSON number: an int or a finite float, never a bool."""
    cls = value.__class__
    return (cls is int or cls is float) and math.isfinite(value)  # type: ignore[arg-type]


def json_type(value: object) -> str:
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


def require_string(operand: Any, path: str, what: str) -> str:
    if not isinstance(operand, str):
        raise InvalidPatternError(f"{what} must be a string, not {json_type(operand)}", path)
    return operand


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A scalar of a subclass of ``str``, ``int`` or ``float`` (a ``str`` or ``int`` enum
    member, say) as the plain JSON value it is written as; anything else unchanged. Events
    decoded from JSON never hold such values, but hand-built ones may."""
    if value.__class__ in _JSON_SCALARS:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # not a bool: bool cannot be subclassed
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return value


@lru_cache(maxsize=4096)
def ip_value(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` of an IP address literal, or None when it is not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


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
