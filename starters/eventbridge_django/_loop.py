"""The event loop the project's bridge lives on, and calls into it from any thread.

A bridge, its store connections and its runtime belong to one event loop. Under an ASGI server
that is the server's loop (bound by the lifespan); in ``manage.py eventbridge_worker`` the
worker's; anywhere else (a WSGI server, the test client, a shell) a loop in a daemon thread that
the starter starts on first use. Sync code calls into that loop and waits; async code on another
loop (an async view under WSGI) awaits the result without blocking its own loop.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["acall", "bind", "call", "unbind"]

T = TypeVar("T")

_lock = threading.Lock()
_bound: asyncio.AbstractEventLoop | None = None
_background: asyncio.AbstractEventLoop | None = None
_at_exit: list[Callable[[], Awaitable[object]]] = []


def bind(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop`` (an ASGI server's, a worker's) the bridge's loop until :func:`unbind`."""
    global _bound
    with _lock:
        _bound = loop


def unbind() -> None:
    """Forget the loop :func:`bind` gave: the server or worker stopped."""
    global _bound
    with _lock:
        _bound = None


def on_background_exit(stop: Callable[[], Awaitable[object]]) -> None:
    """Run ``stop()`` on the background loop when the interpreter exits."""
    _at_exit.append(stop)


def _loop() -> asyncio.AbstractEventLoop:
    global _background
    with _lock:
        if _bound is not None:
            return _bound
        if _background is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="eventbridge-loop", daemon=True)
            thread.start()
            _background = loop
            atexit.register(_close_background, loop)
        return _background


def _close_background(loop: asyncio.AbstractEventLoop) -> None:
    for stop in _at_exit:
        asyncio.run_coroutine_threadsafe(_awaited(stop), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)


async def _awaited(function: Callable[[], Awaitable[T]]) -> T:
    return await function()


def _running() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def call(function: Callable[[], Awaitable[T]]) -> T:
    """Run ``function()`` on the bridge's loop from sync code and return its result."""
    loop = _loop()
    if _running() is loop:
        raise RuntimeError(
            "a blocking eventbridge call was made from async code on the bridge's own event "
            "loop, where it would wait for itself: use the async form (await apublish(...))"
        )
    return asyncio.run_coroutine_threadsafe(_awaited(function), loop).result()


async def acall(function: Callable[[], Awaitable[T]]) -> T:
    """Await ``function()`` on the bridge's loop from async code on any loop."""
    loop = _loop()
    if _running() is loop:
        return await function()
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_awaited(function), loop))
