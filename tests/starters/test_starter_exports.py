"""Each starter's public API is exactly its sorted ``__all__``, and every member is documented."""

from __future__ import annotations

import types

import eventbridge_django
import eventbridge_fastapi
import pytest


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (eventbridge_fastapi, ["EventPublisher", "get_publisher", "init_app", "Publisher"]),
        (
            eventbridge_django,
            [
                "apublish",
                "get_bridge",
                "publish",
                "publish_on_commit",
                "start_runtime",
                "stop_runtime",
            ],
        ),
    ],
)
def test_all_is_sorted_documented_and_pinned(module: types.ModuleType, expected: list[str]) -> None:
    assert module.__all__ == expected
    assert module.__all__ == sorted(module.__all__, key=str.lower)
    for name in module.__all__:
        if name != "EventPublisher":  # a typing alias: documented in the module
            assert getattr(module, name).__doc__, f"{module.__name__}.{name} has no docstring"
