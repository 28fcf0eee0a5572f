"""The public face of ``eventbridge_sdk.transforms``: a short, sorted, pinned export list."""

from __future__ import annotations

import eventbridge_sdk.transforms as transforms


def test_the_export_list_is_pinned_and_sorted() -> None:
    assert transforms.__all__ == [
        "compile_transform",
        "Constant",
        "InputTransformer",
        "InvalidTransformError",
        "JsonPath",
        "Original",
        "Template",
        "Transform",
        "TransformContext",
        "TransformSpec",
    ]
    assert transforms.__all__ == sorted(transforms.__all__, key=str.lower)


def test_every_exported_object_has_a_docstring() -> None:
    for name in transforms.__all__:
        if name != "TransformSpec":  # a type alias carries no docstring of its own
            assert getattr(transforms, name).__doc__, name
