"""Delivery policies as values: how often and how long a target is retried, and what a handler
can say about an event besides returning or raising.

A handler that returns has delivered. An ordinary exception means "retry later" under the
target's :class:`RetryPolicy`. Three control exceptions say more; they derive from
``BaseException`` so that a handler's own ``except Exception`` cannot swallow them:

- :class:`Retry` — retry, and (optionally) not before ``after`` seconds;
- :class:`DeadLetter` — no more attempts: dead-letter the event now, with a reason;
- :class:`Drop` — acknowledge the event and deliver nothing (not an error).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar, Literal, get_args

from ._errors import ConfigurationError

__all__ = [
    "Backoff",
    "DeadLetter",
    "DeliveryOutcome",
    "DeliveryPolicy",
    "Drop",
    "Retry",
    "RetryPolicy",
    "Tolerance",
]

Backoff = Literal["fixed", "linear", "exponential"]
"""How the delay grows between attempts."""

Tolerance = Literal["all", "none"]
"""What a runner does with an event that failed for good: ``"all"`` dead-letters it (or drops it
when the target has no dead-letter bus) and goes on; ``"none"`` pauses the runner."""

_BACKOFFS: tuple[str, ...] = get_args(Backoff)
_TOLERANCES: tuple[str, ...] = get_args(Tolerance)


def _seconds(value: float | timedelta | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{what} must be a number of seconds, got {value!r}")
    if value < 0:
        raise ConfigurationError(f"{what} must not be negative, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a target is retried after an attempt fails.

    - ``max_attempts`` counts **every** attempt, the first included: ``max_attempts=1`` never
      retries, ``max_attempts=3`` retries twice.
    - ``backoff``: the delay before retry *n* (n = 1 after the first failure) is
      ``initial_delay`` (``"fixed"``), ``initial_delay * n`` (``"linear"``) or
      ``initial_delay * 2 ** (n - 1)`` (``"exponential"``), capped at ``max_delay``.
    - ``jitter`` spreads retries of many events apart: the delay is drawn uniformly from
      ``[delay * (1 - jitter), delay]``. ``1.0`` (the default) is "full jitter"; ``0`` waits the
      exact delay.
    - ``max_event_age``: no attempt starts later than this many seconds after the first one
      (``None``: no limit). Whichever of the two limits is reached first ends the retries.

    Presets: :attr:`DEFAULT`, :attr:`NO_RETRY`, :attr:`AWS`, :attr:`BACKOFF_RETRY`,
    :attr:`EXPONENTIAL_DECAY_RETRY`.

    Example::

        @rule.target(retry=RetryPolicy(max_attempts=5, backoff="exponential", initial_delay=2))
        async def charge(event: Event) -> None: ...
    """

    max_attempts: int = 10
    backoff: Backoff = "exponential"
    initial_delay: float = 1.0
    max_delay: float = 300.0
    max_event_age: float | None = 86_400.0
    jitter: float = 1.0

    DEFAULT: ClassVar[RetryPolicy]
    """10 attempts, exponential from 1 s with full jitter, capped at 5 min, within 24 h: an outage
    of minutes is ridden out, a bug reaches the dead-letter bus within about ten minutes, where
    it can be seen and replayed instead of being retried for a day."""
    NO_RETRY: ClassVar[RetryPolicy]
    """One attempt: a failure goes straight to the dead-letter bus."""
    AWS: ClassVar[RetryPolicy]
    """AWS EventBridge's default: 185 retries (186 attempts) or 24 hours, exponential with
    jitter."""
    BACKOFF_RETRY: ClassVar[RetryPolicy]
    """RocketMQ EventBridge's ``BACKOFF_RETRY``: 3 retries, each 10-20 s (random) apart."""
    EXPONENTIAL_DECAY_RETRY: ClassVar[RetryPolicy]
    """RocketMQ EventBridge's ``EXPONENTIAL_DECAY_RETRY``: 176 retries, delays 1, 2, 4, ... s
    doubling up to 512 s, about a day in all."""

    def __post_init__(self) -> None:
        attempts = self.max_attempts
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy: max_attempts counts every attempt, the first included, so it must "
                f"be a whole number >= 1, got {attempts!r}"
            )
        if self.backoff not in _BACKOFFS:
            raise ConfigurationError(
                f"RetryPolicy: backoff must be one of {list(_BACKOFFS)}, got {self.backoff!r}"
            )
        for name in ("initial_delay", "max_delay", "max_event_age"):
            value = _seconds(getattr(self, name), f"RetryPolicy: {name}")
            object.__setattr__(self, name, value)
        if self.max_delay < self.initial_delay:
            raise ConfigurationError(
                f"RetryPolicy: max_delay ({self.max_delay} s) is shorter than initial_delay "
                f"({self.initial_delay} s)"
            )
        jitter = self.jitter
        if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter <= 1:
            raise ConfigurationError(
                f"RetryPolicy: jitter must be a number from 0 (none) to 1 (full), got {jitter!r}"
            )

    def base_delay(self, retry: int) -> float:
        """The delay before retry ``retry`` (1 = the first retry) before jitter, in seconds."""
        if self.backoff == "fixed":
            delay = self.initial_delay
        elif self.backoff == "linear":
            delay = self.initial_delay * retry
        else:
            # Past 2**64 the cap has long been reached; avoid float overflow on huge counts.
            delay = self.initial_delay * 2.0 ** min(retry - 1, 64)
        return min(delay, self.max_delay)

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """The delay before retry ``retry`` (1 = the first retry), jitter applied, in seconds."""
        delay = self.base_delay(retry)
        if not self.jitter:
            return delay
        low = delay * (1.0 - self.jitter)
        return (rng or random).uniform(low, delay)


RetryPolicy.DEFAULT = RetryPolicy()
RetryPolicy.NO_RETRY = RetryPolicy(max_attempts=1)
RetryPolicy.AWS = RetryPolicy(
    max_attempts=186, backoff="exponential", initial_delay=1.0, max_delay=512.0
)
RetryPolicy.BACKOFF_RETRY = RetryPolicy(
    max_attempts=4, backoff="fixed", initial_delay=20.0, max_delay=20.0, max_event_age=None,
    jitter=0.5,
)  # fmt: skip
RetryPolicy.EXPONENTIAL_DECAY_RETRY = RetryPolicy(
    max_attempts=177, backoff="exponential", initial_delay=1.0, max_delay=512.0,
    max_event_age=None, jitter=0.0,
)  # fmt: skip


def check_tolerance(value: object, where: str) -> Tolerance:
    """Return ``value`` as a :data:`Tolerance`, or raise naming the declaration."""
    text = value.lower() if isinstance(value, str) else value
    if text not in _TOLERANCES:
        raise ConfigurationError(
            f"{where}: tolerance must be 'all' (dead-letter and go on) or 'none' (pause the "
            f"target), got {value!r}"
        )
    return text  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Everything that decides what happens to one target's failed deliveries, resolved from the
    target, its rule, its bus and the bridge (the most specific one that sets a value wins)."""

    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy.DEFAULT)
    dead_letter: str | None = "dead-letters"
    tolerance: Tolerance = "all"
    non_retryable: tuple[type[BaseException], ...] = ()


class DeliveryOutcome(BaseException):
    """The base of the control exceptions a handler raises to steer its event's delivery.

    They derive from ``BaseException`` so that ``except Exception`` in a handler does not
    swallow them.
    """


class Retry(DeliveryOutcome):
    """Retry this event, not before ``after`` seconds (the retry policy's delay otherwise).

    The retry counts against the target's ``max_attempts`` and ``max_event_age``.

    Example::

        @rule.target()
        async def sync(event: Event) -> None:
            if not backend.ready():
                raise Retry(after=30, reason="backend warming up")
    """

    def __init__(self, after: float | timedelta | None = None, reason: str = "") -> None:
        self.after = _seconds(after, "Retry(after=...)")
        self.reason = reason
        super().__init__(reason or "retry requested")


class DeadLetter(DeliveryOutcome):
    """Make no more attempts: send this event to the target's dead-letter bus now.

    Example::

        @rule.target()
        async def charge(event: Event) -> None:
            if event.data["card"] == "expired":
                raise DeadLetter("card expired")
    """

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(reason or "dead-lettered by the handler")


class Drop(DeliveryOutcome):
    """Acknowledge this event and deliver nothing: no retry, no dead letter, not an error.

    Example::

        @rule.target()
        async def notify(event: Event) -> None:
            if event.data.get("test"):
                raise Drop
    """
