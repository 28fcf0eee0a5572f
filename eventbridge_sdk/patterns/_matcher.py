"""Compile a pattern tree into closures that match one event.

Semantics, shared with the rule index and the explainer:

- A field's value is looked up in the current object; a missing field is :data:`MISSING`.
- A leaf matches when any scalar value (an array is flattened, objects in it are skipped) satisfies
  any condition; ``exists: true`` needs at least one scalar; an object-valued field has none.
- ``exists: false`` holds when the event has no scalar at that path anywhere (every element of
  every array on the way is looked at).
- An object of the pattern meeting an array in the event must match within one element: fields
  from different elements of one array are never combined (array consistency).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eventbridge_sdk.patterns._parse import Leaf, ObjectNode, Path
from eventbridge_sdk.patterns._text import plain

__all__ = ["MISSING", "NodeFn", "compile_node", "flatten", "leaf_values", "scalar_test"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: The value of a field the event does not have.
MISSING: Any = _Missing()

NodeFn = Callable[[Any, Any], bool]
"""``fn(value, root)``: does ``value`` (found in the event ``root``) match?"""


def flatten(values: Any, out: list[Any]) -> list[Any]:
    """Append every non-array item of ``values``, at any depth, to ``out``."""
    for item in values:
        if item.__class__ is list or isinstance(item, list | tuple):
            flatten(item, out)
        else:
            out.append(item)
    return out


def _is_object(value: Any) -> bool:
    return value.__class__ is dict or isinstance(value, Mapping)


def leaf_values(root: Any, path: Path) -> tuple[list[Any], bool]:
    """The scalars at ``path`` in ``root`` across all arrays, and whether an array was crossed
    on the way (so fields of different elements could have been mixed)."""
    current = [root]
    crossed = False
    for key in path:
        following: list[Any] = []
        for value in current:
            if value.__class__ is list or isinstance(value, list | tuple):
                crossed = True
                for item in flatten(value, []):
                    if _is_object(item) and key in item:
                        following.append(item[key])
            elif _is_object(value) and key in value:
                following.append(value[key])
        if not following:
            return [], crossed
        current = following
    scalars: list[Any] = []
    for value in current:
        if value.__class__ is list or isinstance(value, list | tuple):
            scalars.extend(plain(item) for item in flatten(value, []) if not _is_object(item))
        elif not _is_object(value):
            scalars.append(plain(value))
    return scalars, crossed


def scalar_test(leaf: Leaf) -> Callable[[Any], bool]:
    """One predicate for a scalar against all of ``leaf``'s value conditions (not ``exists``)."""
    strings = frozenset(c.arg for c in leaf.conditions if c.kind == "exact" and type(c.arg) is str)
    # Keep True apart from 1 and False apart from 0: JSON types are strict (and a plain set
    # would fold them into one element).
    others = frozenset(
        (c.arg.__class__ is bool, c.arg)
        for c in leaf.conditions
        if c.kind == "exact" and type(c.arg) is not str
    )
    tests = tuple(c.test for c in leaf.conditions if c.kind not in ("exact", "exists"))
    if others:

        def exact(v: Any) -> bool:
            return v in strings if v.__class__ is str else (v.__class__ is bool, v) in others

    else:

        def exact(v: Any) -> bool:
            return v.__class__ is str and v in strings

    if not tests:
        if not others:
            return lambda v: v.__class__ is str and v in strings
        return exact
    if len(tests) == 1 and not strings and not others:
        return tests[0]
    return lambda v: exact(v) or any(t(v) for t in tests)


def compile_leaf(leaf: Leaf) -> NodeFn:
    kinds = {c.kind for c in leaf.conditions}
    exists = {c.arg for c in leaf.conditions if c.kind == "exists"}
    want_present = True in exists
    want_absent = False in exists
    has_values = bool(kinds - {"exists"})
    test = scalar_test(leaf)
    path = leaf.path

    def match(value: Any, root: Any) -> bool:
        cls = value.__class__
        if cls is str or cls is int or cls is float or cls is bool or value is None:
            return want_present or (has_values and test(value))
        if cls is list or isinstance(value, list | tuple):
            scalars = [plain(v) for v in flatten(value, []) if not _is_object(v)]
            if scalars:
                return want_present or (has_values and any(test(v) for v in scalars))
        elif value is not MISSING and not _is_object(value):
            return want_present or (has_values and test(plain(value)))
        return want_absent and not leaf_values(root, path)[0]

    return match


def compile_node(node: ObjectNode) -> NodeFn:
    """A closure matching the pattern object ``node`` against a value of the event."""
    fields = tuple(
        (key, compile_leaf(child) if isinstance(child, Leaf) else compile_node(child))
        for key, child in node.fields
    )
    ors = tuple(tuple(compile_node(branch) for branch in branches) for branches in node.ors)

    def match(value: Any, root: Any) -> bool:
        if value.__class__ is dict or isinstance(value, Mapping):
            for key, fn in fields:
                if not fn(value.get(key, MISSING), root):
                    return False
            for branches in ors:
                for branch in branches:
                    if branch(value, root):
                        break
                else:
                    return False
            return True
        if value.__class__ is list or isinstance(value, list | tuple):
            items = flatten(value, [])
            if items:
                return any(match(item, root) for item in items)
        for _, fn in fields:
            if not fn(MISSING, root):
                return False
        return all(any(branch(MISSING, root) for branch in branches) for branches in ors)

    return match
