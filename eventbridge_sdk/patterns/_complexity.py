"""AWS's limit on wildcard complexity, checked when a pattern is compiled.

AWS EventBridge rejects a rule whose wildcards it deems too complex ("Rule is too complex - try
using fewer wildcard characters or fewer repeating character sequences after a wildcard
character"). Its matcher, ``aws/event-ruler``, reads each field's values with one automaton per
field and state of the rule, and its ``MachineComplexityEvaluator`` measures such an automaton
as the most prefixes of its ``wildcard`` and ``anything-but``/``wildcard`` values that one
theoretical input value can match at the same time (the string's quotes included). AWS
publishes no figure; measured with event-ruler, rules AWS accepted score 8 and 9 and rules it
rejected 11, 12 and 16, so its limit is 9 or 10, and 10 is taken here.

This module measures the same thing on a model of those automata: the bytes before a value's
first ``*`` are shared by every value of the field (and so is that first ``*``); what follows
belongs to the value alone, up to its closing quote, which leads to the one match state of its
condition; a state weighs the number of distinct conditions it leads to. Our own matcher does
not backtrack, so the limit is there for parity with AWS, not for speed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from eventbridge_sdk._errors import InvalidPatternError

if TYPE_CHECKING:
    from eventbridge_sdk.patterns._parse import Clause, Leaf

__all__ = [
    "MAX_WILDCARD_COMPLEXITY",
    "check_wildcard_complexity",
    "wildcard_complexity",
    "wildcards",
]

#: The most wildcard prefixes one value of a field may match at once (AWS rejects more).
MAX_WILDCARD_COMPLEXITY = 10

_QUOTE = 0x22
_STAR = -1  # a token: any run of bytes


def _tokens(text: str) -> tuple[int, ...]:
    """The bytes of a wildcard value as event-ruler reads it: quoted, UTF-8, ``*`` a token."""
    out = [_QUOTE]
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":  # validated already: \\ or \*
            char = text[i + 1]
            i += 1
        elif char == "*":
            out.append(_STAR)
            i += 1
            continue
        out.extend(char.encode("utf-8", "surrogatepass"))
        i += 1
    out.append(_QUOTE)
    return tuple(out)


class _Automaton:
    """States of one field's wildcard values: ``loops`` says which state a ``*`` keeps,
    ``literal`` maps a state and a byte to the next states, ``skip`` is the empty run of a
    ``*`` (a state followed by a ``*`` is also in the state after it), ``leads_to`` holds the
    conditions a state leads to (its weight is their number)."""

    def __init__(self) -> None:
        self.literal: list[dict[int, list[int]]] = [{}]
        self.loops: list[bool] = [False]
        self.skip: list[int | None] = [None]
        self.leads_to: list[set[str]] = [set()]
        #: States shared by the values of the field: up to and with a value's first ``*``, by
        #: the state before and the token read; after its closing quote, one state per
        #: condition (its match).
        self.shared: dict[tuple[Any, ...], int] = {}

    def _state(self, loops: bool) -> int:
        self.literal.append({})
        self.loops.append(loops)
        self.skip.append(None)
        self.leads_to.append(set())
        return len(self.loops) - 1

    def add(self, identity: str, text: str) -> None:
        tokens = _tokens(text)
        state = 0
        after_star = False
        last = len(tokens) - 1
        for i, token in enumerate(tokens):
            if i == last:
                key: tuple[Any, ...] | None = (identity,)
            else:
                key = None if after_star else (state, token)
            found = None if key is None else self.shared.get(key)
            if found is None:
                found = self._state(loops=token == _STAR)
                if key is not None:
                    self.shared[key] = found
            if token == _STAR:
                self.skip[state] = found
                after_star = True
            elif found not in self.literal[state].get(token, ()):
                self.literal[state].setdefault(token, []).append(found)
            self.leads_to[found].add(identity)
            state = found

    def complexity(self, limit: int) -> int:
        """The most weight of states one input can be in at once, or the first figure past
        ``limit`` found."""
        weight = [len(conditions) for conditions in self.leads_to]
        literal, loops, skip = self.literal, self.loops, self.skip

        def close(states: set[int]) -> frozenset[int]:
            pending = [state for state in states if skip[state] is not None]
            while pending:
                after = skip[pending.pop()]
                if after is not None and after not in states:
                    states.add(after)
                    pending.append(after)
            return frozenset(states)

        start = close({0})
        seen = {start}
        pending = [start]
        most = 0
        while pending:
            states = pending.pop()
            kept = [state for state in states if loops[state]]
            by_byte: dict[int, list[int]] = {}
            for state in states:
                for byte, targets in literal[state].items():
                    by_byte.setdefault(byte, []).extend(targets)
            # Each byte a literal transition takes, and any other byte (only the *s keep).
            moves = list(by_byte.values())
            if kept:
                moves.append([])
            for targets in moves:
                reached = close({*kept, *targets})
                if reached in seen:
                    continue
                total = sum(weight[state] for state in reached)
                if total > limit:
                    return total
                most = max(most, total)
                seen.add(reached)
                pending.append(reached)
        return most


def wildcard_complexity(values: Iterable[tuple[str, str]], limit: int = 1 << 30) -> int:
    """The complexity of one field's ``(condition identity, wildcard text)`` pairs (values of
    one condition, an ``anything-but`` list, share its identity)."""
    automaton = _Automaton()
    for identity, text in dict.fromkeys(values):
        automaton.add(identity, text)
    return automaton.complexity(limit)


def _identity(condition: Any) -> str:
    """Equal conditions have equal identities: an ``anything-but`` operand is a set, one
    value or a list of it alike."""
    source = condition.source
    if condition.kind == "anything-but":
        operand = source["anything-but"]
        if isinstance(operand, dict):
            ((form, values),) = operand.items()
            values = values if isinstance(values, list) else [values]
            source = {"anything-but": {form: sorted(set(values))}}
        else:
            values = operand if isinstance(operand, list) else [operand]
            source = {"anything-but": sorted(set(values), key=orjson.dumps)}
    return orjson.dumps(source, option=orjson.OPT_SORT_KEYS).decode()


def wildcards(condition: Any) -> tuple[str, ...]:
    """The wildcard values of a ``wildcard`` or ``anything-but``/``wildcard`` condition."""
    if condition.kind == "wildcard":
        return (condition.arg,)
    if condition.kind == "anything-but" and isinstance(condition.arg, tuple):
        form, values = condition.arg
        if form == "wildcard":
            return tuple(values)
    return ()


class _Field:
    __slots__ = ("next", "values", "where")

    def __init__(self, where: str) -> None:
        self.next: dict[str, _State] = {}
        self.values: list[tuple[str, str]] = []
        self.where = where


class _State:
    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields: dict[str, _Field] = {}


def check_wildcard_complexity(clauses: Iterable[Clause]) -> None:
    """Raise :class:`InvalidPatternError` when a field's wildcard values are too complex.

    As AWS does: the combinations of a pattern that hold a wildcard are laid out as event-ruler
    lays out a rule, fields in name order, so that combinations sharing the values of the
    fields before a field share that field's automaton, and each automaton is measured.
    """
    root = _State()
    for clause in clauses:
        if any(wildcards(c) for leaf in clause for c in leaf.conditions):
            _lay_out(root, clause)
    stack = [root]
    visited: set[int] = set()
    while stack:
        state = stack.pop()
        if id(state) in visited:
            continue
        visited.add(id(state))
        for name, field in state.fields.items():
            if field.values:
                found = wildcard_complexity(field.values, MAX_WILDCARD_COMPLEXITY)
                if found > MAX_WILDCARD_COMPLEXITY:
                    raise InvalidPatternError(
                        f"the wildcard values of {name} are too complex: one value can match "
                        f"{found} or more of their prefixes at once, at most "
                        f"{MAX_WILDCARD_COMPLEXITY} are allowed (as in AWS); use fewer * "
                        "characters, fewer values sharing the text before their first *, or "
                        "fewer repeated characters after a *",
                        field.where,
                    )
            stack.extend(field.next.values())


def _lay_out(root: _State, clause: Clause) -> None:
    by_name: dict[str, list[Leaf]] = {}
    for leaf in clause:
        by_name.setdefault(leaf.name, []).append(leaf)
    states = [root]
    for name in sorted(by_name):
        leaves = by_name[name]
        following: dict[int, _State] = {}
        for state in states:
            field = state.fields.get(name)
            if field is None:
                field = state.fields[name] = _Field(leaves[0].where)
            last: _State | None = None
            for condition in (c for leaf in leaves for c in leaf.conditions):
                identity = _identity(condition)
                known = field.next.get(identity)
                if known is not None:
                    last = known
                else:
                    if last is None:
                        last = _State()
                    field.next[identity] = last
                field.values.extend((identity, text) for text in wildcards(condition))
                following[id(last)] = last
        states = list(following.values())
