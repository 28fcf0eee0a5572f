"""What the runtime knows when it delivers an event: the bus, the rule and when the event arrived.

A transform gets a :class:`TransformContext` only if it asks for one (``uses_context = True``);
AWS's reserved variables ``<aws.events.rule-name>``, ``<aws.events.rule-arn>`` and
``<aws.events.event.ingestion-time>`` are read from it.
"""

from __future__ import annotations

import time
from typing import NamedTuple

__all__ = ["ARN_PREFIX", "TransformContext", "ingestion_time"]

ARN_PREFIX = "arn:eventbridge-sdk:events:local::rule/"
"""AWS's rule ARN is ``arn:aws:events:<region>:<account>:rule/[<bus>/]<rule>``; here the
partition is ``eventbridge-sdk``, the region ``local``, the account empty, and the bus is always
named (there is no default bus)."""


class TransformContext(NamedTuple):
    """Where and when an event is being delivered, for the transforms that read it.

    ``ingested`` is when the event was appended to its bus, in Unix seconds (the store's clock),
    or ``None`` when the store did not say. The runtime builds one per delivery for a transform
    whose ``uses_context`` is true, and passes it as ``apply(event, context)``.

    Example::

        context = TransformContext("orders", "paid", 1767225600.25)
        context.rule_arn  # -> 'arn:eventbridge-sdk:events:local::rule/orders/paid'
        ingestion_time(context.ingested)  # -> '2026-01-01T00:00:00.250Z'
    """

    bus: str
    rule: str
    ingested: float | None = None

    @property
    def rule_arn(self) -> str:
        """The rule's ARN-shaped name: ``arn:eventbridge-sdk:events:local::rule/<bus>/<rule>``."""
        return f"{ARN_PREFIX}{self.bus}/{self.rule}"


def ingestion_time(ingested: float) -> str:
    """``ingested`` (Unix seconds) as AWS writes an ingestion time: UTC, milliseconds, ``Z``.

    Example::

        ingestion_time(0.5)  # -> '1970-01-01T00:00:00.500Z'
    """
    # Through whole microseconds: 1700000000.123 is 1700000000122.99998 milliseconds as a float.
    seconds, micros = divmod(round(ingested * 1_000_000), 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros // 1000:03d}Z"
