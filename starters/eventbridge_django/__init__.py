"""Django starter of eventbridge-sdk: the event bus in a Django project.

Add ``"eventbridge_django"`` to ``INSTALLED_APPS``, configure ``EVENTBRIDGE = {...}`` in the
settings, declare rules in an ``eventbridge.py`` module of any app, include the gateway URLs,
and publish from views.

Example::

    # shop/eventbridge.py
    from eventbridge_django import get_bridge

    orders = get_bridge().bus("orders")

    @orders.rule("created", pattern={"type": ["order.created"]})
    def ship(event: Event) -> None: ...

    # shop/views.py
    from eventbridge_django import publish_on_commit

    def create_order(request):
        with transaction.atomic():
            order = Order.objects.create(total=250)
            publish_on_commit("orders", {"type": "order.created", "source": "/shop",
                                         "data": {"id": order.pk}})
        return JsonResponse({"id": order.pk}, status=201)
"""

from __future__ import annotations

from ._bridge import get_bridge, start_runtime, stop_runtime
from ._publish import apublish, publish, publish_on_commit

__all__ = [
    "apublish",
    "get_bridge",
    "publish",
    "publish_on_commit",
    "start_runtime",
    "stop_runtime",
]
