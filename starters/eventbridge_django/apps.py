"""The Django app: checks ``settings.EVENTBRIDGE`` and loads every app's ``eventbridge.py``."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules

from ._bridge import get_bridge, get_config


class EventBridgeConfig(AppConfig):
    """Add ``"eventbridge_django"`` to ``INSTALLED_APPS``.

    At start-up it checks ``settings.EVENTBRIDGE`` (a bad key or value stops the start with an
    error naming it), makes or imports the project's bridge, and imports the ``eventbridge``
    module of every installed app, as the admin does with ``admin.py``.

    Example::

        INSTALLED_APPS = [..., "eventbridge_django", "shop"]
        EVENTBRIDGE = {"STORE": "sqlite:///var/lib/shop/events.db"}
    """

    name = "eventbridge_django"
    label = "eventbridge"
    verbose_name = "Event bridge"
    default = True

    def ready(self) -> None:
        config = get_config()
        get_bridge()
        if config.autodiscover:
            autodiscover_modules("eventbridge")
