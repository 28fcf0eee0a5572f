"""Settings of the example shop: the ``EVENTBRIDGE`` block is what the starter reads."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "example-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "shop_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "eventbridge_django",  # checks EVENTBRIDGE, loads every app's eventbridge.py
    "orders",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("SHOP_DATABASE", "shop.sqlite3")),
    }
}

EVENTBRIDGE = {
    # A key given here wins over its EVENTBRIDGE_* environment variable.
    "STORE": os.environ.get("EVENTBRIDGE_STORE", "sqlite:///.eventbridge/shop.db"),
    "GROUP": "shop",
    # False in web processes when `manage.py eventbridge_worker` runs the deliveries.
    "START_RUNTIME": os.environ.get("SHOP_START_RUNTIME", "1") == "1",
    "DELIVERY": {"MAX_ATTEMPTS": 5},
}

# Where the rule "big" delivers: the sales team's webhook (here a view of this project).
SALES_WEBHOOK_URL = os.environ.get("SALES_WEBHOOK_URL", "http://127.0.0.1:8000/hooks/sales")
