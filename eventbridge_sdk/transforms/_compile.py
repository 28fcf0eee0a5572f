"""``compile_transform``: from whatever a user declared to a ready :class:`Transform`.

Accepted spellings, so rules can come from code or from configuration files:

- a :class:`Transform` (``Original()``, ``JsonPath("$.data")``, ``InputTransformer(...)``, or any
  object with ``apply``), returned as is;
- RocketMQ EventBridge's ``{"form": ..., "value": ..., "template": ...}``;
- AWS EventBridge's ``{"InputPathsMap": ..., "InputTemplate": ...}`` (or ``input_paths_map`` /
  ``input_template``), and a target's ``{"Input": json}``, ``{"InputPath": path}`` or
  ``{"InputTransformer": {...}}``;
- either mapping as JSON text;
- ``None``: no transform.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeAlias, overload

from .._errors import InvalidTransformError
from ._aws import InputTransformer
from ._forms import Constant, JsonPath, Original, Template, Transform

__all__ = ["TransformSpec", "compile_transform"]

TransformSpec: TypeAlias = "Transform | Mapping[str, Any] | str | bytes"

_FORMS = ("ORIGINAL", "CONSTANT", "JSONPATH", "TEMPLATE")
_ROCKETMQ_KEYS = frozenset({"form", "value", "template"})
_AWS_TRANSFORMER_KEYS = {
    "InputPathsMap": "input_paths_map",
    "InputTemplate": "input_template",
    "input_paths_map": "input_paths_map",
    "input_template": "input_template",
}
_AWS_TARGET_KEYS = ("Input", "InputPath", "InputTransformer")


@overload
def compile_transform(spec: None, *, where: str = ...) -> None: ...
@overload
def compile_transform(spec: TransformSpec, *, where: str = ...) -> Transform: ...


def compile_transform(spec: TransformSpec | None, *, where: str = "transform") -> Transform | None:
    """Build a transform from its declaration, checking everything before any event arrives.

    ``where`` starts every error message (for example ``"rule 'orders' target 'audit'"``).
    Raises :class:`~eventbridge_sdk.InvalidTransformError` naming what is wrong and where.

    Example::

        compile_transform({"form": "JSONPATH", "value": "$.data.id"})  # == JsonPath("$.data.id")
        compile_transform('{"form": "CONSTANT", "value": "ping"}')  # == Constant("ping")
        compile_transform({"InputPathsMap": {"id": "$.id"}, "InputTemplate": '"event <id>"'})
        compile_transform(None)  # -> None: the target receives the event unchanged
    """
    if spec is None:
        return None
    try:
        return _compile(spec)
    except InvalidTransformError as exc:
        raise InvalidTransformError(f"{where}: {exc}") from None


def _compile(spec: object) -> Transform:
    if isinstance(spec, str | bytes | bytearray):
        spec = _parse_json_text(spec)
    if isinstance(spec, Mapping):
        return _from_mapping(spec)
    if isinstance(spec, Transform):
        return spec
    raise InvalidTransformError(
        "a transform is a Transform (Original(), JsonPath(...), ...), a mapping such as "
        f'{{"form": "JSONPATH", "value": "$.data"}}, or that mapping as JSON text; got {spec!r}'
    )


def _parse_json_text(text: str | bytes | bytearray) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise InvalidTransformError(f"the JSON text is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidTransformError(
            f"the JSON text must hold an object, got {type(parsed).__name__}"
        )
    return parsed


def _from_mapping(spec: Mapping[Any, Any]) -> Transform:
    if "form" in spec:
        return _rocketmq(spec)
    targets = [key for key in _AWS_TARGET_KEYS if key in spec]
    if targets:
        return _aws_target(spec, targets)
    if any(key in spec for key in _AWS_TRANSFORMER_KEYS):
        return _aws_transformer(spec)
    raise InvalidTransformError(
        f"cannot tell the form of {dict(spec)!r}; give 'form' (ORIGINAL, CONSTANT, JSONPATH, "
        "TEMPLATE) or AWS's 'InputPathsMap'/'InputTemplate'"
    )


def _rocketmq(spec: Mapping[Any, Any]) -> Transform:
    unknown = sorted(str(key) for key in spec if key not in _ROCKETMQ_KEYS)
    if unknown:
        raise InvalidTransformError(
            f"unknown keys {', '.join(map(repr, unknown))}; a form mapping has 'form', 'value' "
            "and 'template'"
        )
    form = spec["form"]
    if not isinstance(form, str) or form.upper() not in _FORMS:
        raise InvalidTransformError(f"form {form!r} is not one of {', '.join(_FORMS)}")
    form = form.upper()
    value, template = spec.get("value"), spec.get("template")
    if form != "TEMPLATE" and template not in (None, ""):
        raise InvalidTransformError(f"{form} takes no 'template'; only TEMPLATE does")
    if form == "ORIGINAL":
        if value not in (None, ""):
            raise InvalidTransformError("ORIGINAL takes no 'value'")
        return Original()
    if form == "CONSTANT":
        if "value" not in spec:
            raise InvalidTransformError("CONSTANT needs a 'value'")
        return Constant(value)
    if form == "JSONPATH":
        if not isinstance(value, str) or not value:
            raise InvalidTransformError(
                f"JSONPATH needs a 'value' holding a path such as '$.data', got {value!r}"
            )
        return JsonPath(value)
    if not isinstance(template, str):
        raise InvalidTransformError(f"TEMPLATE needs a 'template' string, got {template!r}")
    return Template(_template_variables(value), template)


def _template_variables(value: object) -> Mapping[str, Any] | None:
    # RocketMQ carries the variables as JSON text inside the form; a mapping is accepted too.
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidTransformError(
                f"TEMPLATE value: not valid JSON ({exc}); it maps variable names to paths or "
                'literals, for example {"id": "$.data.id"}'
            ) from None
    if not isinstance(value, Mapping):
        raise InvalidTransformError(
            "TEMPLATE value: must map variable names to paths or literals, got "
            f"{type(value).__name__}"
        )
    return value


def _aws_target(spec: Mapping[Any, Any], targets: list[str]) -> Transform:
    if len(targets) > 1 or len(spec) > 1:
        raise InvalidTransformError(
            "only one of Input, InputPath or InputTransformer may be given, and nothing beside "
            f"it; got {', '.join(map(repr, spec))}"
        )
    (key,) = targets
    value = spec[key]
    if key == "InputPath":
        if not isinstance(value, str):
            raise InvalidTransformError(f"InputPath must be a path string, got {value!r}")
        return JsonPath(value)
    if key == "Input":
        # AWS's Input is JSON text; the target receives the value it spells.
        if not isinstance(value, str):
            raise InvalidTransformError(f"Input must be JSON text, got {type(value).__name__}")
        try:
            return Constant(json.loads(value))
        except ValueError as exc:
            raise InvalidTransformError(f"Input is not valid JSON text: {exc}") from None
    if not isinstance(value, Mapping):
        raise InvalidTransformError(
            f"InputTransformer must be a mapping with InputPathsMap and InputTemplate, "
            f"got {type(value).__name__}"
        )
    return _aws_transformer(value)


def _aws_transformer(spec: Mapping[Any, Any]) -> Transform:
    arguments: dict[str, Any] = {}
    for key, value in spec.items():
        name = _AWS_TRANSFORMER_KEYS.get(key)
        if name is None:
            raise InvalidTransformError(
                f"unknown key {key!r} in an input transformer; it has InputPathsMap and "
                "InputTemplate"
            )
        if name in arguments:
            raise InvalidTransformError(f"{name} is given twice (in two spellings)")
        arguments[name] = value
    if "input_template" not in arguments:
        raise InvalidTransformError("an input transformer needs an InputTemplate")
    return InputTransformer(**arguments)
