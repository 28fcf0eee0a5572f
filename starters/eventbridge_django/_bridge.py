"""The project's bridge: made from ``settings.EVENTBRIDGE`` or imported from ``BRIDGE``."""

from __future__ import annotations

import functools
import threading

from django.conf import settings as django_settings

from eventbridge_sdk import EventBridge
from eventbridge_sdk.http import Gateway

from . import _loop
from ._conf import StarterConfig, import_bridge, read_config

__all__ = ["get_bridge", "get_config", "get_gateway", "start_runtime", "stop_runtime"]

_lock = threading.RLock()
_bridge: EventBridge | None = None
_gateway: Gateway | None = None


@functools.cache
def get_config() -> StarterConfig:
    """``settings.EVENTBRIDGE``, checked (read once)."""
    return read_config(getattr(django_settings, "EVENTBRIDGE", None))


def get_bridge() -> EventBridge:
    """The project's bridge: declare buses and rules on it in your apps' ``eventbridge.py``.

    Made once, from ``settings.EVENTBRIDGE``; or, when ``EVENTBRIDGE["BRIDGE"]`` names one
    (``"myproject.events:bridge"``), that bridge.

    Example::

        # shop/eventbridge.py
        from eventbridge_django import get_bridge

        orders = get_bridge().bus("orders")

        @orders.rule("created", pattern={"type": ["order.created"]})
        def ship(event: Event) -> None: ...
    """
    global _bridge
    with _lock:
        if _bridge is None:
            config = get_config()
            if config.bridge is not None:
                _bridge = import_bridge(config.bridge)
            else:
                assert config.settings is not None
                _bridge = EventBridge(settings=config.settings)
        return _bridge


def get_gateway() -> Gateway:
    """The event gateway of the project's bridge (its views call :meth:`Gateway.handle`)."""
    global _gateway
    with _lock:
        if _gateway is None:
            _gateway = Gateway(get_bridge(), runtime=False)
        return _gateway


def start_runtime() -> None:
    """Start the push runtime on a loop in a background thread of this process.

    For processes without an ASGI lifespan (a WSGI server with one process, tests); under ASGI
    the lifespan starts it, and ``manage.py eventbridge_worker`` runs it in its own process.
    At exit it drains (or call :func:`stop_runtime`).

    Example::

        start_runtime()
        publish("orders", {"type": "order.created", "source": "/shop"})
    """
    bridge = get_bridge()
    _loop.call(bridge.start)
    _loop.on_background_exit(bridge.stop)


def stop_runtime(timeout: float | None = None) -> bool:
    """Drain and stop the runtime :func:`start_runtime` started; return whether it drained."""
    bridge = get_bridge()
    return _loop.call(functools.partial(bridge.stop, timeout))
