"""The event gateway and the health endpoints as Django views (see ``eventbridge_django.urls``)."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from eventbridge_sdk._health import liveness, readiness
from eventbridge_sdk.telemetry import metrics_response

from . import _loop
from ._bridge import get_bridge, get_config, get_gateway

__all__ = ["gateway", "live", "metrics", "ready"]


@csrf_exempt
@require_POST
async def gateway(request: HttpRequest, bus: str) -> HttpResponse:
    """``POST .../buses/<bus>/events``: CloudEvents in, appended to ``bus`` before the 2xx."""
    events_gateway = get_gateway()
    # Read past the limit by one byte, so that the gateway refuses an oversized body.
    body = request.read(events_gateway.settings.max_request_size + 1)
    headers = {name.lower(): value for name, value in request.headers.items()}
    answer = await _loop.acall(functools.partial(events_gateway.handle, bus, headers, body))
    return HttpResponse(answer.body, status=answer.status, headers=answer.headers)


@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """``GET .../health/live``: the process answers."""
    health = liveness(get_bridge())
    return JsonResponse(health.body, status=health.status_code)


@require_GET
async def ready(request: HttpRequest) -> JsonResponse:
    """``GET .../health/ready``: 200 when the store answers and the runtime runs, else 503."""
    config = get_config()
    check = functools.partial(
        readiness, get_bridge(), runtime=config.start_runtime, timeout=config.health_timeout
    )
    health = await _loop.acall(check)
    return JsonResponse(health.body, status=health.status_code)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """``GET .../metrics``: the metrics in the Prometheus text format (with
    ``EVENTBRIDGE = {"TELEMETRY": {"METRICS_EXPORTER": "prometheus"}}`` and the ``[prometheus]``
    extra), else 404 saying what is missing."""
    status, body, content_type = metrics_response()
    return HttpResponse(body, status=status, content_type=content_type)
