"""RuleIndex: every rule of a bus in one structure, matched once per event."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from eventbridge_sdk.patterns._matcher import MISSING, NodeFn, leaf_values
from eventbridge_sdk.patterns._parse import Leaf, Path
from eventbridge_sdk.patterns._pattern import Pattern, event_mapping
from eventbridge_sdk.patterns._trie import Node

__all__ = ["RuleIndex"]

K = TypeVar("K", bound=Hashable)

_NO_VALUES: tuple[list[Any], bool] = ([], False)
_EXACT_KINDS = frozenset({"exact"})
_INDEXED_KINDS = frozenset(
    {"exact", "prefix", "suffix", "prefix-ic", "suffix-ic", "equals-ignore-case"}
)


class _Rule:
    __slots__ = ("clauses", "key", "order", "pattern")

    def __init__(self, key: Any, pattern: Pattern, order: int) -> None:
        self.key = key
        self.pattern = pattern
        self.order = order
        self.clauses: list[_Clause] = []


class _Clause:
    """One ``$or``-free alternative of a rule, ending at ``nodes[-1]`` of the trie."""

    __slots__ = ("check", "nodes", "path_ids", "rule")

    def __init__(self, rule: _Rule, nodes: list[Node], check: NodeFn | None) -> None:
        self.rule = rule
        self.nodes = nodes
        self.path_ids = tuple(node.path_id for node in nodes[1:])
        #: The array-consistent matcher, kept when two or more leaves could sit in one array.
        self.check = check


def _rank(leaf: Leaf) -> tuple[int, Path, str]:
    """Dict-answered leaves first, so that few events get as far as the predicates."""
    kinds = {condition.kind for condition in leaf.conditions}
    if kinds <= _EXACT_KINDS:
        rank = 0
    elif kinds <= _INDEXED_KINDS:
        rank = 1
    elif any(c.kind == "exists" and c.arg is False for c in leaf.conditions):
        rank = 3
    else:
        rank = 2
    return rank, leaf.path, leaf.key


class RuleIndex(Generic[K]):
    """The rules of a bus, keyed by a hashable rule key, matched together.

    The rules' leaves are kept in one trie, indexed by the exact values, prefixes and suffixes
    they name, so matching an event costs about the same for ten rules or ten thousand.
    Not thread-safe: add, remove and match from one thread (the event loop).

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
        self._root = Node(None, -1, None)
        self._path_ids: dict[Path, int] = {}
        self._paths: list[Path] = []
        self._orders = 0

    def add(self, key: K, pattern: Pattern) -> None:
        """Add a rule, or replace the pattern of ``key`` (it keeps its place in the order)."""
        if not isinstance(pattern, Pattern):
            raise TypeError(f"pattern must be a Pattern from compile_pattern(), not {pattern!r}")
        old = self._rules.get(key)
        if old is not None:
            self._unlink(old)
            order = old.order
        else:
            order = self._orders
            self._orders += 1
        rule = _Rule(key, pattern, order)
        for clause, matcher in zip(pattern.clauses, pattern.clause_matchers, strict=True):
            self._link(rule, clause, matcher)
        self._rules[key] = rule

    def remove(self, key: K) -> None:
        """Remove a rule; ``KeyError`` when there is none under ``key``."""
        rule = self._rules.pop(key)
        self._unlink(rule)

    def match(self, event: Mapping[str, Any]) -> list[K]:
        """The keys of the rules ``event`` matches, each once, in insertion order.

        ``event`` is the structured JSON form of an event (an object with ``to_dict()`` works
        too); the result agrees with ``pattern.matches(event)`` for every rule.
        """
        if event.__class__ is not dict:
            event = event_mapping(event)
        found: list[_Clause] = []
        cache: dict[int, tuple[list[Any], bool]] = {}
        paths = self._paths
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.terminals:
                found.extend(node.terminals)
            for path_id, edges in node.edge_list:
                entry = cache.get(path_id)
                if entry is None:
                    entry = cache[path_id] = _values(event, paths[path_id])
                reached: list[Node] = []
                edges.fire(entry[0], reached)
                if reached:
                    stack.extend(dict.fromkeys(reached) if len(reached) > 1 else reached)
        if not found:
            return []
        if len(found) == 1 and found[0].check is None:
            return [found[0].rule.key]
        return self._resolve(found, cache, event)

    def _resolve(
        self, found: list[_Clause], cache: dict[int, tuple[list[Any], bool]], event: Any
    ) -> list[K]:
        accepted: dict[_Rule, None] = {}
        for clause in found:
            rule = clause.rule
            if rule in accepted:
                continue
            if clause.check is not None:
                crossed = sum(1 for path_id in clause.path_ids if cache[path_id][1])
                if crossed >= 2 and not clause.check(event, event):
                    continue
            accepted[rule] = None
        if len(accepted) > 1:
            return [rule.key for rule in sorted(accepted, key=lambda r: r.order)]
        return [rule.key for rule in accepted]

    def _path_id(self, path: Path) -> int:
        path_id = self._path_ids.get(path)
        if path_id is None:
            path_id = self._path_ids[path] = len(self._paths)
            self._paths.append(path)
        return path_id

    def _link(self, rule: _Rule, clause: tuple[Leaf, ...], matcher: NodeFn) -> None:
        steps = sorted({(leaf.path, leaf.key): leaf for leaf in clause}.values(), key=_rank)
        node = self._root
        node.refs += 1
        nodes = [node]
        for leaf in steps:
            node = node.child(self._path_id(leaf.path), leaf)
            node.refs += 1
            nodes.append(node)
        record = _Clause(rule, nodes, matcher if len(steps) > 1 else None)
        node.terminals = (*node.terminals, record)
        rule.clauses.append(record)

    def _unlink(self, rule: _Rule) -> None:
        for record in rule.clauses:
            last = record.nodes[-1]
            last.terminals = tuple(t for t in last.terminals if t is not record)
            for node in reversed(record.nodes):
                node.refs -= 1
                if node.refs == 0 and node.parent is not None:
                    node.parent.drop_child(node)
        rule.clauses.clear()

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, key: object) -> bool:
        return key in self._rules

    def __iter__(self) -> Iterator[K]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"RuleIndex({len(self._rules)} rules)"


def _values(event: Any, path: Path) -> tuple[list[Any], bool]:
    """The scalars at ``path`` and whether an array was crossed; dicts all the way is fast."""
    value = event
    for key in path:
        if value.__class__ is not dict:
            return leaf_values(event, path)
        value = value.get(key, MISSING)
        if value is MISSING:
            return _NO_VALUES
    cls = value.__class__
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return [value], False
    return leaf_values(event, path)
