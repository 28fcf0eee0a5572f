"""What the generated matchers of :mod:`_codegen` call at run time: field values and bindings.

A field is named by its dot-joined keys (``data.customer.tier``). Its values in an event are the
scalars found along every way of spelling that name with the event's own keys: nested objects
(``{"data": {"customer": {"tier": ...}}}``), dotted keys (``{"data.customer": {"tier": ...}}``,
``{"data.customer.tier": ...}``) and any mix, and through arrays (an array of objects is
entered element by element; an array at the field itself gives its scalars). Each value comes
with its *membership*: which element of which array it was found in (the scalars of an array
at the field itself are bound to no element of it, those of an array inside it are bound to
that inner array's place, as event-ruler binds them).

Array consistency: the fields a clause matches must come from one element of every array they
share. While an event is matched the bindings chosen so far ride along as a :class:`Bind`
(the empty tuple while no array of objects has been entered, the common case).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from eventbridge_sdk.patterns._text import plain

__all__ = [
    "MISSING",
    "SLOW",
    "Bind",
    "Later",
    "Name",
    "absent",
    "bind",
    "drain",
    "enter",
    "later",
    "parent_object",
    "read_far",
    "slow",
    "slow_group",
    "values",
]


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: The value of a field the event does not have.
MISSING: Any = _Marker("MISSING")
#: What a fast read returns when the field must be read in full (an array, a dotted key on the
#: way, a type that is not plain JSON): the value's type takes the dispatch's slow branch.
SLOW: Any = _Marker("SLOW")

_SCALARS = frozenset({str, int, float, bool, type(None)})

Membership = tuple[tuple[tuple[str, int], int], ...]
"""``((array, index), ...)``: the array (its field name and identity) and element entered."""

#: Whether names intern their keys: interned keys are the very objects of the keys of events
#: built in code, so that a dict lookup stops at its first identity check. Not on 3.12, where
#: early releases never free interned strings.
_INTERN = sys.version_info[:2] != (3, 12)


class Name:
    """A field name of the trie: its text, its dot-separated ``parts``, the keys that spell a
    run of parts (``spans[i]``: ``(end, key)`` for ``parts[i:end]``) and the name of the field
    at each depth (``prefixes[j]``: the first ``j + 1`` parts)."""

    __slots__ = ("id", "parts", "prefixes", "spans", "text")

    def __init__(self, name_id: int, text: str) -> None:
        self.id = name_id
        self.text = text
        parts = tuple(text.split("."))
        if _INTERN:
            parts = tuple(map(sys.intern, parts))
        self.parts = parts
        self.prefixes = tuple(".".join(parts[: j + 1]) for j in range(len(parts)))
        self.spans = tuple(
            tuple((end, ".".join(parts[start:end])) for end in range(start + 1, len(parts) + 1))
            for start in range(len(parts))
        )

    def __repr__(self) -> str:
        return f"Name({self.text!r})"


def _is_object(value: Any) -> bool:
    return value.__class__ is dict or isinstance(value, Mapping)


def _is_array(value: Any) -> bool:
    return value.__class__ is list or isinstance(value, list | tuple)


def values(event: Any, name: Name) -> list[tuple[Any, Membership]]:
    """Every scalar of field ``name`` in ``event``, with its membership."""
    found: list[tuple[Any, Membership]] = []
    _collect(event, name, 0, (), found)
    return found


def _collect(
    obj: Any, name: Name, start: int, member: Membership, found: list[tuple[Any, Membership]]
) -> None:
    last = len(name.parts)
    for end, key in name.spans[start]:
        if key in obj:
            if end == last:
                _take(obj[key], name.text, member, found)
            else:
                _enter(obj[key], name, end, member, found)


def _enter(
    value: Any, name: Name, start: int, member: Membership, found: list[tuple[Any, Membership]]
) -> None:
    """Look for the rest of ``name`` (from part ``start``) in ``value``."""
    if _is_object(value):
        _collect(value, name, start, member, found)
    elif _is_array(value):
        array = (name.prefixes[start - 1], id(value))
        for index, item in enumerate(value):
            _enter(item, name, start, (*member, (array, index)), found)


def _take(value: Any, text: str, member: Membership, found: list[tuple[Any, Membership]]) -> None:
    """The scalars of the field's value: itself, or the items of an array (an array inside it
    is one of its elements, as event-ruler has it: its scalars are bound to that element)."""
    if _is_array(value):
        array = (text, id(value))
        for index, item in enumerate(value):
            if _is_array(item):
                _take(item, text, (*member, (array, index)), found)
            elif not _is_object(item):
                found.append((plain(item), member))
    elif not _is_object(value):
        found.append((plain(value), member))


class Bind:
    """The array elements chosen so far (``pairs``, sorted) and, shared by every binding made
    from one slow read, the ``(node, pairs)`` already walked: a node is walked once per binding
    that can still matter to it."""

    __slots__ = ("pairs", "seen")

    def __init__(self, pairs: Membership, seen: set[Any]) -> None:
        self.pairs = pairs
        self.seen = seen


def bind(b: Any, member: Membership) -> Bind | None:
    """``b`` (a :class:`Bind` or ``()``) with ``member``'s elements; None when a value comes
    from another element of an array already bound."""
    if b:
        pairs, seen = b.pairs, b.seen
    else:
        pairs, seen = (), set()
    if member:
        chosen = dict(pairs)
        for array, index in member:
            if chosen.setdefault(array, index) != index:
                return None
        pairs = tuple(sorted(chosen.items()))
    return Bind(pairs, seen)


def enter(b: Bind, node: int, relevant: frozenset[str]) -> Bind | None:
    """``b`` keeping the arrays a field read at or below ``node`` can cross (``relevant``);
    None when the node was walked with those bindings already."""
    pairs = tuple(pair for pair in b.pairs if pair[0][0] in relevant)
    mark = (node, pairs)
    if mark in b.seen:
        return None
    b.seen.add(mark)
    return b if len(pairs) == len(b.pairs) else Bind(pairs, b.seen)


def absent(value: Any) -> Any:
    """An intermediate value of a path that is not a dict: the field is missing when it is a
    scalar or missing; anything else (an array, another mapping) is read in full."""
    if value is MISSING or value.__class__ in _SCALARS:
        return MISSING
    return SLOW


def parent_object(event: Any, parts: tuple[str, ...], spelt: tuple[frozenset[str], ...]) -> Any:
    """The dict at ``parts`` when the event spells the way there with plain nested dicts and no
    key on the way spells (with dots) the way or a field below it: ``spelt[i]`` holds the keys
    that would at depth ``i``. MISSING when there is no object there; SLOW otherwise (the
    fields are then read one by one in full)."""
    obj = event
    for part, dotted in zip(parts, spelt, strict=True):
        if not dotted.isdisjoint(obj):
            return SLOW
        obj = obj.get(part, MISSING)
        if obj.__class__ is not dict:
            return absent(obj)
    return obj


def slow(event: Any, out: list[Any], b: Any, name: Name, edge: Callable[..., None]) -> None:
    """Step on every value of field ``name`` with ``edge``, each with its array elements bound."""
    found = values(event, name)
    if not found:
        edge(event, out, b, MISSING)
        return
    for value, member in found:
        bound = bind(b, member)
        if bound is not None:
            edge(event, out, bound, value)


def slow_group(event: Any, out: list[Any], b: Any, members: tuple[Any, ...]) -> None:
    """:func:`slow` for each ``(name, edge)`` of ``members``."""
    for name, edge in members:
        slow(event, out, b, name, edge)


def read_far(event: Any, name: Name) -> Any:
    """The fast read of the generated code for names of many parts: the value reached through
    plain nested dicts, MISSING, or SLOW when it must be read in full."""
    value = event
    last = len(name.parts) - 1
    for start, part in enumerate(name.parts):
        for _, key in name.spans[start][1:]:
            if key in value:
                return SLOW
        value = value.get(part, MISSING)
        if start == last:
            break
        if value.__class__ is not dict:
            return absent(value)
    return value


class Later:
    """A node function to call after the current walk: it keeps the call stack short for
    clauses of many fields."""

    __slots__ = ("b", "fn")

    def __init__(self, fn: Callable[[Any, list[Any], Any], None], b: Any) -> None:
        self.fn = fn
        self.b = b


def later(fn: Callable[[Any, list[Any], Any], None]) -> Callable[[Any, list[Any], Any], None]:
    """A stand-in for ``fn`` that defers the call."""

    def defer(event: Any, out: list[Any], b: Any) -> None:
        out.append(Later(fn, b))

    return defer


def drain(event: Any, out: list[Any]) -> list[Any]:
    """Run the deferred calls in ``out`` (and those they defer) and return what they found."""
    i = 0
    while i < len(out):
        item = out[i]
        if item.__class__ is Later:
            item.fn(event, out, item.b)
        i += 1
    return [item for item in out if item.__class__ is not Later]
