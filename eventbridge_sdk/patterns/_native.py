"""The native matcher of :class:`RuleIndex`: trie snapshots for the ``_speedups`` extension.

``_speedups`` is a small C extension, built with the package where a C compiler is available.
Each trie node gets an immutable ``_speedups.Node``: the rules whose clauses end there and, per
event path, the dicts and sorted bounds the generated Python code of ``_codegen`` uses, each
mapping straight to the snapshots of the nodes it leads to. ``_speedups.match(root, event,
n_paths)`` walks them in C, reading each path of the event once, and returns the keys of the
rules found in rule order, each once; it returns None exactly where the generated code raises
``Fallback`` (an array or an unusual type on a path the rules read), and the index then
matches that event with the trie walker. Anything-but value sets and two-sided numeric ranges
are evaluated in C; the other predicates (wildcard, cidr, anything-but forms) are called.

Without the extension, or with ``EVENTBRIDGE_NATIVE_PATTERNS=0`` (or ``false``, ``no``,
``off``) in the environment, indexes use the generated Python code; both give the same
answers. An edge whose leaves can reach one node by two conditions (``[{"prefix": "a"},
{"prefix": "ab"}]``) visits each node once per step in both engines.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from eventbridge_sdk.patterns._parse import Path
from eventbridge_sdk.patterns._trie import Edges, Node

__all__ = ["AVAILABLE", "ENABLED", "build", "match"]

try:
    from eventbridge_sdk.patterns import _speedups  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the generated Python code is used
    _speedups = None

#: Whether the extension was built and imports.
AVAILABLE: bool = _speedups is not None
#: Whether new indexes use it: available and not switched off by the environment.
ENABLED: bool = AVAILABLE and os.environ.get(
    "EVENTBRIDGE_NATIVE_PATTERNS", ""
).strip().lower() not in ("0", "false", "no", "off")


def _not_built(root: Any, event: dict[str, Any], n_paths: int) -> list[Any] | None:
    raise RuntimeError("the _speedups extension is not built")


#: ``match(root, event, n_paths) -> keys | None``: None hands the event to the walker;
#: ``n_paths`` bounds the path ids of the edges (the index's number of paths).
match: Callable[[Any, dict[str, Any], int], list[Any] | None] = (
    _speedups.match if _speedups is not None else _not_built
)


def build(node: Node, paths: list[Path], path_id: Callable[[Path], int]) -> Any:
    """The snapshot of ``node``, making those of its changed descendants first.

    ``paths`` are the index's paths by id; ``path_id(path)`` numbers any path (the prefixes
    of the paths rules name get numbers too: the C code caches what it reads by them).
    """
    if node.native is not None:
        return node.native
    assert _speedups is not None, "the _speedups extension is not built"
    for child in node.children.values():
        build(child, paths, path_id)
    rules = tuple(dict.fromkeys(clause.rule.entry for clause in node.terminals))
    repeating = node.repeating()
    edges = tuple(
        _edge(paths[at], edges, path_id, dedupe=at in repeating) for at, edges in node.edge_list
    )
    node.native = _speedups.Node(rules, edges)
    return node.native


def _steps(nodes: list[Node]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(node.native for node in nodes))


def _table(table: dict[Any, list[Node]]) -> dict[Any, tuple[Any, ...]] | None:
    return {key: _steps(nodes) for key, nodes in table.items()} or None


def _sliced(by_length: dict[int, dict[str, list[Node]]]) -> tuple[Any, ...] | None:
    return tuple((length, _table(table)) for length, table in by_length.items()) or None


def _bounds(side: tuple[list[float | int], list[Node]]) -> tuple[Any, ...] | None:
    keys, nodes = side
    return (tuple(keys), tuple(node.native for node in nodes)) if keys else None


# The kinds of test of _speedups.c.
_CALL, _NOT_IN, _NOT_NUMBER_IN, _RANGE = range(4)


def _test(condition: Any, test: Callable[[Any], bool]) -> tuple[int, Any]:
    """A predicate as a test kind and operand: the C code evaluates anything-but value sets
    and two-sided numeric ranges itself, and calls the rest."""
    kind, arg = condition.kind, condition.arg
    if kind == "anything-but" and isinstance(arg, frozenset):
        strings = all(value.__class__ is str for value in arg)
        return (_NOT_IN if strings else _NOT_NUMBER_IN), arg
    if kind == "numeric" and arg[0] is not None and arg[1] is not None:
        (low, low_inclusive), (high, high_inclusive) = arg
        return _RANGE, (low, bool(low_inclusive), high, bool(high_inclusive))
    return _CALL, test


def _edge(
    path: Path, edges: Edges, path_id: Callable[[Path], int], *, dedupe: bool
) -> tuple[Any, ...]:
    """One edge as the extension reads it (the order of ``EDGE_*`` in ``_speedups.c``)."""
    numbers = edges.numbers
    tests = tuple(
        (*_test(condition, test), (node.native,)) for test, node, condition in edges.predicates
    )
    return (
        path,
        tuple(path_id(path[: depth + 1]) for depth in range(len(path))),
        _table(edges.exact),
        _table(edges.exact_bool),
        _sliced(edges.prefix),
        _sliced(edges.suffix),
        _table(edges.ic),
        _sliced(edges.prefix_ic),
        _sliced(edges.suffix_ic),
        _table(numbers.equal) if numbers is not None else None,
        _bounds(numbers.lower[False]) if numbers is not None else None,
        _bounds(numbers.lower[True]) if numbers is not None else None,
        _bounds(numbers.upper[False]) if numbers is not None else None,
        _bounds(numbers.upper[True]) if numbers is not None else None,
        tests or None,
        _steps(edges.present) or None,
        _steps(edges.absent) or None,
        dedupe,
    )
