"""The project's ASGI application with the push runtime in its lifespan.

Django's own ASGI handler serves HTTP only; this wraps it so that the server's lifespan starts
the bridge's runtime (``EVENTBRIDGE["START_RUNTIME"]``, true by default) and drains it at
shutdown.

Example (``myproject/asgi.py``)::

    import os
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")

    from eventbridge_django.asgi import get_asgi_application

    application = get_asgi_application()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from . import _loop
from ._bridge import get_bridge, get_config

__all__ = ["EventBridgeLifespan", "get_asgi_application"]

logger = logging.getLogger("eventbridge_django")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]  # Django types its handler narrower


class EventBridgeLifespan:
    """Wrap an ASGI application: its lifespan runs the project's bridge; the rest goes to it.

    Example::

        application = EventBridgeLifespan(django.core.asgi.get_asgi_application())
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        bridge = get_bridge()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _loop.bind(asyncio.get_running_loop())
                try:
                    if get_config().start_runtime:
                        await bridge.start()
                except Exception as exc:
                    logger.exception("eventbridge: the bridge did not start")
                    await bridge.stop()
                    _loop.unbind()
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await bridge.stop()
                finally:
                    _loop.unbind()
                await send({"type": "lifespan.shutdown.complete"})
                return


def get_asgi_application() -> EventBridgeLifespan:
    """Django's ASGI application (``django.setup()`` included), run with the bridge."""
    from django.core.asgi import get_asgi_application as django_asgi_application

    return EventBridgeLifespan(django_asgi_application())
