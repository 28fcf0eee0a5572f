"""Templates with placeholders, shared by RocketMQ's TEMPLATE form and AWS's input transformer.

A template is split once into literal chunks and slots. Each slot knows its variable's getter and
how to render the value where the placeholder sits:

- **JSON template** (it starts with ``{``, ``[`` or ``"``, or is a lone placeholder, and is valid
  JSON once its placeholders are filled): a *bare* placeholder becomes the value's JSON; one
  *inside a quoted string* becomes the value's text, JSON-escaped so the result stays valid JSON.
- **Text template** (anything else): each placeholder becomes the value's text.

The two dialects differ only in how a value reads as text and what a missing value renders as; see
:data:`AWS` and :data:`ROCKETMQ`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring  # the C encoder: quotes and escapes, keeps non-ASCII
from typing import Any

import orjson

from .._errors import InvalidTransformError
from ._context import TransformContext
from ._paths import MISSING, Getter

__all__ = [
    "AWS",
    "check_defined",
    "CompiledTemplate",
    "ContextGetter",
    "Dialect",
    "Placeholder",
    "ROCKETMQ",
    "split_aws",
    "split_rocketmq",
    "to_json",
]

Renderer = Callable[[Any], str]
ContextGetter = Callable[[TransformContext], Any]
"""Reads a value from the delivery context (or :data:`MISSING` when it has none)."""

_JSON_START = ("{", "[", '"')


def to_json(value: Any) -> str:
    """Compact JSON text of ``value``; non-ASCII characters are kept as they are."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _escape(text: str) -> str:
    return encode_basestring(text)[1:-1]


def aws_raw(value: Any) -> str:
    """AWS's raw text of a value: strings bare, ``[a,b]`` arrays and ``{k:v}`` objects unquoted."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is list or kind is tuple:
        return "[" + ",".join(aws_raw(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{key}:{aws_raw(item)}" for key, item in value.items()) + "}"
    return to_json(value)


def rocketmq_text(value: Any) -> str:
    """RocketMQ's text of a value: strings bare, anything else as compact JSON."""
    return value if type(value) is str else to_json(value)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one family of templates renders values.

    ``text`` reads a value as text; ``missing_json`` is what a bare placeholder renders when the
    path found nothing (in a string or a text template a missing value renders as ``""``).
    """

    name: str
    text: Renderer
    missing_json: str

    def bare(self, value: Any) -> str:
        return self.missing_json if value is MISSING else to_json(value)

    def quoted(self, value: Any) -> str:
        return "" if value is MISSING else _escape(self.text(value))

    def plain(self, value: Any) -> str:
        return "" if value is MISSING else self.text(value)


# AWS renders a missing path as an empty string, in JSON too (`"command": ""` in AWS's recording).
AWS = Dialect("AWS", aws_raw, '""')
# A missing path in a RocketMQ-style JSON template is null: the slot's JSON stays well formed.
ROCKETMQ = Dialect("RocketMQ", rocketmq_text, "null")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One placeholder in a template: its variable name and where it starts (for messages)."""

    name: str
    start: int


# `${name}`, with `$${name}` standing for the literal text `${name}` (Commons Text's escape).
_ROCKETMQ_PLACEHOLDER = re.compile(r"\$(\$)?\{([^}]*)\}")
# `<name>`: AWS names are `[A-Za-z0-9_-]`, predefined ones add dots (`<aws.events.event>`).
# Anything else between angle brackets (`a < b`, `</p>`) is literal text.
_AWS_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def split_rocketmq(template: str) -> tuple[list[str], list[Placeholder]]:
    """Split a RocketMQ template into literal chunks around its ``${name}`` placeholders."""
    chunks: list[str] = []
    placeholders: list[Placeholder] = []
    literal: list[str] = []
    position = 0
    for found in _ROCKETMQ_PLACEHOLDER.finditer(template):
        literal.append(template[position : found.start()])
        if found[1]:
            literal.append(found[0][1:])
        else:
            chunks.append("".join(literal))
            literal = []
            placeholders.append(Placeholder(found[2], found.start()))
        position = found.end()
    literal.append(template[position:])
    chunks.append("".join(literal))
    return chunks, placeholders


def split_aws(template: str) -> tuple[list[str], list[Placeholder]]:
    """Split an AWS input template into literal chunks around its ``<name>`` placeholders."""
    chunks: list[str] = []
    placeholders: list[Placeholder] = []
    position = 0
    for found in _AWS_PLACEHOLDER.finditer(template):
        chunks.append(template[position : found.start()])
        placeholders.append(Placeholder(found[1], found.start()))
        position = found.end()
    chunks.append(template[position:])
    return chunks, placeholders


def _quoted_flags(chunks: list[str]) -> list[bool]:
    """For each gap between chunks, whether it lies inside a JSON string literal."""
    flags: list[bool] = []
    inside = escaped = False
    for chunk in chunks[:-1]:
        for char in chunk:
            if escaped:
                escaped = False
            elif inside and char == "\\":
                escaped = True
            elif char == '"':
                inside = not inside
        flags.append(inside)
        escaped = False
    return flags


def _is_json(template: str, chunks: list[str], quoted: list[bool]) -> bool:
    stripped = template.strip()
    lone_placeholder = len(chunks) == 2 and not chunks[0].strip() and not chunks[1].strip()
    if not (stripped.startswith(_JSON_START) or lone_placeholder):
        return False
    filled = [chunks[0]]
    for inside, chunk in zip(quoted, chunks[1:], strict=True):
        filled.append("" if inside else "0")
        filled.append(chunk)
    try:
        json.loads("".join(filled))
    except ValueError:
        return False
    return True


class CompiledTemplate:
    """A template split into chunks and slots once; :meth:`render` fills it for one event.

    ``is_json`` tells whether the template is a JSON template; then :meth:`value` gives the parsed
    JSON value (always valid, since every slot renders valid JSON), else the rendered text.

    Checks made here, each naming the placeholder and where it sits:

    - ``json_only`` names variables that may only be a bare JSON value (unquoted, in a JSON
      template);
    - ``containers`` names variables known to hold an object or an array (name → ``"an object"``
      or ``"an array"``, with why): inside quotes of a JSON object or array template they are
      rejected (in a string template, a template that is one JSON string, they are allowed).

    ``context_getters`` names variables read from the delivery context rather than the event;
    with them :attr:`uses_context` is true, and without a context they render as missing.
    """

    __slots__ = ("_context_slots", "_head", "_slots", "is_json", "uses_context")

    def __init__(
        self,
        template: str,
        chunks: list[str],
        placeholders: list[Placeholder],
        getters: Mapping[str, Getter],
        dialect: Dialect,
        where: str,
        *,
        json_only: frozenset[str] = frozenset(),
        containers: Mapping[str, str] | None = None,
        context_getters: Mapping[str, ContextGetter] | None = None,
    ) -> None:
        quoted = _quoted_flags(chunks)
        self.is_json = _is_json(template, chunks, quoted)
        string_template = template.lstrip().startswith('"')
        containers = containers or {}
        context_getters = context_getters or {}
        slots: list[tuple[Any, bool, Renderer, str]] = []
        for placeholder, inside, tail in zip(placeholders, quoted, chunks[1:], strict=True):
            name = placeholder.name
            if name in json_only and (inside or not self.is_json):
                place = "inside quotes" if inside else "in a template that is not JSON"
                raise InvalidTransformError(
                    f"{where}: placeholder <{name}> at character {placeholder.start} is {place}; "
                    "it holds the event as an object, so it can only be a JSON value (unquoted, "
                    "in a JSON template), not text, as in AWS. Write it unquoted, for example "
                    f'{{"event": <{name}>}}'
                )
            kind = containers.get(name)
            if kind is not None and inside and self.is_json and not string_template:
                raise InvalidTransformError(
                    f"{where}: placeholder <{name}> at character {placeholder.start} is inside "
                    f"quotes, but it always holds {kind}; AWS would put its JSON between the "
                    "quotes, which is not valid JSON, and never deliver the event. Write it "
                    "unquoted (a JSON value), or map it to a path that holds text"
                )
            if not self.is_json:
                render = dialect.plain
            elif inside:
                render = dialect.quoted
            else:
                render = dialect.bare
            if name in context_getters:
                slots.append((context_getters[name], True, render, tail))
            else:
                slots.append((getters[name], False, render, tail))
        self._head = chunks[0]
        self.uses_context = any(from_context for _, from_context, _, _ in slots)
        self._context_slots = tuple(slots)
        self._slots = tuple((get, render, tail) for get, _, render, tail in slots)

    def render(self, document: Mapping[str, Any], context: TransformContext | None = None) -> str:
        """Fill the template for one event's JSON form (and its delivery context, if any)."""
        parts = [self._head]
        append = parts.append
        if self.uses_context:
            for get, from_context, render, tail in self._context_slots:
                if not from_context:
                    append(render(get(document)))
                elif context is None:
                    append(render(MISSING))
                else:
                    append(render(get(context)))
                append(tail)
        else:
            for get, render, tail in self._slots:
                append(render(get(document)))
                append(tail)
        return "".join(parts)

    def value(self, document: Mapping[str, Any], context: TransformContext | None = None) -> Any:
        """The parsed JSON value of a JSON template, or the rendered text of a text template."""
        if self.is_json:
            return orjson.loads(self.render(document, context))
        return self.render(document, context)


def check_defined(
    placeholders: list[Placeholder], defined: Mapping[str, Any], where: str, known: str
) -> None:
    """Reject the first placeholder that names no variable, listing the ones that exist."""
    for placeholder in placeholders:
        if placeholder.name not in defined:
            names = ", ".join(sorted(defined)) or "none"
            raise InvalidTransformError(
                f"{where}: placeholder {placeholder.name!r} at character {placeholder.start} is "
                f"not defined in {known} (defined: {names})"
            )
