"""Publish on a model signal: after the transaction that saved the order commits."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver
from eventbridge_django import publish_on_commit

from .models import Order


@receiver(post_save, sender=Order)
def order_saved(sender: type[Order], instance: Order, created: bool, **kwargs: Any) -> None:
    if created:
        publish_on_commit(
            "orders",
            {"type": "order.saved", "source": "/shop/models", "data": {"id": instance.pk}},
        )
