"""The structure behind :class:`RuleIndex`: a trie of leaves shared by all rules.

Each clause (a ``$or``-free AND of leaves) is a path from the root: one step per leaf, in a
canonical order, so that clauses sharing leading leaves share nodes. A node's outgoing steps
are grouped by event path in an :class:`Edges`, which looks the event's values up in dicts
(exact values, prefixes and suffixes by length, lower-cased values) and only runs predicates
for the operators a dict cannot answer (numeric, anything-but, wildcard, cidr). Matching an
event visits the nodes whose leaves hold, so its cost follows the partial matches, not the
number of rules.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from math import isfinite
from typing import Any

__all__ = ["Edges", "Node", "Thresholds"]

_INDEXED_STRING_KINDS = ("prefix", "suffix", "prefix-ic", "suffix-ic", "equals-ignore-case")


class Node:
    """A state of the trie: the leaves matched so far; ``terminals`` are clauses ending here."""

    __slots__ = (
        "children",
        "edge_list",
        "edges",
        "fn",
        "leaf",
        "native",
        "path_id",
        "refs",
        "terminals",
    )

    def __init__(self, path_id: int, leaf: Any) -> None:
        self.path_id = path_id
        self.leaf = leaf
        self.refs = 0
        self.children: dict[tuple[int, str], Node] = {}
        self.edges: dict[int, Edges] = {}
        #: ``edges`` as a tuple, rebuilt on change: matching iterates it while rules change.
        self.edge_list: tuple[tuple[int, Edges], ...] = ()
        self.terminals: tuple[Any, ...] = ()
        #: The generated function matching here and below; None until built or after a change.
        self.fn: Callable[[Any, list[Any]], None] | None = None
        #: The native matcher's snapshot of the node (``_native.build``); None likewise.
        self.native: Any = None

    def changed(self) -> None:
        """Forget the compiled forms of this node: its clauses or steps changed."""
        self.fn = None
        self.native = None

    def child(self, path_id: int, leaf: Any) -> Node:
        """The node reached from here when ``leaf`` (at ``path_id``) holds; made if new."""
        key = (path_id, leaf.key)
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = Node(path_id, leaf)
            edges = self.edges.get(path_id)
            if edges is None:
                edges = self.edges[path_id] = Edges()
                self.edge_list = tuple(self.edges.items())
            edges.link(leaf, node)
        return node

    def repeating(self) -> frozenset[int]:
        """The path ids at which one event value can reach a child by two conditions of its
        leaf (``[{"prefix": "a"}, {"prefix": "ab"}]``): matching then visits each child once
        per edge, or a clause of such leaves would be walked once per combination."""
        return frozenset(
            child.path_id
            for child in self.children.values()
            if len(child.leaf.conditions) > 1
            and any(condition.kind != "exact" for condition in child.leaf.conditions)
        )

    def drop_child(self, node: Node) -> None:
        """Forget ``node``, which no clause passes through any more."""
        del self.children[(node.path_id, node.leaf.key)]
        edges = self.edges[node.path_id]
        edges.unlink(node.leaf, node)
        if edges.empty():
            del self.edges[node.path_id]
            self.edge_list = tuple(self.edges.items())


def _add(table: dict[Any, list[Node]], key: Any, node: Node) -> None:
    nodes = table.setdefault(key, [])
    if node not in nodes:  # ["a", "a"] or [1, 1.0]: one step is enough
        nodes.append(node)


def _discard(table: dict[Any, list[Node]], key: Any, node: Node) -> None:
    nodes = table.get(key)
    if nodes is not None and node in nodes:
        nodes.remove(node)
        if not nodes:
            del table[key]


class Thresholds:
    """Numeric conditions with one bound (``>``, ``>=``, ``<``, ``<=``) or ``=``, kept sorted so
    that a bisect finds every node a number reaches. Two-sided ranges stay predicates."""

    __slots__ = ("equal", "lower", "upper")

    def __init__(self) -> None:
        self.equal: dict[float | int, list[Node]] = {}
        # By inclusiveness: bounds in ascending order and the node of each, side by side.
        self.lower: dict[bool, tuple[list[float | int], list[Node]]] = {
            False: ([], []),
            True: ([], []),
        }
        self.upper: dict[bool, tuple[list[float | int], list[Node]]] = {
            False: ([], []),
            True: ([], []),
        }

    def change(self, bounds: Any, node: Node, *, add: bool) -> bool:
        """Add or remove a numeric condition's ``(low, high)``; False for a two-sided range."""
        low, high = bounds
        if low is not None and high is not None:
            if low != high:
                return False
            (_add if add else _discard)(self.equal, low[0], node)
            return True
        number, inclusive = low if low is not None else high
        keys, nodes = (self.lower if low is not None else self.upper)[inclusive]
        if add:
            at = bisect_right(keys, number)
            keys.insert(at, number)
            nodes.insert(at, node)
        else:
            start, end = bisect_left(keys, number), bisect_right(keys, number)
            at = start + nodes[start:end].index(node)
            del keys[at], nodes[at]
        return True

    def empty(self) -> bool:
        return not (
            self.equal or any(keys for keys, _ in (*self.lower.values(), *self.upper.values()))
        )

    def fire(self, value: float | int, out: list[Node]) -> None:
        hit = self.equal.get(value)
        if hit:
            out.extend(hit)
        keys, nodes = self.lower[False]  # bound < value
        if keys:
            out.extend(nodes[: bisect_left(keys, value)])
        keys, nodes = self.lower[True]  # bound <= value
        if keys:
            out.extend(nodes[: bisect_right(keys, value)])
        keys, nodes = self.upper[False]  # bound > value
        if keys:
            out.extend(nodes[bisect_right(keys, value) :])
        keys, nodes = self.upper[True]  # bound >= value
        if keys:
            out.extend(nodes[bisect_left(keys, value) :])


class Edges:
    """The steps out of one node that look at one event path.

    ``simple`` says that only exact strings, null or numbers other than 0 and 1 lead out, so one
    dict lookup decides a single value (``True`` would otherwise find the key ``1``).
    """

    __slots__ = (
        "absent",
        "exact",
        "exact_bool",
        "ic",
        "numbers",
        "predicates",
        "prefix",
        "prefix_ic",
        "present",
        "simple",
        "strings",
        "suffix",
        "suffix_ic",
    )

    def __init__(self) -> None:
        self.exact: dict[Any, list[Node]] = {}
        self.exact_bool: dict[bool, list[Node]] = {}
        self.prefix: dict[int, dict[str, list[Node]]] = {}
        self.suffix: dict[int, dict[str, list[Node]]] = {}
        self.prefix_ic: dict[int, dict[str, list[Node]]] = {}
        self.suffix_ic: dict[int, dict[str, list[Node]]] = {}
        self.ic: dict[str, list[Node]] = {}
        self.present: list[Node] = []
        self.absent: list[Node] = []
        #: (test, node, condition): the native matcher reads the condition's operands.
        self.predicates: list[tuple[Callable[[Any], bool], Node, Any]] = []
        self.numbers: Thresholds | None = None
        #: Whether any string-only table is in use (saves work for strings when not).
        self.strings = False
        self.simple = True

    def link(self, leaf: Any, node: Node) -> None:
        """Make every condition of ``leaf`` lead to ``node``."""
        for condition in leaf.conditions:
            self._change(condition, node, add=True)
        self._summarise()

    def unlink(self, leaf: Any, node: Node) -> None:
        """Undo :meth:`link`."""
        for condition in leaf.conditions:
            self._change(condition, node, add=False)
        self._summarise()

    def _summarise(self) -> None:
        if self.numbers is not None and self.numbers.empty():
            self.numbers = None
        self.strings = bool(self.prefix or self.suffix or self.prefix_ic or self.suffix_ic)
        self.strings = self.strings or bool(self.ic)
        self.simple = not (
            self.strings
            or self.exact_bool
            or self.present
            or self.absent
            or self.predicates
            or self.numbers
            or 0 in self.exact
            or 1 in self.exact
        )

    def empty(self) -> bool:
        return not (
            self.exact
            or self.exact_bool
            or self.strings
            or self.present
            or self.absent
            or self.predicates
            or self.numbers
        )

    def _change(self, condition: Any, node: Node, *, add: bool) -> None:
        kind, arg = condition.kind, condition.arg
        if kind == "exact":
            table: dict[Any, list[Node]] = self.exact_bool if isinstance(arg, bool) else self.exact
            (_add if add else _discard)(table, arg, node)
        elif kind in _INDEXED_STRING_KINDS and kind != "equals-ignore-case":
            by_length = getattr(self, kind.replace("-", "_"))
            table = by_length.setdefault(len(arg), {})
            (_add if add else _discard)(table, arg, node)
            if not table:
                del by_length[len(arg)]
        elif kind == "equals-ignore-case":
            (_add if add else _discard)(self.ic, arg, node)
        elif kind == "exists":
            nodes = self.present if arg else self.absent
            if add and node not in nodes:
                nodes.append(node)
            elif not add and node in nodes:
                nodes.remove(node)
        elif kind == "numeric" and self._change_number(condition.arg, node, add=add):
            pass
        elif add:
            self.predicates.append((condition.test, node, condition))
        else:
            self.predicates.remove((condition.test, node, condition))

    def _change_number(self, bounds: Any, node: Node, *, add: bool) -> bool:
        if self.numbers is None:
            self.numbers = Thresholds()
        return self.numbers.change(bounds, node, add=add)

    def fire(self, values: list[Any], out: list[Node]) -> None:
        """Append to ``out`` the nodes reached by the event's ``values`` at this path."""
        if not values:
            out.extend(self.absent)
            return
        if self.present:
            out.extend(self.present)
        exact = self.exact
        for value in values:
            cls = value.__class__
            hit = self.exact_bool.get(value) if cls is bool else exact.get(value)
            if hit:
                out.extend(hit)
            if self.strings and cls is str:
                self._fire_strings(value, out)
            elif self.numbers is not None and (cls is int or (cls is float and isfinite(value))):
                self.numbers.fire(value, out)  # NaN and infinities satisfy no numeric condition
            for test, node, _ in self.predicates:
                if test(value):
                    out.append(node)

    def _fire_strings(self, value: str, out: list[Node]) -> None:
        size = len(value)
        for length, table in self.prefix.items():
            if length <= size:
                hit = table.get(value[:length])
                if hit:
                    out.extend(hit)
        for length, table in self.suffix.items():
            if length <= size:
                hit = table.get(value[size - length :])
                if hit:
                    out.extend(hit)
        if self.ic or self.prefix_ic or self.suffix_ic:
            lowered = value.lower()
            size = len(lowered)
            hit = self.ic.get(lowered)
            if hit:
                out.extend(hit)
            for length, table in self.prefix_ic.items():
                if length <= size:
                    hit = table.get(lowered[:length])
                    if hit:
                        out.extend(hit)
            for length, table in self.suffix_ic.items():
                if length <= size:
                    hit = table.get(lowered[size - length :])
                    if hit:
                        out.extend(hit)
