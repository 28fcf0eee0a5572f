"""Settings of the Django site the starter's tests run (``SITE_EVENTBRIDGE``: JSON for
``EVENTBRIDGE``; ``SITE_EVENTS_LOG``: a file the handler also writes to)."""

from __future__ import annotations

import json
import os

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "django_site.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "eventbridge_django",
    "django_site.shop",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SITE_DATABASE", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EVENTBRIDGE = json.loads(os.environ.get("SITE_EVENTBRIDGE", '{"STORE": "memory://"}'))
