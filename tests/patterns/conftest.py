from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventbridge_sdk.patterns import RuleIndex, _native, compile_pattern

Check = Callable[[Any, dict[str, Any]], bool]


def _decide(pattern: Any, event: dict[str, Any]) -> bool:
    """Whether ``event`` matches, asserting the matcher, the index (each engine) and explain()
    agree."""
    compiled = compile_pattern(pattern)
    matched = compiled.matches(event)
    for native in (False, True) if _native.AVAILABLE else (False,):
        idx: RuleIndex[str] = RuleIndex(native=native)
        idx.add("rule", compiled)
        assert idx.match(event) == (["rule"] if matched else []), (
            f"index (native={native}) and matcher disagree"
        )
    assert compiled.explain(event).matched is matched, "explain() and matcher disagree"
    return matched


@pytest.fixture
def decide() -> Check:
    return _decide
