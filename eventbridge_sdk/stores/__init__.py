"""Stores keep the buses: an ordered, durable log per bus, read per consumer group.

A store is chosen by URL. ``open_store`` knows ``memory://`` and ``sqlite:///path``; other
schemes (``redis://``, ``nats://``) are added with :func:`register_store`.

Example::

    store = open_store("sqlite:///.eventbridge/events.db")
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from .._errors import ConfigurationError
from .base import Position, Record, Store
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = [
    "MemoryStore",
    "Position",
    "Record",
    "SQLiteStore",
    "Store",
    "open_store",
    "register_store",
]

StoreFactory = Callable[[str], Store]
_FACTORIES: dict[str, StoreFactory] = {"memory": MemoryStore, "sqlite": SQLiteStore}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make ``open_store`` build ``factory(url)`` for URLs of ``scheme``.

    Example::

        register_store("mystore", lambda url: MyStore(url))
    """
    _FACTORIES[scheme] = factory


def open_store(url: str) -> Store:
    """Build the store a URL names (it is opened later, by the runtime or on first publish)."""
    scheme = urlsplit(url).scheme
    factory = _FACTORIES.get(scheme)
    if factory is None:
        known = ", ".join(f"{name}://" for name in sorted(_FACTORIES))
        raise ConfigurationError(
            f"store URL {url!r}: no store is registered for scheme {scheme!r}; known: {known}"
        )
    return factory(url)
