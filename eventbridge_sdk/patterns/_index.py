"""RuleIndex: every rule of a bus in one structure, matched once per event."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from eventbridge_sdk.patterns._pattern import Pattern, event_mapping

__all__ = ["RuleIndex"]

K = TypeVar("K", bound=Hashable)


class RuleIndex(Generic[K]):
    """The rules of a bus, keyed by a hashable rule key, matched together.

    Example::

        >>> idx: RuleIndex[str] = RuleIndex()
        >>> idx.add("big-orders", compile_pattern({"data": {"total": [{"numeric": [">", 100]}]}}))
        >>> idx.add("paid", compile_pattern({"type": ["order.paid"]}))
        >>> idx.match({"type": "order.paid", "data": {"total": 250}})
        ['big-orders', 'paid']
    """

    def __init__(self) -> None:
        self._rules: dict[K, Pattern] = {}

    def add(self, key: K, pattern: Pattern) -> None:
        """Add a rule, or replace the pattern of ``key`` (it keeps its place in the order)."""
        self._rules[key] = pattern

    def remove(self, key: K) -> None:
        """Remove a rule; ``KeyError`` when there is none under ``key``."""
        del self._rules[key]

    def match(self, event: Mapping[str, Any]) -> list[K]:
        """The keys of the rules ``event`` matches, each once, in insertion order."""
        if event.__class__ is not dict:
            event = event_mapping(event)
        return [key for key, pattern in self._rules.items() if pattern.matches(event)]

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, key: object) -> bool:
        return key in self._rules

    def __iter__(self) -> Iterator[K]:
        return iter(self._rules)
