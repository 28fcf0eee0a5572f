"""AWS EventBridge's input transformer: ``InputPathsMap`` + ``InputTemplate``, with AWS's rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidTransformError
from ._forms import SpecTransform
from ._paths import EventInput, Getter, as_document, compile_path
from ._templates import AWS, CompiledTemplate, check_defined, split_aws

__all__ = ["InputTransformer"]

MAX_VARIABLES = 100
MAX_TEMPLATE_LENGTH = 8192
_KEY = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")
_WHERE = "InputTransformer"


def _event_json(document: Mapping[str, Any]) -> Any:
    return document


def _event_without_data(document: Mapping[str, Any]) -> Any:
    return {key: value for key, value in document.items() if key not in ("data", "data_base64")}


# AWS's predefined variables that need nothing but the event. `aws.events.event` is the event
# without its payload (AWS drops `detail`; a CloudEvent's payload is `data`).
PREDEFINED: dict[str, Getter] = {
    "aws.events.event": _event_without_data,
    "aws.events.event.json": _event_json,
}
_NEEDS_RUNTIME = frozenset(
    {"aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time"}
)


class InputTransformer(SpecTransform):
    """AWS EventBridge's input transformer: named paths filled into a template.

    ``input_paths_map`` maps up to 100 names (``[A-Za-z0-9_-]``, 1-256 characters) to JSONPaths;
    ``input_template`` (at most 8192 characters) uses them as ``<name>``. Rendering follows AWS:

    - a **string template** (a quoted JSON string such as ``"<who> paid <amount>"``) gets raw
      values: strings unquoted, arrays as ``[a,b]``, objects as ``{k:v}``;
    - in a **JSON template** an unquoted ``<name>`` becomes the value's JSON and a quoted one
      (``"users/<id>"``) the value's raw text;
    - a path that finds nothing renders as an empty string (``""`` in a JSON value position).

    Unlike AWS, text inserted inside quotes is JSON-escaped (AWS inserts a ``"`` as is and the
    event is then dropped as invalid JSON). ``<aws.events.event>`` (the event without ``data``) and
    ``<aws.events.event.json>`` (the whole event) are predefined.

    :meth:`render` returns the text AWS would deliver; :meth:`apply` returns the payload for a
    Python target: the parsed JSON (a string template parses to its ``str`` content), or the
    text of a template that is not JSON.

    Example::

        transformer = InputTransformer(
            input_paths_map={"instance": "$.data.instance-id", "state": "$.data.state"},
            input_template='"instance <instance> is in <state>"',
        )
        transformer.render(event)  # -> '"instance i-0123 is in RUNNING"'
        transformer.apply(event)  # -> 'instance i-0123 is in RUNNING'
    """

    __slots__ = ("_compiled", "input_paths_map", "input_template")

    def __init__(
        self, *, input_paths_map: Mapping[str, str] | None = None, input_template: str
    ) -> None:
        paths = {} if input_paths_map is None else input_paths_map
        if not isinstance(paths, Mapping):
            raise InvalidTransformError(
                f"{_WHERE} input_paths_map: must be a mapping of name to JSONPath, "
                f"got {type(paths).__name__}"
            )
        if len(paths) > MAX_VARIABLES:
            raise InvalidTransformError(
                f"{_WHERE} input_paths_map: {len(paths)} variables; AWS allows at most "
                f"{MAX_VARIABLES}"
            )
        if not isinstance(input_template, str):
            raise InvalidTransformError(
                f"{_WHERE} input_template: must be a string, got {type(input_template).__name__}"
            )
        if len(input_template) > MAX_TEMPLATE_LENGTH:
            raise InvalidTransformError(
                f"{_WHERE} input_template: {len(input_template)} characters; AWS allows at most "
                f"{MAX_TEMPLATE_LENGTH}"
            )
        getters = dict(PREDEFINED)
        for name, path in paths.items():
            getters[name] = self._compile_variable(name, path)
        chunks, placeholders = split_aws(input_template)
        for placeholder in placeholders:
            if placeholder.name in _NEEDS_RUNTIME:
                raise InvalidTransformError(
                    f"{_WHERE} input_template: placeholder <{placeholder.name}> is not supported; "
                    "only <aws.events.event> and <aws.events.event.json> are predefined"
                )
        check_defined(placeholders, getters, f"{_WHERE} input_template", "input_paths_map")
        self._compiled = CompiledTemplate(
            input_template,
            chunks,
            placeholders,
            getters,
            AWS,
            f"{_WHERE} input_template",
            json_only=frozenset(PREDEFINED),
        )
        self.input_paths_map = dict(paths)
        self.input_template = input_template
        self._spec = {"InputPathsMap": dict(paths), "InputTemplate": input_template}

    @staticmethod
    def _compile_variable(name: object, path: object) -> Getter:
        if not isinstance(name, str) or not _KEY.match(name):
            hint = " (the aws. prefix is reserved)" if str(name).lower().startswith("aws.") else ""
            raise InvalidTransformError(
                f"{_WHERE} input_paths_map: key {name!r} is not valid{hint}; keys are 1-256 "
                "characters from A-Z, a-z, 0-9, '_' and '-'"
            )
        if not isinstance(path, str):
            raise InvalidTransformError(
                f"{_WHERE} input_paths_map[{name!r}]: the path must be a string, got "
                f"{type(path).__name__}"
            )
        return compile_path(path, f"{_WHERE} input_paths_map[{name!r}]")[0]

    @property
    def is_json(self) -> bool:
        """Whether the template is JSON (a string template counts: it is a JSON string)."""
        return self._compiled.is_json

    def render(self, event: EventInput) -> str:
        """Return the text AWS would deliver for ``event``.

        Example::

            InputTransformer(input_paths_map={"n": "$.data.n"}, input_template='{"n": <n>}')
            # .render({"data": {"n": 3}}) -> '{"n": 3}'
        """
        return self._compiled.render(as_document(event))

    def apply(self, event: EventInput) -> Any:
        """Return the parsed JSON of a JSON or string template, else the rendered text."""
        return self._compiled.value(as_document(event))

    def __repr__(self) -> str:
        return (
            f"InputTransformer(input_paths_map={self.input_paths_map!r}, "
            f"input_template={self.input_template!r})"
        )
