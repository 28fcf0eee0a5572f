"""Settings: one pydantic-settings model, read from ``EVENTBRIDGE_*`` variables and ``.env``."""

from __future__ import annotations

import os
import socket

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_STORE", "RuntimeSettings", "Settings"]

DEFAULT_STORE = "sqlite:///.eventbridge/events.db"


def _default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RuntimeSettings(BaseModel):
    """The push runtime's knobs (``EVENTBRIDGE_RUNTIME__<NAME>``)."""

    buffer_size: int = Field(
        10_000, ge=1, description="Events the listener may read ahead per bus."
    )
    fetch_batch: int = Field(500, ge=1, description="Events one store read returns at most.")
    poll_timeout: float = Field(
        1.0, gt=0, description="Seconds one long-poll read waits before it reads again."
    )
    target_concurrency: int = Field(
        16, ge=1, description="Deliveries in flight per target unless the target sets its own."
    )
    sync_workers: int = Field(
        default_factory=lambda: min(32, (os.cpu_count() or 1) + 4),
        ge=1,
        description="Threads that run synchronous handlers, shared by all targets.",
    )
    stop_timeout: float = Field(
        30.0, gt=0, description="Seconds stop() waits for in-flight deliveries by default."
    )


class Settings(BaseSettings):
    """Everything the bridge reads from the environment.

    Example::

        # EVENTBRIDGE_STORE=memory:// EVENTBRIDGE_RUNTIME__BUFFER_SIZE=5000 python app.py
        settings = Settings()
        bridge = EventBridge(settings=settings)
    """

    model_config = SettingsConfigDict(
        env_prefix="EVENTBRIDGE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    store: str = Field(
        DEFAULT_STORE,
        description="Store URL: sqlite:///path.db, memory://, or a registered scheme.",
    )
    group: str = Field(
        "default",
        pattern=r"^[A-Za-z0-9._-]{1,127}$",
        description="Consumer group: the applications that share it share the work.",
    )
    worker_name: str = Field(default_factory=_default_worker_name)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
