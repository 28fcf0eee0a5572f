"""The matching engine: a generated Python function per node of the rule trie.

Each trie node becomes one function ``node(event, out, b)``: it appends the rules whose
clauses end at the node, then, for each field its outgoing steps look at, reads the field's
value into a local and dispatches on the value's type to dict lookups, prefix slices, numeric
bisections and predicates written out in straight-line code, calling the function of each node
reached. ``Pattern.matches`` and ``RuleIndex.match`` both run these functions (a pattern on a
trie of its own), so one engine decides every match; ``explain()`` is the independent second.

Reading a field: a value reached through plain nested objects, with no key on the way that
spells part of the name with a dot, is read inline (the common case: one dict lookup per
key). Anything else, an array on the way or at the field, a dotted key such as ``"data.id"``,
a mapping that is not a dict, a subclass of ``str`` or ``int``, takes the slow branch: every
value of the field is collected by :func:`values` and stepped on one by one, with the array
elements it was found in bound (array consistency, see :mod:`_values`). A node that reads
many fields of one object (rules on a thousand different ``data`` fields) finds them among the
object's own keys instead of reading each one.

The source of a function depends only on the shape of its node (how many fields, how deep,
which kinds of tables); every value it uses, field names included, is passed in as a closure
argument ``c0``, ``c1``... so that a pattern never contributes text to the generated source,
and nodes of the same shape share one compiled factory.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from eventbridge_sdk.patterns._trie import DEFER, Edges, Node, Trie
from eventbridge_sdk.patterns._values import (
    MISSING,
    SLOW,
    Name,
    absent,
    enter,
    later,
    parent_object,
    read_far,
    slow,
    slow_group,
)

__all__ = ["NodeCall", "build"]

NodeCall = Callable[[Any, list[Any], Any], None]
"""``fn(event, out, b)``: append to ``out`` the rules that match at and below a node, with
the array elements bound so far ``b`` (``()`` for none)."""

#: Up to this many tables by length, or predicates, are written out; more are looped over.
_UNROLL = 6
#: A node reading at least this many fields of one object walks the object's keys instead.
_GROUP = 8
#: Names of up to this many parts are read inline; longer ones by :func:`read_far`.
_INLINE_PARTS = 4
#: Compiled factories kept, by source; past this the cache starts again (shapes are few).
_MAX_FACTORIES = 4096


_GLOBALS: dict[str, Any] = {
    "MISSING": MISSING,
    "SLOW": SLOW,
    "absent": absent,
    "bisect_left": bisect_left,
    "bisect_right": bisect_right,
    "enter": enter,
    "parent_object": parent_object,
    "read_far": read_far,
    "slow": slow,
    "slow_group": slow_group,
}
_FACTORIES: dict[str, Callable[..., Any]] = {}


class _Emitter:
    """Collects the lines of one generated function and the constants they name.

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
            return tuple(dict.fromkeys(node.entry for node in nodes))
        return calls(nodes)

    def run(self, indent: int, steps: str) -> None:
        """Call ``steps`` (an expression for what :meth:`steps` made)."""
        if not self.dedupe:
            self.line(indent, f"{steps}(ev, out, b)")
            return
        self.line(indent, f"for g in {steps}:")
        self.line(indent + 1, "if g not in seen:")
        self.line(indent + 2, "seen.add(g)")
        self.line(indent + 2, "g(ev, out, b)")

    def call_hit(self, indent: int, table: dict[Any, list[Node]], key: str) -> None:
        name = self.const({k: self.steps(nodes) for k, nodes in table.items()})
        self.line(indent, f"f = {name}.get({key})")
        self.line(indent, "if f is not None:")
        self.run(indent + 1, "f")

    def call_all(self, indent: int, nodes: list[Node]) -> None:
        self.run(indent, self.const(self.steps(nodes)))

    def compile(self, signature: str) -> Any:
        """The function these lines are the body of, from a factory shared by equal sources."""
        if not self.lines:
            self.line(2, "pass")
        names = ", ".join(f"c{i}" for i in range(len(self.consts)))
        source = "\n".join(
            [f"def make({names}):", f"    def fn({signature}):", *self.lines, "    return fn"]
        )
        factory = _FACTORIES.get(source)
        if factory is None:
            namespace = dict(_GLOBALS)
            exec(compile(source, "<RuleIndex node>", "exec"), namespace)
            if len(_FACTORIES) >= _MAX_FACTORIES:
                _FACTORIES.clear()
            factory = _FACTORIES[source] = namespace["make"]
        return factory(*self.consts)


def calls(nodes: list[Node]) -> NodeCall:
    """One function calling the entries of ``nodes`` (built already)."""
    fns = tuple(dict.fromkeys(node.entry for node in nodes if node.entry is not None))
    if len(fns) == 1:
        return fns[0]

    def call_each(event: Any, out: list[Any], b: Any) -> None:
        for fn in fns:
            fn(event, out, b)

    return call_each


def build(trie: Trie) -> NodeCall:
    """The function of the trie's root, generating it and those of every changed node."""
    root = trie.root
    if root.fn is not None:
        return root.fn
    stack: list[tuple[Node, bool]] = [(root, False)]
    built = None
    while stack:  # children before parents, without recursion: clauses may be long
        node, ready = stack.pop()
        if node.fn is not None:
            continue
        if ready:
            built = _build_node(node, trie.names)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children.values() if child.fn is None)
    assert built is not None  # the root is built last
    return built


def _build_node(node: Node, names: list[Name]) -> NodeCall:
    relevant: set[str] = set()
    for name_id, _ in node.edge_list:
        relevant.update(names[name_id].prefixes)
    for child in node.children.values():
        relevant |= child.relevant
    node.relevant = frozenset(relevant)
    repeating = node.repeating()
    singles: list[tuple[Name, Edges]] = []
    groups: dict[tuple[str, ...], list[tuple[Name, Edges]]] = {}
    for name_id, edges in node.edge_list:
        name = names[name_id]
        if edges.absent:
            singles.append((name, edges))
        else:
            groups.setdefault(name.parts[:-1], []).append((name, edges))
    for parent, members in list(groups.items()):
        if len(members) < _GROUP:
            singles.extend(members)
            del groups[parent]
    em = _Emitter()
    em.line(2, "if b:")
    em.line(3, f"b = enter(b, {em.const(node.uid)}, {em.const(node.relevant)})")
    em.line(3, "if b is None:")
    em.line(4, "return")
    if node.terminals:
        rules = tuple(dict.fromkeys(terminal.rule for terminal in node.terminals))
        if len(rules) == 1:
            em.line(2, f"out.append({em.const(rules[0])})")
        else:
            em.line(2, f"out.extend({em.const(rules)})")
    for name, edges in singles:
        em.dedupe = name.id in repeating
        _read(em, name)
        if em.dedupe:
            em.line(2, "seen = set()")
        edge = _LazyEdge(name, edges, dedupe=em.dedupe)
        _dispatch(em, edges, f"slow(ev, out, b, {em.const(name)}, {em.const(edge)})")
    em.dedupe = False
    for parent, members in groups.items():
        _group(
            em,
            parent,
            [(name, _edge_fn(name, edges, dedupe=name.id in repeating)) for name, edges in members],
        )
    fn: NodeCall = em.compile("ev, out, b")
    node.fn = fn
    node.entry = later(fn) if node.depth and node.depth % DEFER == 0 else fn
    return fn


class _LazyEdge:
    """The edge function of a field read inline, generated the first time a value of the field
    takes the slow branch (most never do, and generating costs as much as the node)."""

    __slots__ = ("dedupe", "edges", "fn", "name")

    def __init__(self, name: Name, edges: Edges, *, dedupe: bool) -> None:
        self.name = name
        self.edges = edges
        self.dedupe = dedupe
        self.fn: Callable[..., None] | None = None

    def __call__(self, event: Any, out: list[Any], b: Any, value: Any) -> None:
        fn = self.fn
        if fn is None:
            fn = self.fn = _edge_fn(self.name, self.edges, dedupe=self.dedupe)
        fn(event, out, b, value)


def _edge_fn(name: Name, edges: Edges, *, dedupe: bool) -> Callable[..., None]:
    """``edge(event, out, b, v)``: step on the value ``v`` of field ``name``."""
    em = _Emitter()
    em.dedupe = dedupe
    if dedupe:
        em.line(2, "seen = set()")
    _dispatch(em, edges, f"slow(ev, out, b, {em.const(name)}, fn)")
    return em.compile("ev, out, b, v")  # type: ignore[no-any-return]


def _read(em: _Emitter, name: Name) -> None:
    """``v = <the value of field name>``: MISSING when absent, SLOW when it must be read in
    full (an array or another mapping on the way, or a key that spells part of it dotted)."""
    parts = name.parts
    if len(parts) > _INLINE_PARTS:
        em.line(2, f"v = read_far(ev, {em.const(name)})")
        return
    _step(em, name, 0, 2, "ev")


def _step(em: _Emitter, name: Name, start: int, indent: int, obj: str) -> None:
    dotted = [key for _, key in name.spans[start][1:]]
    if dotted:
        em.line(indent, "if " + " or ".join(f"{em.const(key)} in {obj}" for key in dotted) + ":")
        em.line(indent + 1, "v = SLOW")
        em.line(indent, "else:")
        indent += 1
    em.line(indent, f"v = {obj}.get({em.const(name.parts[start])}, MISSING)")
    if start + 1 < len(name.parts):
        em.line(indent, "if v.__class__ is dict:")
        _step(em, name, start + 1, indent + 1, "v")
        em.line(indent, "elif v is not MISSING:")
        em.line(indent + 1, "v = absent(v)")


def _group(em: _Emitter, parent: tuple[str, ...], members: list[tuple[Name, Any]]) -> None:
    """Step on the fields ``members`` of the object at ``parent`` found among its keys."""
    table = {name.parts[-1]: edge for name, edge in members}
    # The keys that would spell, at each depth on the way, a run of parts with dots.
    spelt = tuple(
        frozenset(key for name, _ in members for _, key in name.spans[start][1:] if "." in key)
        for start in range(len(parent))
    )
    fallback = f"slow_group(ev, out, b, {em.const(tuple(members))})"
    found = [
        f"for k in {em.const(frozenset(table))}.intersection(o):",
        f"    {em.const(table)}[k](ev, out, b, o[k])",
    ]
    if len(parent) > _INLINE_PARTS:
        em.line(2, f"o = parent_object(ev, {em.const(parent)}, {em.const(spelt)})")
        em.line(2, "if o.__class__ is dict:")
        for text in found:
            em.line(3, text)
        em.line(2, "elif o is SLOW:")
        em.line(3, fallback)
        return
    em.line(2, "o = ev")
    indent = 2
    for part, dotted in zip(parent, spelt, strict=True):
        em.line(indent, f"if {em.const(dotted)}.isdisjoint(o):")
        em.line(indent + 1, f"o = o.get({em.const(part)}, MISSING)")
        em.line(indent + 1, "if o.__class__ is not dict:")
        em.line(indent + 2, "o = absent(o)")
        em.line(indent, "else:")
        em.line(indent + 1, "o = SLOW")
        em.line(indent, "if o.__class__ is dict:")
        indent += 1
    if not parent:  # the event's own keys; a mapping that is not a dict is read in full
        em.line(indent, "if o.__class__ is not dict:")
        em.line(indent + 1, "o = SLOW")
        em.line(indent, "else:")
        indent += 1
    for text in found:
        em.line(indent, text)
    em.line(2, "if o is SLOW:")
    em.line(3, fallback)


def _dispatch(em: _Emitter, edges: Edges, slow: str) -> None:
    """The steps of ``edges`` for the value ``v``, one branch per JSON type; any other value
    (SLOW, an array, a subclass of a JSON type) runs ``slow``."""
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
    em.line(3, slow)


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
