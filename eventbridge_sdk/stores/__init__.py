"""Stores keep the buses: an ordered, durable log per bus, read per consumer group.

A store is chosen by URL: ``memory://``, ``sqlite:///path``, ``redis://host:port/db`` (Redis
Streams, extra ``[redis]``) and ``nats://host:port`` (NATS JetStream, extra ``[nats]``); other
schemes are added with :func:`register_store`.

Example::

    store = open_store("sqlite:///.eventbridge/events.db")
    store = open_store("redis://localhost:6379/0")
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


def _redis_store(url: str) -> Store:
    try:
        from .redis_streams import RedisStore
    except ImportError as exc:
        raise ConfigurationError(
            f"store URL {url!r} needs the Redis client: pip install 'eventbridge-sdk[redis]' "
            f"({exc})"
        ) from None
    return RedisStore(url)


def _nats_store(url: str) -> Store:
    try:
        from .nats_jetstream import NatsStore
    except ImportError as exc:
        raise ConfigurationError(
            f"store URL {url!r} needs the NATS client: pip install 'eventbridge-sdk[nats]' ({exc})"
        ) from None
    return NatsStore(url)


_FACTORIES: dict[str, StoreFactory] = {
    "memory": MemoryStore,
    "sqlite": SQLiteStore,
    "redis": _redis_store,
    "rediss": _redis_store,
    "nats": _nats_store,
    "tls": _nats_store,  # NATS over TLS: tls://host:4222
}


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
