"""The public API is exactly what __all__ says, sorted, and every member is documented."""

from __future__ import annotations

import eventbridge_sdk
import eventbridge_sdk.patterns
import eventbridge_sdk.sinks
import eventbridge_sdk.stores
import eventbridge_sdk.testing


def test_all_is_sorted_and_complete() -> None:
    public = sorted(
        (name for name in dir(eventbridge_sdk) if not name.startswith("_")),
        key=str.lower,
    )
    submodules = {
        "http",
        "patterns",
        "runtime",
        "sinks",
        "stores",
        "telemetry",
        "testing",
        "transforms",
    }
    submodules.add("annotations")  # from __future__ import annotations
    assert eventbridge_sdk.__all__ == sorted(eventbridge_sdk.__all__, key=str.lower)
    assert [n for n in public if n not in submodules] == eventbridge_sdk.__all__


def test_exported_objects_present_themselves_as_the_package() -> None:
    assert eventbridge_sdk.EventBridge.__module__ == "eventbridge_sdk"
    assert repr(eventbridge_sdk.Event).startswith("<class 'eventbridge_sdk.Event'")


def test_every_public_object_has_a_docstring() -> None:
    for module in (
        eventbridge_sdk,
        eventbridge_sdk.sinks,
        eventbridge_sdk.stores,
        eventbridge_sdk.testing,
        eventbridge_sdk.patterns,
    ):
        for name in module.__all__:
            assert getattr(module, name).__doc__, f"{module.__name__}.{name} has no docstring"
