"""RuleIndex: every rule of a bus in one structure, matched once per event."""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from eventbridge_sdk.patterns import _native
from eventbridge_sdk.patterns._codegen import MAX_DEPTH, Fallback, build
from eventbridge_sdk.patterns._matcher import MISSING, leaf_values
from eventbridge_sdk.patterns._parse import Leaf, Path
from eventbridge_sdk.patterns._pattern import Pattern, event_mapping
from eventbridge_sdk.patterns._trie import Node

__all__ = ["RuleIndex"]

K = TypeVar("K", bound=Hashable)

_native_match = _native.match
_NO_VALUES: list[Any] = []  # shared, never mutated
_ELSEWHERE = object()  # the path runs into an array or a scalar: leave it to _walk
_PRIORITY = {"type": 0, "subject": 1, "source": 2}
_EXACT = frozenset({"exact"})
_INDEXED_KINDS = frozenset(
    {"exact", "prefix", "suffix", "prefix-ic", "suffix-ic", "equals-ignore-case"}
)


# Nothing in the trie points back up (no parent links, no clause-to-node links): dropping an
# index frees it by reference counting, and the garbage collector has no cycles to chase.


class _Rule:
    __slots__ = ("entry", "key", "order", "pattern")

    def __init__(self, key: Any, pattern: Pattern, order: int) -> None:
        self.key = key
        self.pattern = pattern
        self.order = order
        #: What the native matcher finds: it sorts by the order and returns the key.
        self.entry = (order, key)


class _Clause:
    """One ``$or``-free alternative of a rule: a terminal of the node its leaves lead to."""

    __slots__ = ("check", "index", "path_ids", "rule")

    def __init__(self, rule: _Rule, nodes: list[Node], index: int) -> None:
        self.rule = rule
        self.index = index
        self.path_ids = tuple(node.path_id for node in nodes[1:])
        #: Two or more leaves could sit in one array: verify with the array-consistent matcher.
        self.check = len(nodes) > 2

    def verify(self, event: Any) -> bool:
        return self.rule.pattern.clause_matchers[self.index](event, event)


def _rank(leaf: Leaf) -> tuple[int, int, Path, str]:
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
    path = leaf.path
    priority = _PRIORITY.get(path[0], 3) if len(path) == 1 else 3 + len(path)
    return rank, priority, path, leaf.key


class RuleIndex(Generic[K]):
    """The rules of a bus, keyed by a hashable rule key, matched together.

    The rules' leaves are kept in one trie, indexed by the exact values, prefixes and suffixes
    they name, so matching an event costs about the same for ten rules or ten thousand. The
    trie is matched by a small C extension where it was built (``native``; see
    ``_native.py``), else by Python functions generated per trie node; either is rebuilt for
    the changed nodes on the first match after a change. An event with an array on a path the
    rules read is matched by walking the trie instead. ``native=False`` asks for the generated
    Python code, ``native=True`` for the C matcher (``ValueError`` where it is not built); by
    default the C matcher is used unless ``EVENTBRIDGE_NATIVE_PATTERNS=0`` is set. Not
    thread-safe: add, remove and match from one thread (the event loop).

    Example::

        >>> idx: RuleIndex[str] = RuleIndex()
        >>> idx.add("big-orders", compile_pattern({"data": {"total": [{"numeric": [">", 100]}]}}))
        >>> idx.add("paid", compile_pattern({"type": ["order.paid"]}))
        >>> idx.match({"type": "order.paid", "data": {"total": 250}})
        ['big-orders', 'paid']
        >>> "paid" in idx, len(idx)
        (True, 2)
    """

    def __init__(self, *, native: bool | None = None) -> None:
        if native and not _native.AVAILABLE:
            raise ValueError(
                "RuleIndex(native=True): the native matcher (eventbridge_sdk.patterns._speedups)"
                " is not built in this installation; reinstall with a C compiler available"
            )
        #: Match with the C extension (else with generated Python code); same answers.
        self._native = _native.ENABLED if native is None else native
        self._rules: dict[K, _Rule] = {}
        #: Per rule key: each clause and the trie nodes from the root to its terminal.
        self._links: dict[K, list[tuple[_Clause, list[Node]]]] = {}
        self._root = Node(-1, None)
        self._path_ids: dict[Path, int] = {}
        self._paths: list[Path] = []
        #: Per path id: the key itself for a top-level attribute, else the path.
        self._keys: list[str | Path] = []
        self._orders = 0
        #: Clauses too long for generated code: while any is live, match with the walker.
        self._deep = 0

    @property
    def native(self) -> bool:
        """Whether this index matches with the native (C) matcher; else with generated Python
        code. Both give the same answers."""
        return self._native

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
        for index, clause in enumerate(pattern.clauses):
            self._link(rule, clause, index)
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
            if event.__class__ is not dict:
                return self._walk_match(event)
        if self._native:
            root = self._root.native
            if root is None:
                if self._deep:
                    return self._walk_match(event)
                root = _native.build(self._root, self._paths, self._path_id)
            keys = _native_match(root, event, len(self._paths))
            return self._walk_match(event) if keys is None else keys
        fast = self._root.fn
        if fast is None:
            if self._deep:
                return self._walk_match(event)
            fast = build(self._root, self._paths)
        out: list[_Rule] = []
        try:
            fast(event, out)
        except (Fallback, RecursionError):
            return self._walk_match(event)
        if not out:
            return []
        if len(out) == 1:
            return [out[0].key]
        accepted = dict.fromkeys(out)
        if len(accepted) == 1:
            return [out[0].key]
        return [rule.key for rule in sorted(accepted, key=_order)]

    def _walk_match(self, event: Any) -> list[K]:
        """Match by walking the trie: any event, arrays and array consistency included."""
        found: list[_Clause] = []
        cache: dict[int, list[Any]] = {}
        crossed: set[int] = set()
        keys = self._keys
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.terminals:
                found.extend(node.terminals)
            for path_id, edges in node.edge_list:
                values = cache.get(path_id)
                if values is None:
                    key = keys[path_id]
                    if key.__class__ is str:  # a top-level attribute: the common case
                        value = event.get(key, MISSING)
                    else:  # objects all the way is the common case; _walk does the rest
                        value = event
                        for part in key:
                            if value.__class__ is not dict:
                                value = _ELSEWHERE
                                break
                            value = value.get(part, MISSING)
                            if value is MISSING:
                                break
                    cls = value.__class__
                    if cls is str or cls is int or cls is float or cls is bool:
                        values = [value]
                    elif value is MISSING:
                        values = _NO_VALUES
                    else:
                        values = self._walk(event, path_id, crossed)
                    cache[path_id] = values
                if edges.simple and len(values) == 1:
                    hit = edges.exact.get(values[0])
                    if hit:
                        stack.extend(hit)
                else:
                    reached: list[Node] = []
                    edges.fire(values, reached)
                    if reached:
                        stack.extend(dict.fromkeys(reached) if len(reached) > 1 else reached)
        if not found:
            return []
        if len(found) == 1 and not (found[0].check and crossed):
            return [found[0].rule.key]
        return self._resolve(found, crossed, event)

    def _walk(self, event: Any, path_id: int, crossed: set[int]) -> list[Any]:
        path = self._paths[path_id]
        value = event
        for key in path:
            if value.__class__ is not dict:
                break
            value = value.get(key, MISSING)
            if value is MISSING:
                return _NO_VALUES
        else:
            cls = value.__class__
            if cls is str or cls is int or cls is float or cls is bool or value is None:
                return [value]
        values, through_array = leaf_values(event, path)
        if through_array:
            crossed.add(path_id)
        return values

    def _resolve(self, found: list[_Clause], crossed: set[int], event: Any) -> list[K]:
        accepted: dict[_Rule, None] = {}
        for clause in found:
            rule = clause.rule
            if rule in accepted:
                continue
            if clause.check and crossed:
                leaves_in_arrays = sum(1 for path_id in clause.path_ids if path_id in crossed)
                if leaves_in_arrays >= 2 and not clause.verify(event):
                    continue
            accepted[rule] = None
        if len(accepted) > 1:
            return [rule.key for rule in sorted(accepted, key=_order)]
        return [rule.key for rule in accepted]

    def _path_id(self, path: Path) -> int:
        path_id = self._path_ids.get(path)
        if path_id is None:
            path_id = self._path_ids[path] = len(self._paths)
            if _INTERN:
                path = tuple(map(sys.intern, path))
            self._paths.append(path)
            self._keys.append(path[0] if len(path) == 1 else path)
        return path_id

    def _link(self, rule: _Rule, clause: tuple[Leaf, ...], index: int) -> None:
        steps = sorted({(leaf.path, leaf.key): leaf for leaf in clause}.values(), key=_rank)
        node = self._root
        node.refs += 1
        node.changed()
        nodes = [node]
        for leaf in steps:
            node = node.child(self._path_id(leaf.path), leaf)
            node.refs += 1
            node.changed()
            nodes.append(node)
        if len(nodes) > MAX_DEPTH:
            self._deep += 1
        record = _Clause(rule, nodes, index)
        node.terminals = (*node.terminals, record)
        self._links.setdefault(rule.key, []).append((record, nodes))

    def _unlink(self, rule: _Rule) -> None:
        for record, nodes in self._links.pop(rule.key):
            nodes[-1].terminals = tuple(t for t in nodes[-1].terminals if t is not record)
            if len(nodes) > MAX_DEPTH:
                self._deep -= 1
            for node in nodes:
                node.changed()
            self._root.refs -= 1
            for depth in range(len(nodes) - 1, 0, -1):
                node = nodes[depth]
                node.refs -= 1
                if node.refs == 0:
                    nodes[depth - 1].drop_child(node)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, key: object) -> bool:
        return key in self._rules

    def __iter__(self) -> Iterator[K]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"RuleIndex({len(self._rules)} rules)"


#: Whether the index interns the keys of its paths: interned keys are the very objects of the
#: keys of events built in code (dict displays, ``Event.to_dict()``), so that a dict lookup
#: stops at its first identity check. Not on 3.12, where early releases never free interned
#: strings and an index whose rules come and go would keep every field name it saw.
_INTERN = sys.version_info[:2] != (3, 12)


def _order(rule: _Rule) -> int:
    return rule.order
