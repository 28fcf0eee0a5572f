"""Why an event does or does not match: a walk over the pattern tree that records its reasons.

It follows the semantics of :mod:`eventbridge_sdk.patterns._matcher` step by step, but keeps
the path in the event (with array indexes) and a sentence for every leaf it decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from eventbridge_sdk.patterns._matcher import MISSING, flatten, leaf_values, scalar_test
from eventbridge_sdk.patterns._parse import Leaf, ObjectNode
from eventbridge_sdk.patterns._text import plain

__all__ = ["Explanation", "explain"]

_MAX_ELEMENTS = 5
_MAX_ALTERNATIVES = 10


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


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


Outcome = tuple[bool, list[str], list[str]]
"""``(matched, reasons it matched, reasons it did not)``."""


def explain(alternatives: list[tuple[ObjectNode, str]], event: Any) -> Explanation:
    """Explain ``event`` against a pattern's ``$or``-free alternatives (tree, label)."""
    if len(alternatives) == 1:
        matched, passes, fails = _node(alternatives[0][0], event, event, "")
        if matched and not passes:
            passes = ["the pattern is empty and matches every event"]
        return Explanation(matched, tuple(passes if matched else fails))
    failures: list[str] = []
    for i, (tree, label) in enumerate(alternatives):
        matched, passes, fails = _node(tree, event, event, "")
        if matched:
            return Explanation(True, (f"{label}:", *(f"  {r}" for r in passes)))
        if i < _MAX_ALTERNATIVES:
            failures.append(f"{label}:")
            failures.extend(f"  {r}" for r in fails)
    more = f" (first {_MAX_ALTERNATIVES} shown)" if len(alternatives) > _MAX_ALTERNATIVES else ""
    head = f"none of the {len(alternatives)} combinations of $or branches matched{more}"
    return Explanation(False, (head, *failures))


def _node(node: ObjectNode, value: Any, root: Any, where: str) -> Outcome:
    if isinstance(value, Mapping):
        ok, passes, fails = True, [], []
        for key, child in node.fields:
            path = _join(where, key)
            field = value.get(key, MISSING)
            if isinstance(child, Leaf):
                good, yes, no = _leaf(child, field, root, path)
            else:
                good, yes, no = _node(child, field, root, path)
            ok = ok and good
            passes.extend(yes)
            fails.extend(no)
        return ok, passes, fails
    if isinstance(value, list | tuple):
        items = flatten(value, [])
        if items:
            return _elements(node, items, root, where)
    ok, passes, fails = _node(node, {}, root, where)
    if not ok and where and value is not MISSING:
        fails.insert(0, f"{where}: {_json(value)} is not an object, so its fields are missing")
    return ok, passes, fails


def _elements(node: ObjectNode, items: list[Any], root: Any, where: str) -> Outcome:
    failures: list[str] = []
    for i, item in enumerate(items):
        ok, passes, fails = _node(node, item, root, f"{where}[{i}]")
        if ok:
            return True, passes, []
        if i < _MAX_ELEMENTS:
            failures.extend(fails)
    more = f" (first {_MAX_ELEMENTS} shown)" if len(items) > _MAX_ELEMENTS else ""
    head = f"{where}: none of the {len(items)} array elements matches all its fields{more}"
    return False, [], [head, *(f"  {r}" for r in failures)]


def _leaf(leaf: Leaf, value: Any, root: Any, where: str) -> Outcome:
    wanted = _json(leaf.source)
    want_present = any(c.kind == "exists" and c.arg is True for c in leaf.conditions)
    want_absent = any(c.kind == "exists" and c.arg is False for c in leaf.conditions)
    has_values = any(c.kind != "exists" for c in leaf.conditions)
    test = scalar_test(leaf)
    if value is MISSING:
        scalars: list[Any] = []
        shown = "the field is missing"
    elif isinstance(value, Mapping):
        scalars = []
        shown = "the value is an object (patterns match only strings, numbers, booleans, null)"
    elif isinstance(value, list | tuple):
        scalars = [plain(v) for v in flatten(value, []) if not isinstance(v, Mapping)]
        shown = f"{_json(value)} holds no string, number, boolean or null"
    else:
        scalars = [plain(value)]
        shown = ""
    if scalars:
        hits = [v for v in scalars if has_values and test(v)]
        if hits:
            return True, [f"{where}: {_json(hits[0])} matches {wanted}"], []
        if want_present:
            return True, [f"{where}: exists, as {wanted} requires"], []
        if len(scalars) == 1 and not isinstance(value, list | tuple):
            return False, [], [f"{where}: {_json(value)} does not match {wanted}"]
        return False, [], [f"{where}: no element of {_json(value)} matches {wanted}"]
    if want_absent:
        present, _ = leaf_values(root, leaf.path)
        if not present:
            return True, [f"{where}: absent, as {wanted} requires"], []
        return (
            False,
            [],
            [
                f"{where}: {shown}, but {'.'.join(leaf.path)} has {_json(present[0])} elsewhere in "
                f"the event and {wanted} requires it absent everywhere"
            ],
        )
    return False, [], [f"{where}: {shown}; the pattern wants {wanted}"]
