"""Validate a pattern and turn it into a tree of :class:`ObjectNode` and :class:`Leaf`.

Every rejection raises :class:`InvalidPatternError` with the path inside the pattern where the
problem sits. The tree keeps the pattern's shape; :func:`expand` flattens it into the
``$or``-free clauses (tuples of leaves) that the matcher and the explainer work with. A leaf
names its field by the dot-joined keys that lead to it, as AWS does: ``{"a": {"b": [1]}}`` and
``{"a.b": [1]}`` name the same field ``a.b``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from eventbridge_sdk._errors import InvalidPatternError
from eventbridge_sdk.patterns._complexity import check_wildcard_complexity, wildcards
from eventbridge_sdk.patterns._operators import OPERATORS, Condition, parse_match_value
from eventbridge_sdk.patterns._text import at, plain

__all__ = [
    "MAX_COMBINATIONS",
    "MAX_DEPTH",
    "MAX_PATTERN_CHARS",
    "Clause",
    "Leaf",
    "ObjectNode",
    "Path",
    "expand",
    "parse_pattern",
]

#: ``$or`` expands a pattern into combinations; AWS rejects more than 1000.
MAX_COMBINATIONS = 1000
#: A pattern's JSON text may not be longer than this (AWS's API allows 4096).
MAX_PATTERN_CHARS = 65536
#: Objects nested deeper than this are rejected.
MAX_DEPTH = 64

Path = tuple[str, ...]


class Leaf:
    """A field's array of match values: OR of its conditions, for the field ``name``.

    ``name`` joins the pattern's keys on the way with dots, and ``parts`` splits it on every dot:
    the field is the same whether the pattern or the event nests its keys or writes them
    dotted. ``where`` is the leaf's place in the pattern, for messages.
    """

    __slots__ = ("conditions", "key", "name", "parts", "source", "where")

    def __init__(
        self, path: Path, conditions: tuple[Condition, ...], source: list[Any], where: str
    ) -> None:
        self.name = ".".join(path)
        self.parts: Path = tuple(self.name.split("."))
        self.conditions = conditions
        self.source = source
        self.where = where
        #: The canonical JSON of the value array: equal leaves share index entries.
        self.key = orjson.dumps(source, option=orjson.OPT_SORT_KEYS).decode()


class ObjectNode:
    """An object of the pattern: its fields AND-ed, then each ``$or`` (a tuple of branches)."""

    __slots__ = ("fields", "ors", "path")

    def __init__(
        self,
        path: Path,
        fields: tuple[tuple[str, Leaf | ObjectNode], ...],
        ors: tuple[tuple[ObjectNode, ...], ...],
    ) -> None:
        self.path = path
        self.fields = fields
        self.ors = ors


Clause = tuple[Leaf, ...]


def parse_pattern(pattern: Mapping[str, Any] | str | None) -> tuple[ObjectNode, dict[str, Any]]:
    """Validate ``pattern`` and return its tree and its normalised JSON form."""
    if pattern is None:
        return ObjectNode((), (), ()), {}
    if isinstance(pattern, str | bytes):
        if len(pattern) > MAX_PATTERN_CHARS:
            raise _too_large(len(pattern))
        try:
            pattern = orjson.loads(pattern)
        except orjson.JSONDecodeError as exc:
            raise InvalidPatternError(f"the pattern is not valid JSON: {exc}") from None
    if not isinstance(pattern, Mapping):
        kind = "null" if pattern is None else type(pattern).__name__
        raise InvalidPatternError(f"a pattern must be a JSON object, not {kind}")
    source = _normalise(pattern, "", 0)
    root = _object(source, (), "", in_or=False)
    size = len(orjson.dumps(source))
    if size > MAX_PATTERN_CHARS:
        raise _too_large(size)
    combinations = _combinations(root)
    if combinations > MAX_COMBINATIONS:
        raise InvalidPatternError(
            f"the pattern's $or expands to {combinations} combinations; at most "
            f"{MAX_COMBINATIONS} are allowed: use fewer or smaller $or arrays"
        )
    if _has_wildcard(root):
        check_wildcard_complexity(clause for clause, _ in expand(root))
    return root, source


def _has_wildcard(node: ObjectNode) -> bool:
    for _, child in node.fields:
        if isinstance(child, Leaf):
            if any(wildcards(c) for c in child.conditions):
                return True
        elif _has_wildcard(child):
            return True
    return any(_has_wildcard(branch) for branches in node.ors for branch in branches)


def _too_large(size: int) -> InvalidPatternError:
    return InvalidPatternError(
        f"the pattern is too large: {size} characters of JSON, at most {MAX_PATTERN_CHARS}"
    )


def _normalise(value: Any, path: str, depth: int) -> Any:
    """A plain-JSON copy (dicts, lists, scalars) of a pattern given as Python objects; a
    ``str`` or ``int`` enum member (any subclass of ``str``, ``int``, ``float``) becomes the
    JSON value it stands for, as a key or as a value."""
    if isinstance(value, Mapping):
        if depth > MAX_DEPTH:
            raise InvalidPatternError(f"the pattern nests deeper than {MAX_DEPTH} levels", path)
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidPatternError(f"object keys must be strings, not {key!r}", path)
            out[plain(key)] = _normalise(item, at(path, key), depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, at(path, i), depth + 1) for i, item in enumerate(value)]
    return plain(value)


def _object(obj: dict[str, Any], prefix: Path, path: str, *, in_or: bool) -> ObjectNode:
    fields: list[tuple[str, Leaf | ObjectNode]] = []
    ors: list[tuple[ObjectNode, ...]] = []
    for key, value in obj.items():
        where = at(path, key)
        if key == "$or":
            ors.append(_or(value, prefix, where))
            continue
        if in_or and key in OPERATORS:
            raise InvalidPatternError(
                f"{key!r} is an operator name and cannot be a field inside $or", where
            )
        if isinstance(value, dict):
            if not value:
                raise InvalidPatternError("empty objects are not allowed", where)
            fields.append((key, _object(value, (*prefix, key), where, in_or=False)))
        elif isinstance(value, list):
            fields.append((key, _leaf(value, (*prefix, key), where)))
        else:
            raise InvalidPatternError(
                f"a field must hold an array of match values or an object, not {value!r}; "
                f"write [{orjson.dumps(value).decode()}]"
                if value is None or isinstance(value, str | int | float)
                else "a field must hold an array of match values or an object",
                where,
            )
    return ObjectNode(prefix, tuple(fields), tuple(ors))


def _or(value: Any, prefix: Path, path: str) -> tuple[ObjectNode, ...]:
    if not isinstance(value, list):
        raise InvalidPatternError("$or takes an array of at least two objects", path)
    if len(value) < 2:
        raise InvalidPatternError(
            f"$or needs at least two objects, got {len(value)}; without alternatives, "
            "write the fields directly",
            path,
        )
    branches = []
    for i, branch in enumerate(value):
        where = at(path, i)
        if not isinstance(branch, dict):
            raise InvalidPatternError("each $or branch must be an object", where)
        if not branch:
            raise InvalidPatternError("empty objects are not allowed", where)
        branches.append(_object(branch, prefix, where, in_or=True))
    return tuple(branches)


def _leaf(values: list[Any], path_key: Path, path: str) -> Leaf:
    if not values:
        raise InvalidPatternError("empty arrays are not allowed; list at least one value", path)
    conditions = tuple(parse_match_value(v, at(path, i)) for i, v in enumerate(values))
    return Leaf(path_key, conditions, values, path)


def _combinations(node: ObjectNode) -> int:
    count = 1
    for _, child in node.fields:
        if isinstance(child, ObjectNode):
            count *= _combinations(child)
    for branches in node.ors:
        count *= sum(_combinations(branch) for branch in branches)
        if count > MAX_COMBINATIONS:
            return count
    return count


def expand(node: ObjectNode) -> list[tuple[Clause, str]]:
    """The pattern as an OR of ``$or``-free clauses, each an AND of leaves, with a label naming
    the ``$or`` branches it took (``""`` when the pattern has no ``$or``)."""
    return [
        (tuple(itertools.chain.from_iterable(c for c, _ in parts)), _label(lb for _, lb in parts))
        for parts in _expand(node)
    ]


def _label(labels: Iterator[str]) -> str:
    return " + ".join(label for label in labels if label)


def _expand(node: ObjectNode) -> Iterator[tuple[tuple[Clause, str], ...]]:
    fixed: list[Leaf] = []
    choices: list[list[tuple[Clause, str]]] = []
    for _, child in node.fields:
        if isinstance(child, Leaf):
            fixed.append(child)
        else:
            choices.append(expand(child))
    for branches in node.ors:
        where = ".".join((*node.path, "$or"))
        choices.append(
            [
                (clause, _label(iter((f"{where}[{i}]", label))))
                for i, branch in enumerate(branches)
                for clause, label in expand(branch)
            ]
        )
    for combo in itertools.product(*choices):
        yield ((tuple(fixed), ""), *combo)
