"""The structure every matcher is generated from: a trie of leaves shared by all rules.

Each clause (a ``$or``-free AND of leaves) is a path from the root: one step per leaf, in a
canonical order, so that clauses sharing leading leaves share nodes. A node's outgoing steps
are grouped by field name in an :class:`Edges`, which keeps the steps in dicts (exact values,
prefixes and suffixes by length, lower-cased values), in sorted numeric bounds, and as
predicates for the operators a dict cannot answer (numeric ranges, anything-but, wildcard,
cidr). :mod:`_codegen` turns each node into a function; matching an event visits the nodes
whose leaves hold, so its cost follows the partial matches, not the number of rules.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from eventbridge_sdk.patterns._parse import Clause, Leaf
from eventbridge_sdk.patterns._values import Name

__all__ = ["DEFER", "Edges", "Node", "Terminal", "Thresholds", "Trie"]

#: Every this many steps down the trie, a node is called after the walk instead of from its
#: parent, so that a clause of thousands of fields never nests calls that deep.
DEFER = 32
_PRIORITY = {"type": 0, "subject": 1, "source": 2}
_EXACT = frozenset({"exact"})
_INDEXED_KINDS = frozenset(
    {"exact", "prefix", "suffix", "prefix-ic", "suffix-ic", "equals-ignore-case"}
)
_uids = itertools.count()

_INDEXED_STRING_KINDS = ("prefix", "suffix", "prefix-ic", "suffix-ic", "equals-ignore-case")


class Node:
    """A state of the trie: the leaves matched so far; ``terminals`` are clauses ending here."""

    __slots__ = (
        "children",
        "depth",
        "edge_list",
        "edges",
        "entry",
        "fn",
        "leaf",
        "name_id",
        "refs",
        "relevant",
        "terminals",
        "uid",
    )

    def __init__(self, name_id: int, leaf: Any, depth: int) -> None:
        self.name_id = name_id
        self.leaf = leaf
        self.depth = depth
        self.uid = next(_uids)
        self.refs = 0
        self.children: dict[tuple[int, str], Node] = {}
        self.edges: dict[int, Edges] = {}
        #: ``edges`` as a tuple, rebuilt on change: matching iterates it while rules change.
        self.edge_list: tuple[tuple[int, Edges], ...] = ()
        self.terminals: tuple[Terminal, ...] = ()
        #: The generated function matching here and below; None until built or after a change.
        self.fn: Callable[[Any, list[Any], Any], None] | None = None
        #: What a parent calls: ``fn``, or at every ``DEFER`` steps a stand-in deferring it.
        self.entry: Callable[[Any, list[Any], Any], None] | None = None
        #: The names of the arrays a field read here or below can be bound to (array
        #: consistency): every dot-prefix of those fields, the fields themselves included.
        self.relevant: frozenset[str] = frozenset()

    def changed(self) -> None:
        """Forget the compiled forms of this node: its clauses or steps changed."""
        self.fn = None
        self.entry = None

    def child(self, name_id: int, leaf: Any) -> Node:
        """The node reached from here when ``leaf`` (of field ``name_id``) holds; made if new."""
        key = (name_id, leaf.key)
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = Node(name_id, leaf, self.depth + 1)
            edges = self.edges.get(name_id)
            if edges is None:
                edges = self.edges[name_id] = Edges()
                self.edge_list = tuple(self.edges.items())
            edges.link(leaf, node)
        return node

    def repeating(self) -> frozenset[int]:
        """The fields at which one event value can reach a child by two conditions of its
        leaf (``[{"prefix": "a"}, {"prefix": "ab"}]``): matching then visits each child once
        per edge, or a clause of such leaves would be walked once per combination."""
        return frozenset(
            child.name_id
            for child in self.children.values()
            if len(child.leaf.conditions) > 1
            and any(condition.kind != "exact" for condition in child.leaf.conditions)
        )

    def drop_child(self, node: Node) -> None:
        """Forget ``node``, which no clause passes through any more."""
        del self.children[(node.name_id, node.leaf.key)]
        edges = self.edges[node.name_id]
        edges.unlink(node.leaf, node)
        if edges.empty():
            del self.edges[node.name_id]
            self.edge_list = tuple(self.edges.items())


class Terminal:
    """One clause of a rule, ending at ``nodes[-1]``: what a match appends is ``rule``."""

    __slots__ = ("nodes", "rule")

    def __init__(self, rule: Any, nodes: list[Node]) -> None:
        self.rule = rule
        self.nodes = nodes


def _rank(leaf: Leaf) -> tuple[int, int, tuple[str, ...], str]:
    """The order of a clause's leaves in the trie: selective steps first, so that most events
    leave the trie early. Exact values first (one lookup, no slicing), then prefixes, suffixes
    and ignore-case values, then predicates, then ``exists``; within each, CloudEvents
    ``type``, then ``subject`` and ``source``, then other attributes, then ``data`` fields by
    depth. Equal leaves of different rules then share nodes."""
    kinds = {condition.kind for condition in leaf.conditions}
    if kinds == _EXACT:
        rank = 0
    elif kinds <= _INDEXED_KINDS:
        rank = 1
    elif "exists" in kinds:
        rank = 3
    else:
        rank = 2
    parts = leaf.parts
    priority = _PRIORITY.get(parts[0], 3) if len(parts) == 1 else 3 + len(parts)
    return rank, priority, parts, leaf.key


class Trie:
    """The clauses of a set of rules (a bus's, or one pattern's) and the field names they read.

    Not thread-safe: link, unlink and match from one thread.
    """

    def __init__(self) -> None:
        self.root = Node(-1, None, 0)
        self.names: list[Name] = []
        self._name_ids: dict[str, int] = {}
        #: Live clauses longer than ``DEFER`` steps: while any, matching runs deferred calls.
        self.deep = 0

    def name_id(self, text: str) -> int:
        """The id of field name ``text``, made if new."""
        name_id = self._name_ids.get(text)
        if name_id is None:
            name_id = self._name_ids[text] = len(self.names)
            self.names.append(Name(name_id, text))
        return name_id

    def link(self, rule: Any, clause: Clause) -> Terminal:
        """Add ``clause`` of ``rule``; the record :meth:`unlink` takes back."""
        steps = sorted({(leaf.name, leaf.key): leaf for leaf in clause}.values(), key=_rank)
        node = self.root
        node.refs += 1
        node.changed()
        nodes = [node]
        for leaf in steps:
            node = node.child(self.name_id(leaf.name), leaf)
            node.refs += 1
            node.changed()
            nodes.append(node)
        if len(nodes) > DEFER:
            self.deep += 1
        record = Terminal(rule, nodes)
        node.terminals = (*node.terminals, record)
        return record

    def unlink(self, record: Terminal) -> None:
        """Remove the clause :meth:`link` returned ``record`` for."""
        nodes = record.nodes
        nodes[-1].terminals = tuple(t for t in nodes[-1].terminals if t is not record)
        if len(nodes) > DEFER:
            self.deep -= 1
        for node in nodes:
            node.changed()
        self.root.refs -= 1
        for depth in range(len(nodes) - 1, 0, -1):
            node = nodes[depth]
            node.refs -= 1
            if node.refs == 0:
                nodes[depth - 1].drop_child(node)


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


class Edges:
    """The steps out of one node that look at one field."""

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
        #: (test, node, condition) for the conditions no table answers.
        self.predicates: list[tuple[Callable[[Any], bool], Node, Any]] = []
        self.numbers: Thresholds | None = None
        #: Whether any string-only table is in use (saves work for strings when not).
        self.strings = False

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
