"""The ASGI application: Django, with the event bridge's runtime in the server's lifespan.

uvicorn --app-dir examples/django_project shop_site.asgi:application
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")

from eventbridge_django.asgi import get_asgi_application

application = get_asgi_application()
