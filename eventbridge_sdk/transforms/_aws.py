"""AWS EventBridge's input transformer: ``InputPathsMap`` + ``InputTemplate``, with AWS's rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidTransformError
from ._context import TransformContext, ingestion_time
from ._forms import SpecTransform
from ._paths import MISSING, EventInput, Getter, as_document, compile_path
from ._templates import AWS, CompiledTemplate, ContextGetter, check_defined, split_aws

__all__ = ["InputTransformer"]

MAX_VARIABLES = 100
MAX_TEMPLATE_LENGTH = 8192
_KEY = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")
_WHERE = "InputTransformer"


def _event_json(document: Mapping[str, Any]) -> Any:
    return document


def _event_without_payload(document: Mapping[str, Any]) -> Any:
    """``<aws.events.event>``: the event without its payload.

    An AWS-shaped event (it has ``detail`` and is no CloudEvent: no ``specversion``) loses
    ``detail``, and its ``detail-type`` reads ``detailType``, as AWS renders it; a CloudEvent
    loses ``data`` and ``data_base64``.
    """
    if "detail" in document and "specversion" not in document:
        return {
            "detailType" if key == "detail-type" else key: value
            for key, value in document.items()
            if key != "detail"
        }
    return {key: value for key, value in document.items() if key not in ("data", "data_base64")}


def _rule_name(context: TransformContext) -> Any:
    return context.rule


def _rule_arn(context: TransformContext) -> Any:
    return context.rule_arn


def _ingestion_time(context: TransformContext) -> Any:
    ingested = context.ingested
    return MISSING if ingested is None else ingestion_time(ingested)


# AWS's predefined variables read from the event; both hold the event as an object.
PREDEFINED: dict[str, Getter] = {
    "aws.events.event": _event_without_payload,
    "aws.events.event.json": _event_json,
}
# AWS's predefined variables read from the delivery context.
FROM_CONTEXT: dict[str, ContextGetter] = {
    "aws.events.rule-name": _rule_name,
    "aws.events.rule-arn": _rule_arn,
    "aws.events.event.ingestion-time": _ingestion_time,
}


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
    event is then dropped as invalid JSON).

    AWS's predefined variables: ``<aws.events.event.json>`` (the whole event) and
    ``<aws.events.event>`` (the event without its payload: ``detail`` for an AWS-shaped event,
    ``data`` for a CloudEvent), both only as unquoted JSON values; ``<aws.events.rule-name>``,
    ``<aws.events.rule-arn>`` (``arn:eventbridge-sdk:events:local::rule/<bus>/<rule>``) and
    ``<aws.events.event.ingestion-time>`` (``2026-01-31T12:00:00.250Z``), read from the
    :class:`TransformContext` the runtime passes at delivery. Called without a context, those
    three render as a path that finds nothing does.

    :meth:`render` returns the text AWS would deliver; :meth:`apply` returns the payload for a
    Python target: the parsed JSON (a string template parses to its ``str`` content), or the
    text of a template that is not JSON.

    Example::

        transformer = InputTransformer(
            input_paths_map={"instance": "$.data.instance-id", "state": "$.data.state"},
            input_template='"instance <instance> is in <state> (rule <aws.events.rule-name>)"',
        )
        transformer.render(event, TransformContext("ec2", "states"))
        # -> '"instance i-0123 is in RUNNING (rule states)"'
        transformer.apply(event, TransformContext("ec2", "states"))
        # -> 'instance i-0123 is in RUNNING (rule states)'
    """

    __slots__ = ("_compiled", "input_paths_map", "input_template", "uses_context")

    uses_context: bool
    """Whether the template reads the delivery context (rule name, rule ARN, ingestion time)."""

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
        containers: dict[str, str] = {}
        for name, path in paths.items():
            getters[name], kind = self._compile_variable(name, path)
            if kind is not None:
                containers[name] = kind
        chunks, placeholders = split_aws(input_template)
        where = f"{_WHERE} input_template"
        check_defined(placeholders, {**getters, **FROM_CONTEXT}, where, "input_paths_map")
        self._compiled = CompiledTemplate(
            input_template,
            chunks,
            placeholders,
            getters,
            AWS,
            where,
            json_only=frozenset(PREDEFINED),
            containers=containers,
            context_getters=FROM_CONTEXT,
        )
        self.uses_context = self._compiled.uses_context
        self.input_paths_map = dict(paths)
        self.input_template = input_template
        self._spec = {"InputPathsMap": dict(paths), "InputTemplate": input_template}

    @staticmethod
    def _compile_variable(name: object, path: object) -> tuple[Getter, str | None]:
        """The variable's getter, and what it always holds when that is known: ``"an object"``
        or ``"an array"`` with the reason, else ``None``."""
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
        getter, definite = compile_path(path, f"{_WHERE} input_paths_map[{name!r}]")
        if path.strip() == "$":
            return getter, f"an object (its path {path!r} is the whole event)"
        if not definite:
            return getter, f"an array (its path {path!r} can select several values)"
        return getter, None

    @property
    def is_json(self) -> bool:
        """Whether the template is JSON (a string template counts: it is a JSON string)."""
        return self._compiled.is_json

    def render(self, event: EventInput, context: TransformContext | None = None) -> str:
        """Return the text AWS would deliver for ``event`` (delivered with ``context``).

        Example::

            InputTransformer(input_paths_map={"n": "$.data.n"}, input_template='{"n": <n>}')
            # .render({"data": {"n": 3}}) -> '{"n": 3}'
        """
        return self._compiled.render(as_document(event), context)

    def apply(self, event: EventInput, context: TransformContext | None = None) -> Any:
        """Return the parsed JSON of a JSON or string template, else the rendered text."""
        return self._compiled.value(as_document(event), context)

    def __repr__(self) -> str:
        return (
            f"InputTransformer(input_paths_map={self.input_paths_map!r}, "
            f"input_template={self.input_template!r})"
        )
