"""Generated matchers for the nodes of the :class:`RuleIndex` trie.

Each trie node becomes one specialised function ``fn(event, out)``: it appends the rules whose
clauses end at the node, then, for each event path its outgoing steps look at, reads the path
once into a local and dispatches on the value's type to dict lookups, prefix slices, numeric
bisections and predicates written out in straight-line code, calling the function of each node
reached. The dispatch tables map an event value straight to the next function.

The source of a function depends only on the shape of its node (how many paths, how deep, which
kinds of tables); every value it uses, field names included, is passed in as a closure argument
``c0``, ``c1``... so that a pattern never contributes text to the generated source, and nodes of
the same shape share one compiled factory.

The generated code covers events whose values on the paths it reads are scalars, ``null``,
objects or missing. A value it cannot decide alone (an array, or a type that is not plain JSON)
raises :class:`Fallback`, and :class:`RuleIndex` then matches that event with the trie walker,
which handles arrays and array consistency.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from eventbridge_sdk.patterns._matcher import MISSING
from eventbridge_sdk.patterns._parse import Path
from eventbridge_sdk.patterns._trie import Edges, Node

__all__ = ["MAX_DEPTH", "Fallback", "NodeCall", "build"]

NodeCall = Callable[[Any, list[Any]], None]
"""``fn(event, out)``: append to ``out`` the rules that match at and below a node."""

#: Clauses longer than this keep the index on the trie walker (generated calls nest per step).
MAX_DEPTH = 64
#: Up to this many tables by length, or predicates, are written out; more are looped over.
_UNROLL = 6

#: Compiled factories kept, by source; past this the cache starts again (shapes are few).
_MAX_FACTORIES = 4096

_SCALARS = (str, int, float, bool, type(None))


class Fallback(Exception):
    """The generated code met a value it does not decide; match the event with the walker."""


def _absent(value: Any) -> Any:
    """An intermediate value of a path that is not an object: the path is missing when it is
    a scalar, ``null`` or missing; an array (or anything else) is left to the walker."""
    if value is MISSING or value.__class__ in _SCALARS:
        return MISSING
    raise Fallback


_GLOBALS: dict[str, Any] = {
    "MISSING": MISSING,
    "Fallback": Fallback,
    "absent": _absent,
    "bisect_left": bisect_left,
    "bisect_right": bisect_right,
}
_FACTORIES: dict[str, Callable[..., NodeCall]] = {}


class _Emitter:
    """Collects the lines of one node function and the constants they name.

    While ``dedupe`` is set (the edge being written can reach one node by two conditions of
    its leaf), tables hold tuples of node functions and each is called once per edge.
    """

    __slots__ = ("consts", "dedupe", "lines")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: list[Any] = []
        self.dedupe = False

    def const(self, value: Any) -> str:
        self.consts.append(value)
        return f"c{len(self.consts) - 1}"

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def steps(self, nodes: list[Node]) -> Any:
        """What a table holds for ``nodes``: one function calling them all, or when deduping
        the tuple of their functions."""
        if self.dedupe:
            return tuple(dict.fromkeys(node.fn for node in nodes))
        return calls(nodes)

    def run(self, indent: int, steps: str) -> None:
        """Call ``steps`` (an expression for what :meth:`steps` made)."""
        if not self.dedupe:
            self.line(indent, f"{steps}(ev, out)")
            return
        self.line(indent, f"for g in {steps}:")
        self.line(indent + 1, "if g not in seen:")
        self.line(indent + 2, "seen.add(g)")
        self.line(indent + 2, "g(ev, out)")

    def call_hit(self, indent: int, table: dict[Any, list[Node]], key: str) -> None:
        name = self.const({k: self.steps(nodes) for k, nodes in table.items()})
        self.line(indent, f"f = {name}.get({key})")
        self.line(indent, "if f is not None:")
        self.run(indent + 1, "f")

    def call_all(self, indent: int, nodes: list[Node]) -> None:
        self.run(indent, self.const(self.steps(nodes)))


def calls(nodes: list[Node]) -> NodeCall:
    """One function calling the functions of ``nodes`` (built already)."""
    fns = tuple(dict.fromkeys(node.fn for node in nodes if node.fn is not None))
    if len(fns) == 1:
        return fns[0]

    def call_each(event: Any, out: list[Any]) -> None:
        for fn in fns:
            fn(event, out)

    return call_each


def build(node: Node, paths: list[Path]) -> NodeCall:
    """The function of ``node``, generating it and those of its changed descendants."""
    if node.fn is not None:
        return node.fn
    for child in node.children.values():
        build(child, paths)
    em = _Emitter()
    if node.terminals:
        rules = tuple(dict.fromkeys(clause.rule for clause in node.terminals))
        if len(rules) == 1:
            em.line(2, f"out.append({em.const(rules[0])})")
        else:
            em.line(2, f"out.extend({em.const(rules)})")
    repeating = node.repeating()
    for path_id, edges in node.edge_list:
        em.dedupe = path_id in repeating
        _read(em, paths[path_id])
        if em.dedupe:
            em.line(2, "seen = set()")
        _dispatch(em, edges)
    if not em.lines:
        em.line(2, "pass")
    names = ", ".join(f"c{i}" for i in range(len(em.consts)))
    source = "\n".join(
        [f"def make({names}):", "    def node(ev, out):", *em.lines, "    return node"]
    )
    factory = _FACTORIES.get(source)
    if factory is None:
        namespace = dict(_GLOBALS)
        exec(compile(source, "<RuleIndex node>", "exec"), namespace)
        if len(_FACTORIES) >= _MAX_FACTORIES:
            _FACTORIES.clear()
        factory = _FACTORIES[source] = namespace["make"]
    fn = node.fn = factory(*em.consts)
    return fn


def _read(em: _Emitter, path: Path) -> None:
    """``v = <the value at path>``: MISSING when absent, Fallback when an array is crossed."""
    em.line(2, f"v = ev.get({em.const(path[0])}, MISSING)")
    indent = 2
    for key in path[1:]:
        em.line(indent, "if v.__class__ is dict:")
        em.line(indent + 1, f"v = v.get({em.const(key)}, MISSING)")
        indent += 1
    for outer in range(indent - 1, 1, -1):
        em.line(outer, "else:")
        em.line(outer + 1, "v = absent(v)")


def _dispatch(em: _Emitter, edges: Edges) -> None:
    """The steps of ``edges`` for the value ``v``, one branch per JSON type."""
    exact = edges.exact
    em.line(2, "c = v.__class__")
    em.line(2, "if c is str:")
    mark = len(em.lines)
    if any(key.__class__ is str for key in exact):
        em.call_hit(3, exact, "v")
    if edges.strings:
        _strings(em, edges)
    _present(em, edges, mark)
    em.line(2, "elif v is MISSING or c is dict:")
    mark = len(em.lines)
    if edges.absent:
        em.call_all(3, edges.absent)
    _pad(em, mark)
    # v - v is 0.0 for a finite float; NaN and infinities (never in JSON) satisfy no numeric
    # condition and take the next branch.
    em.line(2, "elif c is int or (c is float and v - v == 0.0):")
    mark = len(em.lines)
    if any(key.__class__ is int or key.__class__ is float for key in exact):
        em.call_hit(3, exact, "v")
    if edges.numbers is not None:
        _numbers(em, edges)
    _present(em, edges, mark)
    em.line(2, "elif c is float:")
    _present(em, edges, len(em.lines))
    em.line(2, "elif c is bool:")
    mark = len(em.lines)
    if edges.exact_bool:
        em.call_hit(3, edges.exact_bool, "v")
    _present(em, edges, mark)
    em.line(2, "elif v is None:")
    mark = len(em.lines)
    if None in exact:
        em.call_hit(3, {None: exact[None]}, "v")
    _present(em, edges, mark)
    em.line(2, "else:")
    em.line(3, "raise Fallback")


def _present(em: _Emitter, edges: Edges, mark: int) -> None:
    """What every present value does: ``exists: true`` steps and predicates."""
    if edges.present:
        em.call_all(3, edges.present)
    predicates = edges.predicates
    if len(predicates) > _UNROLL:
        em.line(3, f"for t, f in {em.const(tuple((t, em.steps([n])) for t, n, _ in predicates))}:")
        em.line(4, "if t(v):")
        em.run(5, "f")
    else:
        for test, node, _ in predicates:
            em.line(3, f"if {em.const(test)}(v):")
            em.call_all(4, [node])
    _pad(em, mark)


def _pad(em: _Emitter, mark: int) -> None:
    if len(em.lines) == mark:
        em.line(3, "pass")


def _strings(em: _Emitter, edges: Edges) -> None:
    _slices(em, edges.prefix, "v", prefix=True)
    _slices(em, edges.suffix, "v", prefix=False)
    if edges.ic or edges.prefix_ic or edges.suffix_ic:
        em.line(3, "lw = v.lower()")
        if edges.ic:
            em.call_hit(3, edges.ic, "lw")
        _slices(em, edges.prefix_ic, "lw", prefix=True)
        _slices(em, edges.suffix_ic, "lw", prefix=False)


def _slices(
    em: _Emitter, by_length: dict[int, dict[str, list[Node]]], name: str, *, prefix: bool
) -> None:
    """Look up the prefixes (or suffixes) of ``name`` of each length a table holds."""
    if not by_length:
        return
    em.line(3, f"n = len({name})")
    if len(by_length) > _UNROLL:
        tables = tuple(
            (length, {k: em.steps(nodes) for k, nodes in table.items()})
            for length, table in by_length.items()
        )
        em.line(3, f"for m, t in {em.const(tables)}:")
        em.line(4, "if n >= m:")
        em.line(5, f"f = t.get({name}[:m])" if prefix else f"f = t.get({name}[n - m:])")
        em.line(5, "if f is not None:")
        em.run(6, "f")
        return
    for length, table in by_length.items():
        size = em.const(length)
        em.line(3, f"if n >= {size}:")
        em.call_hit(4, table, f"{name}[:{size}]" if prefix else f"{name}[n - {size}:]")


def _numbers(em: _Emitter, edges: Edges) -> None:
    numbers = edges.numbers
    assert numbers is not None
    if numbers.equal:
        em.call_hit(3, numbers.equal, "v")
    for sides, ends in ((numbers.lower, (":", "")), (numbers.upper, ("", ":"))):
        for inclusive, (keys, nodes) in sides.items():
            if not keys:
                continue
            # lower: bounds below v (<, or <= when inclusive); upper: bounds above v.
            below = sides is numbers.lower
            find = "bisect_right" if inclusive == below else "bisect_left"
            cut = f"{find}({em.const(tuple(keys))}, v)"
            fns = em.const(tuple(em.steps([node]) for node in nodes))
            em.line(3, f"for f in {fns}[{ends[0]}{cut}{ends[1]}]:")
            em.run(4, "f")
