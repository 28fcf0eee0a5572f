"""The four transform forms of RocketMQ EventBridge as Python values.

Each form is built (and checked) once when a target is declared; :meth:`apply` then runs per event
on the event's structured JSON form and returns the payload the target receives.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from .._errors import InvalidTransformError
from ._context import TransformContext
from ._paths import MISSING, EventInput, Getter, as_document, compile_path, is_path
from ._templates import ROCKETMQ, CompiledTemplate, check_defined, split_rocketmq

__all__ = ["Constant", "JsonPath", "Original", "SpecTransform", "Template", "Transform"]

_VARIABLE_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")


@runtime_checkable
class Transform(Protocol):
    """What a target's transform does: turn one event into the payload the target receives.

    Any object with this method can serve as a transform. The built-in forms are :class:`Original`,
    :class:`Constant`, :class:`JsonPath`, :class:`Template` and :class:`InputTransformer`.

    ``context`` says where and when the event is delivered (:class:`TransformContext`: bus, rule,
    ingestion time). The runtime builds and passes one only to a transform whose ``uses_context``
    attribute is true; every other transform is called as ``apply(event)``, so a transform that
    needs no context pays nothing for it and may take ``event`` alone.

    Example::

        class TypeOnly:
            def apply(self, event, context=None):
                return {"type": event["type"]}


        class WithRule:
            uses_context = True

            def apply(self, event, context=None):
                return {"rule": context.rule if context else None, "id": event["id"]}
    """

    def apply(self, event: EventInput, context: TransformContext | None = None) -> Any:
        """Return the payload for ``event`` (its CloudEvents JSON form, or an ``Event``)."""
        ...


class SpecTransform:
    """Shared face of the built-in forms: equality, hashing and ``repr`` by their data form."""

    __slots__ = ("_spec",)

    _spec: dict[str, Any]

    uses_context = False
    """Whether :meth:`apply` reads its ``context``; only then does the runtime build one."""

    def to_spec(self) -> dict[str, Any]:
        """The data form of this transform; ``compile_transform`` turns it back into an equal one.

        Example::

            assert compile_transform(JsonPath("$.data").to_spec()) == JsonPath("$.data")
        """
        return copy.deepcopy(self._spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpecTransform):
            return NotImplemented
        return type(self) is type(other) and self._spec == other._spec

    def __hash__(self) -> int:
        return hash((type(self), json.dumps(self._spec, sort_keys=True, default=repr)))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self._spec.items())
        return f"{type(self).__name__}({arguments})"


class Original(SpecTransform):
    """ORIGINAL: the target receives the whole event in its CloudEvents JSON form.

    Example::

        Original().apply({"id": "1", "type": "t", "data": {"x": 1}})
        # -> {"id": "1", "type": "t", "data": {"x": 1}}
    """

    __slots__ = ()

    def __init__(self) -> None:
        self._spec = {"form": "ORIGINAL"}

    def apply(self, event: EventInput, context: TransformContext | None = None) -> Any:
        """Return the event's structured JSON form."""
        return as_document(event)

    def __repr__(self) -> str:
        return "Original()"


class Constant(SpecTransform):
    """CONSTANT: the target receives the same value for every event.

    A mutable value (dict or list) is copied per event, so a handler that changes it cannot change
    what the next event receives.

    Example::

        Constant({"alert": "disk full"}).apply(event)  # -> {"alert": "disk full"}
    """

    __slots__ = ("_mutable", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._mutable = isinstance(value, dict | list)
        self._spec = {"form": "CONSTANT", "value": value}

    def apply(self, event: EventInput, context: TransformContext | None = None) -> Any:
        """Return the constant (a fresh copy when it is a dict or a list)."""
        return copy.deepcopy(self.value) if self._mutable else self.value

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


class JsonPath(SpecTransform):
    """JSONPATH: the target receives the value at one path of the event.

    Scalars, objects and arrays come back as Python values; a path that finds nothing gives
    ``None``. A path with wildcards or filters (``$.data.items[*].sku``) gives the list of matches,
    empty when nothing matches; ``definite`` tells which kind of path this is. Plain paths are
    evaluated without a JSONPath engine.

    Example::

        JsonPath("$.data.items[0].sku").apply({"data": {"items": [{"sku": "A-1"}]}})  # -> "A-1"
    """

    __slots__ = ("_get", "definite", "path")

    def __init__(self, path: str) -> None:
        self._get, self.definite = compile_path(path, "JSONPATH value")
        self.path = path
        self._spec = {"form": "JSONPATH", "value": path}

    def apply(self, event: EventInput, context: TransformContext | None = None) -> Any:
        """Return the value at the path, or ``None`` when the event has nothing there."""
        value = self._get(as_document(event))
        return None if value is MISSING else value

    def __repr__(self) -> str:
        return f"JsonPath({self.path!r})"


def _literal(value: Any) -> Getter:
    def get(document: Mapping[str, Any]) -> Any:
        return value

    return get


def _variable_getter(name: str, value: Any) -> tuple[Getter, Any]:
    """A variable's getter and its data spelling: a path (string starting ``$.``) or a literal."""
    where = f"TEMPLATE variable {name!r}"
    if isinstance(value, JsonPath):
        return value._get, value.path
    if isinstance(value, Constant):
        return _literal(value.value), value.value
    if isinstance(value, str) and is_path(value):
        return compile_path(value, where)[0], value
    if isinstance(value, SpecTransform):
        raise InvalidTransformError(
            f"{where}: a variable is a path, a literal, JsonPath(...) or Constant(...), "
            f"not {value!r}"
        )
    return _literal(value), value


class Template(SpecTransform):
    """TEMPLATE: variables bound to paths or literals, rendered into a text or a JSON template.

    A variable whose value is a string starting with ``$.`` or ``$[`` (or ``$`` alone) is a path
    into the event; any other value is a literal (as in RocketMQ EventBridge). Wrap a value in
    :class:`JsonPath` or :class:`Constant` to say which one you mean. Placeholders are
    ``${name}``; ``$${`` writes a literal ``${``.

    A template that starts with ``{``, ``[`` or ``"`` and is JSON once filled is a JSON template:
    a bare ``${name}`` becomes the value's JSON (``null`` when the path finds nothing) and a
    ``${name}`` inside quotes the value's text, JSON-escaped. :meth:`apply` returns the parsed
    JSON. Any other template is text: values are inserted as text (strings bare, other values
    as JSON, a missing path as ``""``) and :meth:`apply` returns the ``str``.

    Example::

        event = {"data": {"name": 'Ada "the first"', "n": 3}}
        Template({"name": "$.data.name", "n": "$.data.n"}, '{"who": "${name}", "count": ${n}}')
        # .apply(event) -> {"who": 'Ada "the first"', "count": 3}
        Template({"name": "$.data.name"}, "Hello ${name}!")
        # .apply(event) -> 'Hello Ada "the first"!'
    """

    __slots__ = ("_compiled", "template", "variables")

    def __init__(self, variables: Mapping[str, Any] | None, template: str) -> None:
        if variables is None:
            variables = {}
        if not isinstance(variables, Mapping):
            raise InvalidTransformError(
                f"TEMPLATE value: variables must be a mapping of name to path or literal, "
                f"got {type(variables).__name__}"
            )
        if not isinstance(template, str):
            raise InvalidTransformError(
                f"TEMPLATE template: must be a string, got {type(template).__name__}"
            )
        getters: dict[str, Getter] = {}
        spelled: dict[str, Any] = {}
        for name, value in variables.items():
            if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
                raise InvalidTransformError(
                    f"TEMPLATE value: variable name {name!r} is not valid; use letters, digits, "
                    "'_', '-' and '.'"
                )
            getters[name], spelled[name] = _variable_getter(name, value)
        chunks, placeholders = split_rocketmq(template)
        check_defined(placeholders, getters, "TEMPLATE template", "the TEMPLATE value")
        self._compiled = CompiledTemplate(
            template, chunks, placeholders, getters, ROCKETMQ, "TEMPLATE template"
        )
        self.variables = dict(variables)
        self.template = template
        self._spec = {"form": "TEMPLATE", "value": spelled, "template": template}

    @property
    def is_json(self) -> bool:
        """Whether this is a JSON template (``apply`` returns parsed JSON, not text)."""
        return self._compiled.is_json

    def render(self, event: EventInput) -> str:
        """Return the filled template as text (for a JSON template, its JSON text)."""
        return self._compiled.render(as_document(event))

    def apply(self, event: EventInput, context: TransformContext | None = None) -> Any:
        """Return the parsed JSON value of a JSON template, or the text of a text template."""
        return self._compiled.value(as_document(event))

    def __repr__(self) -> str:
        return f"Template({self.variables!r}, {self.template!r})"
