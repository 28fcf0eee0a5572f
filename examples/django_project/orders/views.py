from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from eventbridge_django import publish_on_commit

from eventbridge_sdk import Event
from eventbridge_sdk.http import from_http


@csrf_exempt
@require_POST
def create_order(request: HttpRequest) -> JsonResponse:
    order = json.loads(request.body)
    event = Event(type="order.created", source="/shop/orders", data=order)
    with transaction.atomic():
        # ... save the order here; the event goes out once the transaction commits.
        publish_on_commit("orders", event)
    return JsonResponse({"event_id": event.id}, status=202)


@csrf_exempt
@require_POST
def sales_webhook(request: HttpRequest) -> HttpResponse:
    """The sales team's webhook receiver (it would live in another service)."""
    [event] = from_http(request.headers.items(), request.body)
    data = event.data if isinstance(event.data, dict) else {}
    print(f"sales webhook: big order {data.get('order')} totals {data.get('total')}", flush=True)
    return HttpResponse(status=204)
