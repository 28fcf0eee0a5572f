from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventbridge_sdk.patterns import RuleIndex, compile_pattern

Check = Callable[[Any, dict[str, Any]], bool]


def _decide(pattern: Any, event: dict[str, Any]) -> bool:
    """Whether ``event`` matches, asserting that the pattern, an index holding it and
    explain() agree."""
    compiled = compile_pattern(pattern)
    matched = compiled.matches(event)
    idx: RuleIndex[str] = RuleIndex()
    idx.add("rule", compiled)
    assert idx.match(event) == (["rule"] if matched else []), "index and pattern disagree"
    assert compiled.explain(event).matched is matched, "explain() and pattern disagree"
    return matched


@pytest.fixture
def decide() -> Check:
    return _decide
