"""Publishing from Django code: sync views, async views, after a transaction commits."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from eventbridge_sdk import Event

from . import _loop
from ._bridge import get_bridge

__all__ = ["apublish", "publish", "publish_on_commit"]

EventInput = Event | Mapping[str, Any]


def publish(bus: str, events: EventInput | Sequence[EventInput]) -> list[str]:
    """Publish from sync code (a view, a signal receiver); return the ids once durable.

    Example::

        def create_order(request):
            publish("orders", {"type": "order.created", "source": "/shop", "data": {"id": 1}})
            return HttpResponse(status=202)
    """
    bridge = get_bridge()
    return _loop.call(functools.partial(bridge.publish, bus, events))


async def apublish(bus: str, events: EventInput | Sequence[EventInput]) -> list[str]:
    """Publish from async code (an async view); return the ids once durable.

    Example::

        async def create_order(request):
            await apublish("orders", Event(type="order.created", source="/shop"))
            return HttpResponse(status=202)
    """
    bridge = get_bridge()
    return await _loop.acall(functools.partial(bridge.publish, bus, events))


def publish_on_commit(
    bus: str,
    events: EventInput | Sequence[EventInput],
    *,
    using: str | None = None,
    robust: bool = False,
) -> None:
    """Publish once the current transaction commits (at once outside a transaction).

    A rolled-back transaction publishes nothing. ``using`` and ``robust`` are those of
    :func:`django.db.transaction.on_commit`. The commit and the publish are two steps: a crash
    between them loses the event (use an outbox table where that matters).

    Example::

        with transaction.atomic():
            order = Order.objects.create(total=250)
            publish_on_commit("orders", {"type": "order.created", "source": "/shop",
                                         "data": {"id": order.pk}})
    """
    transaction.on_commit(functools.partial(publish, bus, events), using=using, robust=robust)
