"""URLs of the event gateway and health views.

Example (the project's ``urls.py``)::

    urlpatterns = [path("eventbridge/", include("eventbridge_django.urls"))]
    # POST /eventbridge/buses/<bus>/events, GET /eventbridge/health/live, .../health/ready,
    # GET /eventbridge/metrics
"""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "eventbridge"

urlpatterns = [
    path("buses/<str:bus>/events", views.gateway, name="gateway"),
    path("health/live", views.live, name="live"),
    path("health/ready", views.ready, name="ready"),
    path("metrics", views.metrics, name="metrics"),
]
