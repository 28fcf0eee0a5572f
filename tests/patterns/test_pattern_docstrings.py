"""The examples in the patterns package's docstrings run and show what they claim."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import eventbridge_sdk.patterns
from eventbridge_sdk.patterns import RuleIndex, _explain, _index, _pattern, compile_pattern


@pytest.mark.parametrize("module", [eventbridge_sdk.patterns, _pattern, _index, _explain])
def test_docstring_examples(module: ModuleType) -> None:
    results = doctest.testmod(
        module,
        extraglobs={"compile_pattern": compile_pattern, "RuleIndex": RuleIndex},
        optionflags=doctest.ELLIPSIS,
    )

    assert results.attempted > 0
    assert results.failed == 0
