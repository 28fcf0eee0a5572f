"""Event patterns: the AWS EventBridge pattern language, compiled, indexed and explained.

A pattern is a JSON object whose shape mirrors the event's structured JSON form (CloudEvents
attributes and extensions at the top level, ``data`` parsed when it is JSON). See
``docs/patterns.md`` for the language.

Example::

    >>> from eventbridge_sdk.patterns import RuleIndex, compile_pattern
    >>> p = compile_pattern({"type": ["order.created"], "data": {"total": [{"numeric": [">", 9]}]}})
    >>> p.matches({"type": "order.created", "data": {"total": 120}})
    True
    >>> idx: RuleIndex[str] = RuleIndex()
    >>> idx.add("big-orders", p)
    >>> idx.match({"type": "order.created", "data": {"total": 120}})
    ['big-orders']
"""

from __future__ import annotations

from eventbridge_sdk._errors import InvalidPatternError
from eventbridge_sdk.patterns._complexity import MAX_WILDCARD_COMPLEXITY
from eventbridge_sdk.patterns._explain import Explanation
from eventbridge_sdk.patterns._index import RuleIndex
from eventbridge_sdk.patterns._parse import MAX_COMBINATIONS, MAX_PATTERN_CHARS
from eventbridge_sdk.patterns._pattern import Pattern, compile_pattern

__all__ = [
    "compile_pattern",
    "Explanation",
    "InvalidPatternError",
    "MAX_COMBINATIONS",
    "MAX_PATTERN_CHARS",
    "MAX_WILDCARD_COMPLEXITY",
    "Pattern",
    "RuleIndex",
]
