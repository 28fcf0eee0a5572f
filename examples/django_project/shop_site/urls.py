from __future__ import annotations

from django.urls import include, path
from orders import views

urlpatterns = [
    path("eventbridge/", include("eventbridge_django.urls")),  # gateway and health
    path("orders", views.create_order),
    path("hooks/sales", views.sales_webhook),
]
