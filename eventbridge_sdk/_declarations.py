"""Declarations: buses, rules and targets as the application declares them.

Decorators only record; nothing runs until the bridge starts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._errors import DuplicateNameError, InvalidNameError, InvalidPatternError
from ._event import Event
from ._handlers import HandlerSignature
from ._names import check_name
from .patterns import Pattern, compile_pattern
from .sinks.base import Sink
from .transforms import Transform, TransformSpec, compile_transform

if TYPE_CHECKING:
    from ._app import EventBridge

__all__ = ["Bus", "Rule", "Target"]

F = TypeVar("F", bound=Callable[..., Any])


class Target:
    """Where a rule's matched events go: a handler function or a :class:`Sink`.

    Created by ``@rule.target()`` or :meth:`Rule.add_sink`; not built directly.
    """

    def __init__(
        self,
        rule: Rule,
        name: str,
        *,
        handler: Callable[..., Any] | None = None,
        signature: HandlerSignature | None = None,
        sink: Sink | None = None,
        concurrency: int | None = None,
        transform: Transform | None = None,
        reply_to: str | None = None,
    ) -> None:
        self.rule = rule
        self.name = name
        self.handler = handler
        self.signature = signature
        self.sink = sink
        self.concurrency = concurrency
        self.transform = transform
        """The compiled transform whose output becomes the ``data`` the target receives."""
        self.reply_to = reply_to
        """The bus that events returned by the handler are published to."""

    @property
    def full_name(self) -> str:
        """``bus/rule/target``."""
        return f"{self.rule.bus.name}/{self.rule.name}/{self.name}"

    def __repr__(self) -> str:
        return f"Target({self.full_name!r})"


class Rule:
    """A named event pattern on a bus; every matching event goes to each of its targets.

    Example::

        paid = orders.rule("paid", pattern={"type": ["order.paid"]})

        @paid.target()
        async def ship(event: Event) -> None: ...

        @paid.target(concurrency=1)
        def bill(event: Event) -> None: ...
    """

    def __init__(
        self,
        bus: Bus,
        name: str,
        pattern: Pattern,
        description: str | None = None,
    ) -> None:
        self.bus = bus
        self.name = name
        self.pattern = pattern
        self.description = description
        self._targets: dict[str, Target] = {}

    @property
    def targets(self) -> Mapping[str, Target]:
        """The rule's targets by name, in declaration order."""
        return self._targets

    @overload
    def target(self, name: F, /) -> F: ...

    @overload
    def target(
        self,
        name: str | None = None,
        *,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        reply_to: str | None = None,
    ) -> Callable[[F], F]: ...

    def target(
        self,
        name: str | Callable[..., Any] | None = None,
        *,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        reply_to: str | None = None,
    ) -> Any:
        """Decorate a sync or async function to make it a target of this rule.

        Use it as ``@rule.target()`` (with options) or plainly as ``@rule.target``.

        - ``name`` defaults to the function's name.
        - ``concurrency`` bounds the deliveries in flight for this target (default: the
          ``runtime.target_concurrency`` setting).
        - ``transform`` reshapes each event's data for this target (see
          :mod:`eventbridge_sdk.transforms`); it is checked now, not at delivery.
        - ``reply_to`` names a bus: events the handler returns are published there.

        The handler's parameters are filled from their annotations: ``Event`` gets the event, a
        pydantic model, dataclass or other type gets the (transformed) data validated into it.
        """

        if callable(name):  # @rule.target without parentheses
            self._declare_handler(name, None, None, None, None, sys._getframe(1).f_locals)
            return name
        target_name = name

        def decorate(handler: F) -> F:
            self._declare_handler(
                handler, target_name, concurrency, transform, reply_to, sys._getframe(1).f_locals
            )
            return handler

        return decorate

    def __call__(self, handler: F) -> F:
        """Use the rule itself as a decorator: the function becomes its only target.

        This short form takes no target options; for ``concurrency``, ``transform`` or
        ``reply_to`` declare the rule first and use ``@rule.target(...)``.

        Example::

            @orders.rule("audit")
            async def audit(event: Event) -> None: ...
        """
        self._declare_handler(handler, None, None, None, None, sys._getframe(1).f_locals)
        return handler

    def _declare_handler(
        self,
        handler: Callable[..., Any],
        name: str | None,
        concurrency: int | None,
        transform: TransformSpec | None,
        reply_to: str | None,
        caller_locals: Mapping[str, Any],
    ) -> Target:
        if not callable(handler):
            raise TypeError(
                f"rule {self.name!r} of bus {self.bus.name!r}: a target handler must be a "
                f"function, got {type(handler).__name__}; for other targets use add_sink()"
            )
        # Annotations may name types visible only where the handler is declared (a test
        # function's imports, say); the declaring frame's locals resolve them.
        options: dict[str, Any] = {
            "handler": handler,
            "concurrency": concurrency,
            "transform": transform,
            "reply_to": reply_to,
            "localns": caller_locals,
        }
        if name is not None:
            return self._add(name, **options)
        try:
            return self._add(getattr(handler, "__name__", ""), **options)
        except InvalidNameError as exc:
            raise InvalidNameError(
                f"{exc}; the name comes from the function, pass one with @rule.target(name=...)"
            ) from None

    def add_sink(
        self,
        name: str,
        sink: Sink,
        *,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
    ) -> Target:
        """Add a target that delivers to ``sink`` (any object that fills the Sink protocol)."""
        for method in ("start", "put", "flush", "pre_commit", "stop"):
            if not callable(getattr(sink, method, None)):
                raise TypeError(
                    f"target {name!r} of rule {self.name!r}: {sink!r} is not a Sink; it has no "
                    f"{method}() method"
                )
        max_batch = getattr(sink, "max_batch", None)
        if not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1:
            raise TypeError(
                f"target {name!r} of rule {self.name!r}: {sink!r} is not a Sink; its max_batch "
                f"(how many deliveries one put() may carry) must be a whole number >= 1, got "
                f"{max_batch!r}"
            )
        return self._add(name, sink=sink, concurrency=concurrency, transform=transform)

    def _add(
        self,
        name: str,
        *,
        handler: Callable[..., Any] | None = None,
        sink: Sink | None = None,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        reply_to: str | None = None,
        localns: Mapping[str, Any] | None = None,
    ) -> Target:
        where = f"rule {self.name!r} of bus {self.bus.name!r}"
        self.bus.bridge._check_declarable(f"target {name!r} of {where}")
        check_name("target", name, where)
        if name in self._targets:
            raise DuplicateNameError(
                f"{where} already has a target named {name!r}; give the new one another name "
                "(@rule.target(name=...))"
            )
        if concurrency is not None and (
            not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
        ):
            raise ValueError(
                f"target {name!r} of {where}: concurrency must be a whole number >= 1, "
                f"got {concurrency!r}"
            )
        if reply_to is not None:
            check_name("bus", reply_to, f"reply_to of target {name!r} of {where}")
        # A handler the runtime cannot call is an error now, not at the first delivery.
        signature = HandlerSignature.of(handler, localns) if handler is not None else None
        target = Target(
            self,
            name,
            handler=handler,
            signature=signature,
            sink=sink,
            concurrency=concurrency,
            transform=compile_transform(transform, where=f"target {name!r} of {where}"),
            reply_to=reply_to,
        )
        self._targets[name] = target
        return target

    def __repr__(self) -> str:
        return f"Rule({self.bus.name!r}/{self.name!r}, pattern={self.pattern.source!r})"


class Bus:
    """A named, ordered, durable log of events, and the rules that read it.

    Example::

        orders = bridge.bus("orders")
        await orders.publish(Event(type="order.created", source="/shop"))
    """

    def __init__(self, bridge: EventBridge, name: str) -> None:
        self.bridge = bridge
        self.name = name
        self._rules: dict[str, Rule] = {}

    @property
    def rules(self) -> Mapping[str, Rule]:
        """The bus's rules by name, in declaration order."""
        return self._rules

    def rule(
        self,
        name: str,
        pattern: Mapping[str, Any] | str | None = None,
        *,
        description: str | None = None,
    ) -> Rule:
        """Declare a rule: ``pattern`` is an event pattern (a dict or JSON text); ``None``
        matches every event. Use the result as a decorator, or add targets to it."""
        where = f"bus {self.name!r}"
        self.bridge._check_declarable(f"rule {name!r} of {where}")
        check_name("rule", name, where)
        if name in self._rules:
            raise DuplicateNameError(
                f"{where} already has a rule named {name!r}; rule names are unique per bus"
            )
        try:
            compiled = compile_pattern(pattern)
        except InvalidPatternError as exc:
            error = InvalidPatternError(f"rule {name!r} of {where}: {exc}")
            error.path = exc.path
            raise error from None
        rule = Rule(self, name, compiled, description)
        self._rules[name] = rule
        return rule

    async def publish(self, events: Event | Mapping[str, Any] | Sequence[Any]) -> list[str]:
        """Publish to this bus; see :meth:`EventBridge.publish`."""
        return await self.bridge.publish(self.name, events)

    def __repr__(self) -> str:
        return f"Bus({self.name!r}, rules={list(self._rules)})"
