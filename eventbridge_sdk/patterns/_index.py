"""RuleIndex: every rule of a bus in one structure, matched once per event."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from eventbridge_sdk.patterns._codegen import build
from eventbridge_sdk.patterns._pattern import Pattern, event_mapping
from eventbridge_sdk.patterns._trie import Terminal, Trie
from eventbridge_sdk.patterns._values import drain

__all__ = ["RuleIndex"]

K = TypeVar("K", bound=Hashable)


class _Rule:
    __slots__ = ("key", "order", "pattern")

    def __init__(self, key: Any, pattern: Pattern, order: int) -> None:
        self.key = key
        self.pattern = pattern
        self.order = order


def _order(rule: _Rule) -> int:
    return rule.order


class RuleIndex(Generic[K]):
    """The rules of a bus, keyed by a hashable rule key, matched together.

    The rules' clauses are kept in one trie whose steps are indexed by the exact values,
    prefixes and suffixes they name, so matching an event costs about the same for ten rules
    or ten thousand. Each trie node is matched by a Python function generated for it (the
    engine ``Pattern.matches`` runs too), rebuilt for the changed nodes on the first match
    after a change. Not thread-safe: add, remove and match from one thread (the event loop).

    Example::

        >>> idx: RuleIndex[str] = RuleIndex()
        >>> idx.add("big-orders", compile_pattern({"data": {"total": [{"numeric": [">", 100]}]}}))
        >>> idx.add("paid", compile_pattern({"type": ["order.paid"]}))
        >>> idx.match({"type": "order.paid", "data": {"total": 250}})
        ['big-orders', 'paid']
        >>> "paid" in idx, len(idx)
        (True, 2)
    """

    def __init__(self) -> None:
        self._rules: dict[K, _Rule] = {}
        #: Per rule key: the trie's record of each of its clauses.
        self._links: dict[K, list[Terminal]] = {}
        self._trie = Trie()
        self._orders = 0

    def add(self, key: K, pattern: Pattern) -> None:
        """Add a rule, or replace the pattern of ``key`` (it keeps its place in the order)."""
        if not isinstance(pattern, Pattern):
            raise TypeError(f"pattern must be a Pattern from compile_pattern(), not {pattern!r}")
        old = self._rules.get(key)
        if old is not None:
            self._unlink(key)
            order = old.order
        else:
            order = self._orders
            self._orders += 1
        rule = _Rule(key, pattern, order)
        self._links[key] = [self._trie.link(rule, clause) for clause in pattern.clauses]
        self._rules[key] = rule

    def remove(self, key: K) -> None:
        """Remove a rule; ``KeyError`` when there is none under ``key``."""
        del self._rules[key]
        self._unlink(key)

    def _unlink(self, key: K) -> None:
        for record in self._links.pop(key):
            self._trie.unlink(record)

    def match(self, event: Mapping[str, Any]) -> list[K]:
        """The keys of the rules ``event`` matches, each once, in insertion order.

        ``event`` is the structured JSON form of an event (an object with ``to_dict()`` works
        too); the result agrees with ``pattern.matches(event)`` for every rule.
        """
        if event.__class__ is not dict:
            event = event_mapping(event)
        trie = self._trie
        fn = trie.root.fn
        if fn is None:
            fn = build(trie)
        out: list[Any] = []
        fn(event, out, ())
        if trie.deep:
            out = drain(event, out)
        if not out:
            return []
        if len(out) == 1:
            return [out[0].key]
        accepted = dict.fromkeys(out)
        if len(accepted) == 1:
            return [out[0].key]
        return [rule.key for rule in sorted(accepted, key=_order)]

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, key: object) -> bool:
        return key in self._rules

    def __iter__(self) -> Iterator[K]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"RuleIndex({len(self._rules)} rules)"
