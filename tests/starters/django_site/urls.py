from __future__ import annotations

from django.urls import include, path

from .shop import views

urlpatterns = [
    path("eventbridge/", include("eventbridge_django.urls")),
    path("orders/sync", views.create_order),
    path("orders/async", views.acreate_order),
    path("orders/on-commit", views.create_on_commit),
    path("orders/model", views.create_model),
]
