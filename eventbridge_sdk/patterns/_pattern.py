"""A compiled event pattern: :func:`compile_pattern` and :class:`Pattern`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson

from eventbridge_sdk.patterns._codegen import NodeCall, build
from eventbridge_sdk.patterns._explain import Explanation, explain
from eventbridge_sdk.patterns._parse import Clause, ObjectNode, expand, parse_pattern
from eventbridge_sdk.patterns._trie import Trie
from eventbridge_sdk.patterns._values import drain

__all__ = ["Pattern", "compile_pattern", "event_mapping"]


def event_mapping(event: Any) -> Any:
    """The structured JSON form of ``event``: a mapping as is, else ``event.to_dict()``."""
    if event.__class__ is dict or isinstance(event, Mapping):
        return event
    to_dict = getattr(event, "to_dict", None)
    if to_dict is None:
        raise TypeError(
            f"an event must be a mapping or have a to_dict() method, not {type(event).__name__}"
        )
    return to_dict()


class Pattern:
    """An event pattern, validated and compiled; build it with :func:`compile_pattern`.

    Example::

        >>> p = compile_pattern({"source": ["shop"], "data": {"total": [{"numeric": [">=", 100]}]}})
        >>> p.matches({"source": "shop", "data": {"total": 250}})
        True
        >>> p.matches({"source": "shop", "data": {"total": "250"}})
        False
        >>> p.source
        {'source': ['shop'], 'data': {'total': [{'numeric': ['>=', 100]}]}}
    """

    __slots__ = ("_clauses", "_deep", "_key", "_labels", "_match", "_source")

    def __init__(self, tree: ObjectNode, source: dict[str, Any]) -> None:
        self._source = source
        self._key = orjson.dumps(source, option=orjson.OPT_SORT_KEYS)
        expanded = expand(tree)
        self._clauses = [clause for clause, _ in expanded]
        self._labels = [label for _, label in expanded]
        # Generated on first use: an index of many rules rarely needs a rule's own matcher, and
        # fewer objects per rule keep the garbage collector's full passes short.
        self._match: NodeCall | None = None
        self._deep = False

    @property
    def source(self) -> dict[str, Any]:
        """The pattern as a JSON-compatible dict (a copy; ``{}`` for the match-all pattern)."""
        return copy.deepcopy(self._source)

    def matches(self, event: Mapping[str, Any] | Any) -> bool:
        """Whether ``event`` (its structured JSON form, or an object with ``to_dict()``) matches.

        Example::

            >>> compile_pattern({"type": ["a", "b"]}).matches({"type": "b"})
            True
        """
        if event.__class__ is not dict:
            event = event_mapping(event)
        match = self._match
        if match is None:
            match = self._compile()
        out: list[Any] = []
        match(event, out, ())
        if self._deep:
            out = drain(event, out)
        return bool(out)

    def _compile(self) -> NodeCall:
        """The same engine as :class:`RuleIndex`, on a trie of this pattern alone."""
        trie = Trie()
        for clause in self._clauses:
            trie.link(True, clause)
        self._deep = trie.deep > 0
        self._match = build(trie)
        return self._match

    def explain(self, event: Mapping[str, Any] | Any) -> Explanation:
        """Why ``event`` matches or not: which field, which condition.

        Example::

            >>> print(compile_pattern({"type": ["a"]}).explain({"type": "c"}))
            no match
              - type: "c" does not match ["a"]
        """
        return explain(list(zip(self._clauses, self._labels, strict=True)), event_mapping(event))

    @property
    def clauses(self) -> list[Clause]:
        """The pattern as an OR of ``$or``-free clauses, each an AND of leaves."""
        return self._clauses

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Pattern({self._key.decode()})"


def compile_pattern(pattern: Mapping[str, Any] | str | None) -> Pattern:
    """Validate and compile an event pattern.

    ``pattern`` is a mapping, its JSON text, or ``None``; ``None`` and ``{}`` match every event.
    Raises :class:`InvalidPatternError` naming the path inside the pattern that is wrong.

    Example::

        >>> compile_pattern('{"type": [{"prefix": "order."}]}').matches({"type": "order.paid"})
        True
        >>> compile_pattern({"type": "order.paid"})
        Traceback (most recent call last):
        ...
        eventbridge_sdk.InvalidPatternError: type: a field must hold an array ...
    """
    tree, source = parse_pattern(pattern)
    return Pattern(tree, source)
