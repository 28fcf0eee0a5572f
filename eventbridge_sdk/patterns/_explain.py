"""Why an event does or does not match: the second, independent engine, written for people.

It shares the parsed pattern and each condition's test with the matcher and nothing else: it
reads fields its own way (walking the keys of the event's objects, so a field spelt with
nested objects, dotted keys or both is found alike), checks array consistency by searching
for one value per field whose array elements agree, and says in a sentence what decided each
field. The test suite holds it to the matcher's answers on generated patterns and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from eventbridge_sdk.patterns._parse import Clause, Leaf
from eventbridge_sdk.patterns._text import plain

__all__ = ["Explanation", "explain"]

_MAX_ELEMENTS = 5
_MAX_ALTERNATIVES = 10
_MAX_VALUES = 5


@dataclass(frozen=True, slots=True)
class Explanation:
    """The account of one match: ``matched`` and a sentence per decided field.

    Example::

        >>> p = compile_pattern({"type": ["paid"], "data": {"amount": [{"numeric": [">", 100]}]}})
        >>> e = p.explain({"type": "paid", "data": {"amount": 20}})
        >>> e.matched
        False
        >>> print(e)
        no match
          - data.amount: 20 does not match [{"numeric":[">",100]}]
    """

    matched: bool
    reasons: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.matched

    def __str__(self) -> str:
        head = "match" if self.matched else "no match"
        lines = [f"    {r}" if r.startswith(" ") else f"  - {r}" for r in self.reasons]
        return "\n".join([head, *lines])


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


Elements = tuple[tuple[str, int], ...]
"""``((array path, index), ...)``: the elements of arrays of objects a value was found in."""


@dataclass(frozen=True, slots=True)
class _Value:
    path: str
    value: Any
    elements: Elements


@dataclass(slots=True)
class _Reading:
    """Everything found under one field name."""

    values: list[_Value] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    hollow: list[tuple[str, Any]] = field(default_factory=list)  # arrays with no scalar
    blocked: list[tuple[str, Any]] = field(default_factory=list)  # scalars on the way
    arrays: dict[str, int] = field(default_factory=dict)  # array path: number of elements


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _read(event: Any, name: str) -> _Reading:
    reading = _Reading()
    _walk(event, name, None, "", (), reading)
    return reading


def _walk(
    obj: Mapping[Any, Any],
    name: str,
    consumed: str | None,
    where: str,
    elements: Elements,
    reading: _Reading,
) -> None:
    for key, value in obj.items():
        if not isinstance(key, str):
            continue
        spelt = key if consumed is None else f"{consumed}.{key}"
        path = f"{where}.{key}" if where else key
        if spelt == name:
            _take(value, path, elements, reading)
        elif name.startswith(spelt + "."):
            _enter(value, name, spelt, path, elements, reading)


def _enter(
    value: Any, name: str, spelt: str, path: str, elements: Elements, reading: _Reading
) -> None:
    if isinstance(value, Mapping):
        _walk(value, name, spelt, path, elements, reading)
    elif _is_array(value):
        reading.arrays[path] = len(value)
        for i, item in enumerate(value):
            if isinstance(item, Mapping) or _is_array(item):
                _enter(item, name, spelt, f"{path}[{i}]", (*elements, (path, i)), reading)
    else:
        reading.blocked.append((path, value))


def _take(value: Any, path: str, elements: Elements, reading: _Reading) -> None:
    if isinstance(value, Mapping):
        reading.objects.append(path)
    elif _is_array(value):
        reading.arrays[path] = len(value)
        before = len(reading.values)
        for i, item in enumerate(value):
            if _is_array(item):  # an element of the array: its scalars belong to it
                _take(item, f"{path}[{i}]", (*elements, (path, i)), reading)
            elif not isinstance(item, Mapping):
                reading.values.append(_Value(f"{path}[{i}]", plain(item), elements))
        if len(reading.values) == before:
            reading.hollow.append((path, value))
    else:
        reading.values.append(_Value(path, plain(value), elements))


Outcome = tuple[bool, list[str], list[str]]
"""``(matched, reasons it matched, reasons it did not)``."""


def explain(clauses: list[tuple[Clause, str]], event: Any) -> Explanation:
    """Explain ``event`` against a pattern's ``$or``-free clauses (leaves, label)."""
    if len(clauses) == 1:
        matched, passes, fails = _clause(clauses[0][0], event)
        if matched and not passes:
            passes = ["the pattern is empty and matches every event"]
        return Explanation(matched, tuple(passes if matched else fails))
    failures: list[str] = []
    for i, (clause, label) in enumerate(clauses):
        matched, passes, fails = _clause(clause, event)
        if matched:
            return Explanation(True, (f"{label}:", *(f"  {r}" for r in passes)))
        if i < _MAX_ALTERNATIVES:
            failures.append(f"{label}:")
            failures.extend(f"  {r}" for r in fails)
    more = f" (first {_MAX_ALTERNATIVES} shown)" if len(clauses) > _MAX_ALTERNATIVES else ""
    head = f"none of the {len(clauses)} combinations of $or branches matched{more}"
    return Explanation(False, (head, *failures))


class _Field:
    """One leaf of a clause and what the event has for it."""

    __slots__ = ("free", "leaf", "options", "reading", "tests", "wanted")

    def __init__(self, leaf: Leaf, reading: _Reading) -> None:
        self.leaf = leaf
        self.reading = reading
        self.wanted = _json(leaf.source)
        self.tests = [c.test for c in leaf.conditions if c.kind != "exists"]
        present = any(c.kind == "exists" and c.arg is True for c in leaf.conditions)
        absent = any(c.kind == "exists" and c.arg is False for c in leaf.conditions)
        #: The values that satisfy the leaf.
        self.options = [v for v in reading.values if present or self.holds(v.value)]
        #: Satisfied by the field's absence from the whole event.
        self.free = absent and not reading.values

    def holds(self, value: Any) -> bool:
        return any(test(value) for test in self.tests)

    def passed(self, chosen: _Value | None) -> str:
        if chosen is None:
            return f"{self.leaf.name}: absent, as {self.wanted} requires"
        if self.holds(chosen.value):
            return f"{chosen.path}: {_json(chosen.value)} matches {self.wanted}"
        return f"{chosen.path}: exists, as {self.wanted} requires"

    def failed(self) -> list[str]:
        name, wanted, reading = self.leaf.name, self.wanted, self.reading
        found = reading.values
        if found:
            if any(c.kind == "exists" and c.arg is False for c in self.leaf.conditions):
                return [
                    f"{name}: the event has {_json(found[0].value)} at {found[0].path}, and "
                    f"{wanted} requires the field absent everywhere"
                ]
            if len(found) == 1:
                return [f"{found[0].path}: {_json(found[0].value)} does not match {wanted}"]
            shown = _json([v.value for v in found[:_MAX_VALUES]])
            more = f" (first {_MAX_VALUES} shown)" if len(found) > _MAX_VALUES else ""
            return [f"{name}: none of its values {shown}{more} matches {wanted}"]
        reasons = [
            f"{path}: {_json(value)} is not an object, so its fields are missing"
            for path, value in reading.blocked
        ]
        if reading.objects:
            reasons.append(
                f"{name}: the value is an object (patterns match only strings, numbers, "
                f"booleans, null); the pattern wants {wanted}"
            )
        elif reading.hollow:
            path, value = reading.hollow[0]
            reasons.append(
                f"{path}: {_json(value)} holds no string, number, boolean or null; "
                f"the pattern wants {wanted}"
            )
        else:
            reasons.append(f"{name}: the field is missing; the pattern wants {wanted}")
        return reasons


def _clause(clause: Clause, event: Any) -> Outcome:
    fields = [_Field(leaf, _read(event, leaf.name)) for leaf in clause]
    failing = [f for f in fields if not f.options and not f.free]
    if failing:
        return False, [], [reason for f in failing for reason in f.failed()]
    bound = [f for f in fields if not f.free]
    chosen = _choose([f.options for f in bound])
    if chosen is not None:
        picks = dict(zip(map(id, bound), chosen, strict=True))
        return True, [f.passed(picks.get(id(f))) for f in fields], []
    return False, [], _inconsistent(bound)


def _choose(options: list[list[_Value]]) -> list[_Value] | None:
    """One value per field, all from the same element of every array they share; None when
    there is no such choice. Fewest options first; a dead end is remembered by the bindings
    that still matter to the fields left, so independent arrays never multiply the work."""
    order = sorted(range(len(options)), key=lambda i: len(options[i]))
    ahead: list[set[str]] = [set() for _ in range(len(order) + 1)]
    for k in range(len(order) - 1, -1, -1):
        ahead[k] = ahead[k + 1] | {a for v in options[order[k]] for a, _ in v.elements}
    dead: set[tuple[int, tuple[tuple[str, int], ...]]] = set()

    def search(k: int, bound: dict[str, int]) -> list[_Value] | None:
        if k == len(order):
            return []
        mark = (k, tuple(sorted((a, i) for a, i in bound.items() if a in ahead[k])))
        if mark in dead:
            return None
        for value in options[order[k]]:
            joined = dict(bound)
            if all(joined.setdefault(a, i) == i for a, i in value.elements):
                rest = search(k + 1, joined)
                if rest is not None:
                    return [value, *rest]
        dead.add(mark)
        return None

    found = search(0, {})
    if found is None:
        return None
    by_field = dict(zip(order, found, strict=True))
    return [by_field[i] for i in range(len(options))]


def _inconsistent(fields: list[_Field]) -> list[str]:
    """Why fields that each match somewhere never match in one element of an array."""
    shared: dict[str, int] = {}
    for f in fields:
        for a in {a for v in f.options for a, _ in v.elements}:
            shared[a] = shared.get(a, 0) + 1
    arrays = sorted((a for a, n in shared.items() if n > 1), key=lambda a: (len(a), a))
    if not arrays:  # not reached: without a shared array the fields agree
        return ["the fields match only in different elements of an array"]
    array = arrays[0]
    size = next(f.reading.arrays[array] for f in fields if array in f.reading.arrays)
    involved = [f for f in fields if any(a == array for v in f.options for a, _ in v.elements)]
    lines: list[str] = []
    for index in range(min(size, _MAX_ELEMENTS)):
        element = (array, index)
        missing = [f for f in involved if not any(element in v.elements for v in f.options)]
        if not missing:
            lines.append(
                f"{array}[{index}]: its fields match only in different elements of an array "
                "inside it"
            )
        for f in missing:
            here = [v for v in f.reading.values if element in v.elements]
            if here:
                lines.append(f"{here[0].path}: {_json(here[0].value)} does not match {f.wanted}")
            else:
                lines.append(f"{array}[{index}]: {f.leaf.name} is missing")
    more = f" (first {_MAX_ELEMENTS} shown)" if size > _MAX_ELEMENTS else ""
    head = f"{array}: none of the {size} array elements matches all its fields{more}"
    return [head, *(f"  {line}" for line in lines)]
