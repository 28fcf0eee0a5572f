"""Typed handler parameters: what a handler asks for, read once from its signature.

A handler declares what it wants with annotations:

- a parameter annotated :class:`Event` receives the envelope;
- a required parameter annotated with any other type (a pydantic model, a dataclass, a
  TypedDict, ``dict``, ``list[int]``, ...) receives the event's data validated into that type;
- a sole parameter without annotation receives the event;
- any other parameter with a default keeps its default.

At most one Event and one data parameter; a handler may also take nothing. Everything is
inspected when the handler is declared (:meth:`HandlerSignature.of`); per event only
:meth:`~HandlerSignature.build_args` runs.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Union, get_args, get_origin, get_type_hints

from pydantic import TypeAdapter, ValidationError

from ._errors import ConfigurationError, PayloadValidationError
from ._event import Event

__all__ = ["HandlerSignature"]

_EVENT: Final = "event"
_DATA: Final = "data"
_MAX_REPORTED_ERRORS = 3


def _describe(func: Callable[..., Any]) -> str:
    target = func.func if isinstance(func, functools.partial) else func
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{name}" if module else name


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__qualname__
    return repr(hint).replace("typing.", "")


def _strip_annotated(hint: Any) -> Any:
    return get_args(hint)[0] if get_origin(hint) is Annotated else hint


def _is_event(hint: Any) -> bool:
    hint = _strip_annotated(hint)
    if isinstance(hint, type):
        return issubclass(hint, Event)
    if get_origin(hint) in (Union, types.UnionType):
        others = [arg for arg in get_args(hint) if arg is not type(None)]
        return len(others) == 1 and _is_event(others[0])
    return False


def _annotation_owner(func: Callable[..., Any]) -> Any:
    """The object whose annotations describe ``func``'s parameters."""
    if isinstance(func, functools.partial):
        return _annotation_owner(func.func)
    if inspect.isfunction(func) or inspect.ismethod(func):
        return func
    return type(func).__call__  # a callable object


def _summary(error: ValidationError) -> str:
    parts = []
    for detail in error.errors()[:_MAX_REPORTED_ERRORS]:
        location = "".join(
            f"[{step}]" if isinstance(step, int) else f".{step}" for step in detail["loc"]
        ).lstrip(".")
        parts.append(f"{location or '(root)'}: {detail['msg']}")
    more = error.error_count() - _MAX_REPORTED_ERRORS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


class HandlerSignature:
    """How to call one handler: which parameter gets the event, which gets validated data.

    Built once per handler at declaration; a mistake in the signature raises
    :class:`~eventbridge_sdk.ConfigurationError` naming the handler and the parameter.

    Example::

        class Order(BaseModel):
            id: int

        async def on_order(order: Order, event: Event) -> None: ...

        signature = HandlerSignature.of(on_order)
        args, kwargs = signature.build_args(event)  # validates event.data into Order
        await on_order(*args, **kwargs)
    """

    __slots__ = (
        "_adapter",
        "_keyword",
        "_positional",
        "data_parameter",
        "data_type",
        "event_parameter",
        "func",
        "is_async",
        "name",
    )

    def __init__(self, func: Callable[..., Any], localns: Mapping[str, Any] | None = None) -> None:
        if not callable(func):
            raise ConfigurationError(f"a handler must be callable, got {func!r}")
        self.func = func
        self.name = _describe(func)
        self.is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(func, "__call__", None)  # noqa: B004 - async callable objects
        )
        self.event_parameter: str | None = None
        self.data_parameter: str | None = None
        self.data_type: Any = None
        self._adapter: TypeAdapter[Any] | None = None
        parameters = self._parameters()
        roles = self._assign_roles(parameters, self._hints(localns))
        self._positional, self._keyword = self._plan(parameters, roles)

    @classmethod
    def of(
        cls, func: Callable[..., Any], localns: Mapping[str, Any] | None = None
    ) -> HandlerSignature:
        """Inspect ``func`` (sync or async) once and return how to call it.

        ``localns`` resolves annotation names that are not in the function's module, such as
        types imported or defined in the function that declared the handler.

        Example::

            HandlerSignature.of(lambda event: None).event_parameter  # -> "event"
        """
        return cls(func, localns)

    def build_args(self, event: Event) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments to call the handler with for ``event``.

        Raises :class:`~eventbridge_sdk.PayloadValidationError` (not retryable) when the data
        does not validate into the handler's data type.
        """
        data = None if self._adapter is None else self._validate(event)
        args = tuple([event if role is _EVENT else data for role in self._positional])
        kwargs = {name: event if role is _EVENT else data for name, role in self._keyword}
        return args, kwargs

    def invoker(self) -> Callable[[Event], Any]:
        """A function that calls the handler for one event and returns what the call returns
        (a coroutine for an async handler): :meth:`build_args` and the call in one step, with
        the common shapes (the event alone, the data alone) called directly.
        """
        func = self.func
        if self._keyword:
            return self._call_general
        if self._positional == (_EVENT,):
            return func
        if self._positional == (_DATA,):
            validate = self._validate
            return lambda event: func(validate(event))
        if not self._positional:
            return lambda event: func()
        return self._call_general

    def _call_general(self, event: Event) -> Any:
        args, kwargs = self.build_args(event)
        return self.func(*args, **kwargs)

    def _validate(self, event: Event) -> Any:
        assert self._adapter is not None
        try:
            return self._adapter.validate_python(event.data)
        except ValidationError as error:
            raise PayloadValidationError(
                f"handler {self.name}: parameter {self.data_parameter!r} "
                f"({_type_name(self.data_type)}) rejects the data of event "
                f"{event.id!r}: {error.error_count()} validation error(s): "
                f"{_summary(error)}"
            ) from error

    def _fail(self, message: str) -> ConfigurationError:
        return ConfigurationError(f"handler {self.name}: {message}")

    def _parameters(self) -> list[inspect.Parameter]:
        try:
            signature = inspect.signature(self.func)
        except (TypeError, ValueError) as exc:
            raise self._fail(f"cannot read its signature ({exc})") from None
        return list(signature.parameters.values())

    def _hints(self, localns: Mapping[str, Any] | None) -> dict[str, Any]:
        try:
            return get_type_hints(
                _annotation_owner(self.func),
                localns=dict(localns) if localns else None,
                include_extras=True,
            )
        except Exception as exc:  # NameError, TypeError, ... from evaluating annotations
            raise self._fail(
                f"cannot resolve its annotations ({exc}); the types a handler names must be "
                "importable from its module or visible where the handler is declared"
            ) from None

    def _assign_roles(
        self, parameters: list[inspect.Parameter], hints: dict[str, Any]
    ) -> dict[str, str]:
        roles: dict[str, str] = {}
        for parameter in parameters:
            name = parameter.name
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                star = "*" if parameter.kind is parameter.VAR_POSITIONAL else "**"
                raise self._fail(
                    f"parameter '{star}{name}' is not supported; a handler names the parameters "
                    "it wants (one Event, one typed data parameter)"
                )
            required = parameter.default is parameter.empty
            if name not in hints:
                if len(parameters) == 1:
                    roles[name] = _EVENT
                    self.event_parameter = name
                elif required:
                    raise self._fail(
                        f"parameter {name!r} has no annotation; annotate it with Event (the "
                        "envelope) or with the type its data should validate into"
                    )
            elif _is_event(hints[name]):
                if self.event_parameter is not None:
                    raise self._fail(
                        f"parameters {self.event_parameter!r} and {name!r} both ask for the "
                        "Event; a handler takes at most one"
                    )
                roles[name] = _EVENT
                self.event_parameter = name
            elif not required:
                continue  # an optional setting of the handler keeps its default
            elif self.data_parameter is None:
                roles[name] = _DATA
                self.data_parameter = name
                self.data_type = hints[name]
                self._adapter = self._adapter_for(name, hints[name])
            else:
                raise self._fail(
                    f"parameters {self.data_parameter!r} and {name!r} both ask for the data; a "
                    "handler takes at most one data parameter (annotate the other with Event)"
                )
        return roles

    def _adapter_for(self, name: str, hint: Any) -> TypeAdapter[Any]:
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hint)
            if not adapter.pydantic_complete:
                adapter.rebuild(raise_errors=True)
        except Exception as exc:  # pydantic's schema errors carry the reason and the fix
            # pydantic's first line is the reason; the rest is advice for model authors.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self._fail(
                f"parameter {name!r}: cannot validate data into {_type_name(hint)} ({reason})"
            ) from None
        return adapter

    def _plan(
        self, parameters: list[inspect.Parameter], roles: dict[str, str]
    ) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        # Pass positionally while parameters are filled in order; after a parameter left to its
        # default, the rest go by keyword. Positional-only parameters after such a gap would
        # need the default spelled out, so they are reported at declaration instead.
        positional: list[str] = []
        keyword: list[tuple[str, str]] = []
        gap = False
        for parameter in parameters:
            role = roles.get(parameter.name)
            if role is None:
                gap = True
            elif parameter.kind is parameter.KEYWORD_ONLY or (
                gap and parameter.kind is parameter.POSITIONAL_OR_KEYWORD
            ):
                keyword.append((parameter.name, role))
            elif gap:
                raise self._fail(
                    f"positional-only parameter {parameter.name!r} follows one left to its "
                    "default; make it a regular parameter"
                )
            else:
                positional.append(role)
        return tuple(positional), tuple(keyword)

    def __repr__(self) -> str:
        return (
            f"HandlerSignature({self.name}, event={self.event_parameter!r}, "
            f"data={self.data_parameter!r}, async={self.is_async})"
        )
