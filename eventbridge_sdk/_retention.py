"""Retention: how long a bus keeps its events after every consumer group is done with them.

Without a declared retention a store keeps an event until every consumer group of its bus has
finished it (or, with ``?retain=all`` in a SQLite URL, for ever). A bus declared with a
:class:`Retention` is an **archive**: its events stay after they were consumed, so that they
can be replayed (:meth:`EventBridge.replay`), until they are older than ``max_age`` or are not
among the newest ``max_events`` of the bus. Retention never removes an event that a consumer
group has not finished, nor one that a retry or a backlog in the delay queue still names.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ._errors import ConfigurationError

__all__ = ["Retention", "check_retention", "first_at_or_after"]


@dataclass(frozen=True, slots=True)
class Retention:
    """How long a bus keeps its consumed events, by age and/or by count.

    - ``max_age``: a consumed event is removed once it was appended longer ago than this
      (a :class:`~datetime.timedelta`, or seconds);
    - ``max_events``: a consumed event is removed once it is not among the newest
      ``max_events`` events of the bus.

    With both, an event is removed as soon as either limit is passed; with neither
    (``Retention()``), consumed events are kept for ever. The limits are upper bounds: a store
    removes events when it prunes (after acknowledgements or commits), so a bus may hold a few
    more for a moment; it never holds an event a consumer group has not finished for longer
    than that group takes.

    Example::

        orders = bridge.bus("orders", retention=Retention(max_age=timedelta(days=7),
                                                          max_events=1_000_000))
    """

    max_age: timedelta | float | None = None
    """Given in seconds or as a :class:`~datetime.timedelta`; kept as a ``timedelta``."""
    max_events: int | None = None

    def __post_init__(self) -> None:
        age: Any = self.max_age
        if age is not None:
            if isinstance(age, int | float) and not isinstance(age, bool):
                if not math.isfinite(age):
                    age = None  # reported below
                else:
                    age = timedelta(seconds=age)
                    object.__setattr__(self, "max_age", age)
            if not isinstance(age, timedelta) or age <= timedelta(0):
                raise ConfigurationError(
                    f"Retention: max_age must be a positive timedelta or number of seconds, "
                    f"got {self.max_age!r}; omit it (None) to keep events of any age"
                )
        count: Any = self.max_events
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ConfigurationError(
                f"Retention: max_events must be a whole number of events, got {count!r}; omit "
                "it (None) to keep any number"
            )
        if count is not None and count < 1:
            raise ConfigurationError(
                f"Retention: max_events must be at least 1, got {count!r}; a bus always keeps "
                "what its consumer groups have not finished"
            )

    @property
    def max_age_seconds(self) -> float | None:
        """``max_age`` in seconds (``None`` when there is no age limit)."""
        age = self.max_age
        if age is None:
            return None
        return age.total_seconds() if isinstance(age, timedelta) else float(age)

    @property
    def keeps_all(self) -> bool:
        """Whether neither limit is set: consumed events are kept for ever."""
        return self.max_age is None and self.max_events is None


def check_retention(where: str, value: object) -> Retention | None:
    """Take the ``retention`` option of a bus declaration: a :class:`Retention`, a mapping of
    its fields, or ``None`` (the store's default: drop what every group finished)."""
    if value is None or isinstance(value, Retention):
        return value
    if isinstance(value, dict):
        try:
            return Retention(**value)
        except TypeError as exc:
            raise ConfigurationError(f"{where}: retention: {exc}") from None
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
    raise ConfigurationError(
        f"{where}: retention must be a Retention (or a mapping of its fields), got {value!r}; "
        "for example Retention(max_age=timedelta(days=7), max_events=1_000_000)"
    )


async def first_at_or_after(
    probe: Callable[[int], Awaitable[tuple[int, float | None] | None]],
    low: int,
    high: int,
    when: float,
) -> int:
    """The lowest offset in ``[low, high)`` whose event was appended at ``when`` or later, or
    ``high`` when there is none: a binary search over a log whose append times grow with the
    offsets (events without an append time count as older than any ``when``).

    ``probe(offset)`` returns the first event at ``offset`` or after, as ``(offset, appended)``,
    or ``None``; offsets need not be dense. About ``log2(high - low)`` probes.
    """
    best = high
    while low < high:
        mid = (low + high) // 2
        found = await probe(mid)
        if found is None or found[0] >= high:
            high = mid
        elif found[1] is None or found[1] < when:
            low = found[0] + 1
        else:
            best = min(best, found[0])
            high = mid
    return best
