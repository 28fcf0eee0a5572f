"""JSONPath evaluation over an event's structured JSON form, compiled once per transform.

A plain path (``$``, ``$.data.items[0].name``, ``$.data['odd-key']``, ``$.detail-type``) becomes a
hand-written getter: a tuple of keys walked with ``[]``, no JSONPath engine on the hot path. Any
other path (wildcards, slices, descendants, filters) is compiled once by ``python-jsonpath``.

A definite path yields the value found or :data:`MISSING`; a path that can select several nodes
yields the list of matches (empty when nothing matches).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

from .._errors import InvalidTransformError

if TYPE_CHECKING:
    import jsonpath

__all__ = [
    "as_document",
    "compile_path",
    "EventInput",
    "Getter",
    "is_path",
    "MISSING",
]


class _Missing:
    """The type of :data:`MISSING`: what a path yields when the event has nothing there."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

Getter: TypeAlias = Callable[[Mapping[str, Any]], Any]


class SupportsToDict(Protocol):
    """An object that gives its CloudEvents JSON form, like :class:`~eventbridge_sdk.Event`."""

    def to_dict(self) -> Mapping[str, Any]: ...


EventInput: TypeAlias = "Mapping[str, Any] | SupportsToDict"

# One step of a plain path: `.name`, `['name']`, `["name"]` or `[index]`. Names may hold dashes
# (AWS's `$.detail-type`); quoted names with a backslash escape go to the library instead.
_STEP = re.compile(
    r"""\.(?P<name>[\w-]+)"""
    r"""|\[\s*(?:(?P<index>-?\d+)|'(?P<single>[^'\\]*)'|"(?P<double>[^"\\]*)")\s*\]"""
)


def as_document(event: EventInput) -> Mapping[str, Any]:
    """Return the structured JSON form of ``event``: a mapping as is, else ``event.to_dict()``."""
    if type(event) is dict:
        return event
    to_dict = getattr(event, "to_dict", None)
    if to_dict is not None:
        document: Mapping[str, Any] = to_dict()
        return document
    if isinstance(event, Mapping):
        return event
    raise TypeError(
        "a transform applies to an event mapping or an object with to_dict(), "
        f"not {type(event).__name__}"
    )


def is_path(text: str) -> bool:
    """Whether ``text`` is meant as a path: ``$`` alone or ``$`` followed by ``.`` or ``[``.

    ``"$5 off"`` or ``"tableName"`` are literals, as in RocketMQ EventBridge's TEMPLATE form.
    """
    return text == "$" or text.startswith(("$.", "$["))


def compile_path(path: str, where: str) -> tuple[Getter, bool]:
    """Compile ``path`` once; return its getter and whether the path is definite.

    ``where`` names the place in the transform, for the error message.

    Example::

        get, definite = compile_path("$.data.items[0].name", "JSONPATH value")
        assert get({"data": {"items": [{"name": "pen"}]}}) == "pen" and definite
    """
    if not isinstance(path, str) or not path.startswith("$"):
        raise InvalidTransformError(
            f"{where}: {path!r} is not a JSONPath; a path starts with '$' (for example '$.data.id')"
        )
    keys = _plain_keys(path)
    if keys is not None:
        return _plain_getter(keys), True
    # Imported when a path needs the engine: most transforms use plain paths only, and the
    # import costs a twentieth of a second at every start of a process.
    import jsonpath

    try:
        compiled = jsonpath.compile(path)
    except jsonpath.JSONPathError as exc:
        reason = str(exc).splitlines()[0]
        raise InvalidTransformError(
            f"{where}: {path!r} is not a valid JSONPath: {reason}"
        ) from None
    if isinstance(compiled, jsonpath.JSONPath) and compiled.singular_query():
        return _singular_getter(compiled), True
    return _list_getter(compiled), False


def _plain_keys(path: str) -> tuple[str | int, ...] | None:
    keys: list[str | int] = []
    position = 1
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            return None
        name = step["name"]
        index = step["index"]
        if name is not None:
            keys.append(name)
        elif index is not None:
            keys.append(int(index))
        else:
            keys.append(step["single"] if step["single"] is not None else step["double"])
        position = step.end()
    return tuple(keys)


def _plain_getter(keys: tuple[str | int, ...]) -> Getter:
    # Specialised closures for the common short paths of names: one `try` around chained
    # subscripts. A list or a string indexed by a name raises TypeError, which means "missing".
    if all(isinstance(key, str) for key in keys):
        if len(keys) == 0:
            return _root
        if len(keys) == 1:
            (k0,) = keys

            def get1(document: Mapping[str, Any]) -> Any:
                try:
                    return document[k0]  # type: ignore[index]
                except (KeyError, TypeError):
                    return MISSING

            return get1
        if len(keys) == 2:
            k0, k1 = keys

            def get2(document: Mapping[str, Any]) -> Any:
                try:
                    return document[k0][k1]  # type: ignore[index]
                except (KeyError, TypeError, IndexError):
                    return MISSING

            return get2
        if len(keys) == 3:
            k0, k1, k2 = keys

            def get3(document: Mapping[str, Any]) -> Any:
                try:
                    return document[k0][k1][k2]  # type: ignore[index]
                except (KeyError, TypeError, IndexError):
                    return MISSING

            return get3
    steps = tuple((key, isinstance(key, int)) for key in keys)

    def get(document: Mapping[str, Any]) -> Any:
        node: Any = document
        for key, is_index in steps:
            if is_index:
                # Only arrays take an index: a string's characters and an object's "0" key do not.
                if not isinstance(node, list | tuple):
                    return MISSING
                try:
                    node = node[key]  # type: ignore[index]
                except IndexError:
                    return MISSING
            else:
                try:
                    node = node[key]
                except (KeyError, TypeError, IndexError):
                    return MISSING
        return node

    return get


def _root(document: Mapping[str, Any]) -> Any:
    return document


def _singular_getter(compiled: jsonpath.JSONPath | jsonpath.CompoundJSONPath) -> Getter:
    def get(document: Mapping[str, Any]) -> Any:
        match = compiled.match(document)
        return MISSING if match is None else match.obj

    return get


def _list_getter(compiled: jsonpath.JSONPath | jsonpath.CompoundJSONPath) -> Getter:
    def get(document: Mapping[str, Any]) -> Any:
        return compiled.findall(document)

    return get
