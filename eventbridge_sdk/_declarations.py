"""Declarations: buses, rules and targets as the application declares them.

Decorators only record; nothing runs until the bridge starts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._errors import (
    ConfigurationError,
    DuplicateNameError,
    InvalidNameError,
    InvalidPatternError,
    RuntimeStateError,
)
from ._event import Event
from ._handlers import HandlerSignature
from ._names import check_name
from ._policies import RetryPolicy, Tolerance, check_tolerance
from ._retention import Retention
from .patterns import Pattern, compile_pattern
from .sinks.base import Sink
from .transforms import Transform, TransformSpec, compile_transform

if TYPE_CHECKING:
    from ._app import EventBridge

__all__ = ["UNSET", "Bus", "Rule", "Target", "delivery_options"]

F = TypeVar("F", bound=Callable[..., Any])

UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<unset>"})()
"""Tells an option that was not passed from one passed as ``None``."""

ErrorTypes = type[BaseException] | tuple[type[BaseException], ...]


def delivery_options(
    where: str,
    *,
    retry: Any = UNSET,
    dead_letter: Any = UNSET,
    tolerance: Any = UNSET,
    non_retryable: Any = UNSET,
) -> dict[str, Any]:
    """Check the delivery options given to a declaration; return those that were passed."""
    options: dict[str, Any] = {}
    if retry is not UNSET:
        if isinstance(retry, Mapping):
            try:
                retry = RetryPolicy(**retry)
            except TypeError as exc:
                raise ConfigurationError(f"{where}: retry: {exc}") from None
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError(
                f"{where}: retry must be a RetryPolicy (or a mapping of its fields), got "
                f"{retry!r}; RetryPolicy.NO_RETRY makes one attempt only"
            )
        options["retry"] = retry
    if dead_letter is not UNSET:
        if dead_letter is not None:
            check_name("bus", dead_letter, f"dead_letter of {where}")
        options["dead_letter"] = dead_letter
    if tolerance is not UNSET:
        options["tolerance"] = check_tolerance(tolerance, where)
    if non_retryable is not UNSET:
        types = non_retryable if isinstance(non_retryable, tuple | list) else (non_retryable,)
        for kind in types:
            if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                raise ConfigurationError(
                    f"{where}: non_retryable must be exception classes, got {kind!r}"
                )
        options["non_retryable"] = tuple(types)
    return options


def check_declarable(bridge: EventBridge, what: str) -> None:
    """Refuse a declaration while ``bridge`` runs: the runtime was wired at start."""
    if bridge.running:
        raise RuntimeStateError(
            f"cannot declare {what} while the bridge is running; declare buses, rules and "
            "targets before start()"
        )


def _is_sink(value: object) -> bool:
    """Whether ``value`` is a sink object (not a handler function or a name)."""
    return (
        value is not None
        and not isinstance(value, str | type)
        and callable(getattr(value, "put", None))
        and hasattr(value, "max_batch")
    )


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
        rate_limit: float | None = None,
        queue_size: int | None = None,
        delivery: Mapping[str, Any] | None = None,
    ) -> None:
        self.rule = rule
        self.name = name
        self.handler = handler
        self.signature = signature
        self.sink = sink
        self.concurrency = concurrency
        self.rate_limit = rate_limit
        """Events per second at most (a token bucket); ``None``: no limit."""
        self.queue_size = queue_size
        """Events queued in memory at most; more wait in the store."""
        self.delivery: Mapping[str, Any] = delivery or {}
        """The delivery options declared on this target (the rest come from its rule, bus,
        bridge)."""
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
        delivery: Mapping[str, Any] | None = None,
    ) -> None:
        self.bus = bus
        self.name = name
        self.pattern = pattern
        self.description = description
        self.delivery: Mapping[str, Any] = delivery or {}
        """Delivery options declared on the rule: defaults for its targets."""
        self._targets: dict[str, Target] = {}

    @property
    def targets(self) -> Mapping[str, Target]:
        """The rule's targets by name, in declaration order."""
        return self._targets

    @overload
    def target(self, handler: F, /) -> F: ...

    @overload
    def target(
        self,
        sink: Sink,
        /,
        *,
        name: str | None = None,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        retry: RetryPolicy | Mapping[str, Any] = ...,
        dead_letter: str | None = ...,
        tolerance: Tolerance = ...,
        non_retryable: ErrorTypes = ...,
        rate_limit: float | None = None,
        queue_size: int | None = None,
    ) -> Target: ...

    @overload
    def target(
        self,
        target_name: str | None = None,
        /,
        *,
        name: str | None = None,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        reply_to: str | None = None,
        retry: RetryPolicy | Mapping[str, Any] = ...,
        dead_letter: str | None = ...,
        tolerance: Tolerance = ...,
        non_retryable: ErrorTypes = ...,
        rate_limit: float | None = None,
        queue_size: int | None = None,
    ) -> Callable[[F], F]: ...

    def target(
        self,
        what: Any = None,
        /,
        *,
        name: str | None = None,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        reply_to: str | None = None,
        retry: Any = UNSET,
        dead_letter: Any = UNSET,
        tolerance: Any = UNSET,
        non_retryable: Any = UNSET,
        rate_limit: float | None = None,
        queue_size: int | None = None,
    ) -> Any:
        """Add a target to this rule: decorate a sync or async function, or pass a sink.

        Use it as ``@rule.target()`` (with options) or plainly as ``@rule.target`` on a
        handler, or as ``rule.target(HttpTarget(url), ...)`` / ``rule.target(BusTarget(bus))``
        with a sink, which returns the :class:`Target`.

        - ``name`` defaults to the function's name (a sink's ``name``).
        - ``concurrency`` bounds the deliveries in flight for this target (default: the
          ``runtime.target_concurrency`` setting).
        - ``transform`` reshapes each event's data for this target (see
          :mod:`eventbridge_sdk.transforms`); it is checked now, not at delivery.
        - ``reply_to`` names a bus: events the handler returns are published there.
        - ``retry`` (a :class:`RetryPolicy`), ``dead_letter`` (a bus name, or ``None`` to drop
          what fails for good), ``tolerance`` (``"all"`` or ``"none"``) override the rule's,
          bus's and bridge's; ``non_retryable`` names exception types that go straight to the
          dead letter.
        - ``rate_limit`` bounds the events per second; ``queue_size`` the events held in
          memory for this target (the rest wait in the store).

        The handler's parameters are filled from their annotations: ``Event`` gets the event, a
        pydantic model, dataclass or other type gets the (transformed) data validated into it.
        """
        if _is_sink(what):
            if reply_to is not None:
                raise ConfigurationError(
                    f"target {what!r} of rule {self.name!r}: reply_to is for handler targets; "
                    "a sink has no return value to publish"
                )
            sink_name = name if name is not None else getattr(what, "name", None)
            if not isinstance(sink_name, str):
                sink_name = type(what).__name__.lower()
            return self.add_sink(
                sink_name,
                what,
                concurrency=concurrency,
                transform=transform,
                retry=retry,
                dead_letter=dead_letter,
                tolerance=tolerance,
                non_retryable=non_retryable,
                rate_limit=rate_limit,
                queue_size=queue_size,
            )
        if isinstance(what, str):
            if name is not None and name != what:
                raise TypeError(
                    f"rule {self.name!r}: the target name is given twice ({what!r} and "
                    f"name={name!r})"
                )
            name = what
        elif what is not None and not callable(what):
            raise TypeError(
                f"rule {self.name!r}: target() takes a handler function, a sink (HttpTarget, "
                f"BusTarget, or another Sink) or a name, got {type(what).__name__}"
            )
        if callable(what):  # @rule.target without parentheses
            self._declare_handler(what, name, sys._getframe(1).f_locals)
            return what
        target_name = name
        options = {
            "concurrency": concurrency,
            "transform": transform,
            "reply_to": reply_to,
            "rate_limit": rate_limit,
            "queue_size": queue_size,
            "delivery": delivery_options(
                f"target of rule {self.name!r} of bus {self.bus.name!r}",
                retry=retry,
                dead_letter=dead_letter,
                tolerance=tolerance,
                non_retryable=non_retryable,
            ),
        }

        def decorate(handler: F) -> F:
            self._declare_handler(handler, target_name, sys._getframe(1).f_locals, **options)
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
        self._declare_handler(handler, None, sys._getframe(1).f_locals)
        return handler

    def _declare_handler(
        self,
        handler: Callable[..., Any],
        name: str | None,
        caller_locals: Mapping[str, Any],
        **given: Any,
    ) -> Target:
        if not callable(handler):
            raise TypeError(
                f"rule {self.name!r} of bus {self.bus.name!r}: a target handler must be a "
                f"function, got {type(handler).__name__}; for other targets use add_sink()"
            )
        # Annotations may name types visible only where the handler is declared (a test
        # function's imports, say); the declaring frame's locals resolve them.
        options: dict[str, Any] = {"handler": handler, "localns": caller_locals, **given}
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
        retry: RetryPolicy | Mapping[str, Any] = UNSET,
        dead_letter: str | None = UNSET,
        tolerance: Tolerance = UNSET,
        non_retryable: ErrorTypes = UNSET,
        rate_limit: float | None = None,
        queue_size: int | None = None,
    ) -> Target:
        """Add a target that delivers to ``sink`` (any object that fills the Sink protocol).

        The options are those of :meth:`target`.
        """
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
        if getattr(sink, "local", False) and getattr(sink, "bus", None) == self.bus.name:
            raise ConfigurationError(
                f"target {name!r} of rule {self.name!r} of bus {self.bus.name!r} forwards to the "
                "rule's own bus: every forwarded event would come back to the rule. Name "
                "another bus"
            )
        delivery = delivery_options(
            f"target {name!r} of rule {self.name!r} of bus {self.bus.name!r}",
            retry=retry,
            dead_letter=dead_letter,
            tolerance=tolerance,
            non_retryable=non_retryable,
        )
        return self._add(
            name,
            sink=sink,
            concurrency=concurrency,
            transform=transform,
            rate_limit=rate_limit,
            queue_size=queue_size,
            delivery=delivery,
        )

    def _add(
        self,
        name: str,
        *,
        handler: Callable[..., Any] | None = None,
        sink: Sink | None = None,
        concurrency: int | None = None,
        transform: TransformSpec | None = None,
        reply_to: str | None = None,
        rate_limit: float | None = None,
        queue_size: int | None = None,
        delivery: Mapping[str, Any] | None = None,
        localns: Mapping[str, Any] | None = None,
    ) -> Target:
        where = f"rule {self.name!r} of bus {self.bus.name!r}"
        check_declarable(self.bus.bridge, f"target {name!r} of {where}")
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
        if queue_size is not None and (
            not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1
        ):
            raise ValueError(
                f"target {name!r} of {where}: queue_size must be a whole number >= 1, "
                f"got {queue_size!r}"
            )
        if rate_limit is not None and (
            isinstance(rate_limit, bool)
            or not isinstance(rate_limit, int | float)
            or not rate_limit > 0
            or rate_limit == float("inf")
        ):
            raise ValueError(
                f"target {name!r} of {where}: rate_limit must be a positive number of events "
                f"per second, got {rate_limit!r}"
            )
        delivery = dict(delivery or {})
        if delivery.get("dead_letter") == self.bus.name:
            raise ConfigurationError(
                f"target {name!r} of {where}: dead_letter is the rule's own bus; a dead letter "
                "would come back to the rule that failed it. Name another bus"
            )
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
            rate_limit=rate_limit,
            queue_size=queue_size,
            delivery=delivery,
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

    def __init__(
        self,
        bridge: EventBridge,
        name: str,
        delivery: Mapping[str, Any] | None = None,
        retention: Retention | None = None,
    ) -> None:
        self.bridge = bridge
        self.name = name
        self.delivery: Mapping[str, Any] = delivery or {}
        """Delivery options declared on the bus: defaults for its rules' targets."""
        self.retention = retention
        """How long the bus keeps consumed events for replays (``None``: until consumed)."""
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
        retry: RetryPolicy | Mapping[str, Any] = UNSET,
        dead_letter: str | None = UNSET,
        tolerance: Tolerance = UNSET,
        non_retryable: ErrorTypes = UNSET,
    ) -> Rule:
        """Declare a rule: ``pattern`` is an event pattern (a dict or JSON text); ``None``
        matches every event. Use the result as a decorator, or add targets to it.

        ``retry``, ``dead_letter``, ``tolerance`` and ``non_retryable`` are defaults for the
        rule's targets (see :meth:`Rule.target`)."""
        where = f"bus {self.name!r}"
        check_declarable(self.bridge, f"rule {name!r} of {where}")
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
        delivery = delivery_options(
            f"rule {name!r} of {where}",
            retry=retry,
            dead_letter=dead_letter,
            tolerance=tolerance,
            non_retryable=non_retryable,
        )
        if delivery.get("dead_letter") == self.name:
            raise ConfigurationError(
                f"rule {name!r} of {where}: dead_letter is the rule's own bus; a dead letter "
                "would come back to the rule that failed it. Name another bus"
            )
        rule = Rule(self, name, compiled, description, delivery)
        self._rules[name] = rule
        return rule

    async def publish(self, events: Event | Mapping[str, Any] | Sequence[Any]) -> list[str]:
        """Publish to this bus; see :meth:`EventBridge.publish`."""
        return await self.bridge.publish(self.name, events)

    def __repr__(self) -> str:
        return f"Bus({self.name!r}, rules={list(self._rules)})"
