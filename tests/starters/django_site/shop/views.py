from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from eventbridge_django import apublish, publish, publish_on_commit

from .models import Order


def create_order(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    [event_id] = publish("orders", {"type": "order.created", "source": "/shop/sync", "data": data})
    return JsonResponse({"event_id": event_id}, status=202)


async def acreate_order(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    event = {"type": "order.created", "source": "/shop/async", "data": data}
    [event_id] = await apublish("orders", event)
    return JsonResponse({"event_id": event_id}, status=202)


class Refused(Exception):
    pass


def create_on_commit(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    try:
        with transaction.atomic():
            event = {"type": "order.created", "source": "/shop/commit", "data": data}
            publish_on_commit("orders", event)
            if data.get("rollback"):
                raise Refused
    except Refused:
        return JsonResponse({"rolled_back": True}, status=409)
    return JsonResponse({"committed": True}, status=201)


def create_model(request: HttpRequest) -> JsonResponse:
    with transaction.atomic():
        order = Order.objects.create(total=json.loads(request.body)["total"])
    return JsonResponse({"id": order.pk}, status=201)
