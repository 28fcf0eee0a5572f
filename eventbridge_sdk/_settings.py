"""Settings: one pydantic-settings model, read from ``EVENTBRIDGE_*`` variables and ``.env``."""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._policies import RetryPolicy

__all__ = ["DEFAULT_STORE", "DeliverySettings", "GatewaySettings", "RuntimeSettings", "Settings"]

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
    target_queue_size: int = Field(
        1000,
        ge=1,
        description="Events held in memory per target; more wait in the store's delay queue.",
    )
    claim_lease: float = Field(
        300.0,
        gt=0,
        description="Seconds a claimed retry stays hidden from other workers before it is "
        "claimable again (a worker that died).",
    )
    delay_poll_interval: float = Field(
        5.0,
        gt=0,
        description="Seconds between looks at the delay queue when nothing wakes the scheduler "
        "sooner (retries scheduled by other processes).",
    )
    gc_freeze: bool = Field(
        True,
        description="At start, move the objects alive then (modules, declarations, compiled "
        "patterns) out of the cyclic garbage collector's full passes with gc.freeze(), and "
        "back at stop; left alone when the application froze objects itself.",
    )


class GatewaySettings(BaseModel):
    """The event gateway's limits and API keys (``EVENTBRIDGE_GATEWAY__<NAME>``)."""

    api_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description="API keys and the buses each may publish to ('*': every bus), as JSON: "
        '{"KEY": ["orders", "payments"]}, or a JSON list of keys allowed on every bus. Empty: '
        "the gateway asks for no key.",
    )
    max_event_size: int = Field(
        262_144,
        ge=1,
        description="Bytes one event may take in the CloudEvents JSON format (AWS: 256 KiB).",
    )
    max_batch_events: int = Field(500, ge=1, description="Events one batch request may carry.")
    max_request_size: int = Field(5_242_880, ge=1, description="Bytes one request body may take.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_for_every_bus(cls, value: object) -> object:
        if isinstance(value, list | tuple | set):
            return {key: ["*"] for key in value}
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, buses in value.items():
            if not key or key != key.strip():
                raise ValueError("an API key must be a non-empty string without surrounding spaces")
            if not buses:
                raise ValueError(
                    "an API key needs the buses it may publish to ('*' for every bus); an "
                    "empty list would allow none"
                )
        return value


_DEFAULT_RETRY = RetryPolicy.DEFAULT


class DeliverySettings(BaseModel):
    """The bridge-wide delivery defaults (``EVENTBRIDGE_DELIVERY__<NAME>``); a bus, a rule or a
    target may declare its own."""

    max_attempts: int = Field(
        _DEFAULT_RETRY.max_attempts, ge=1, description="Attempts, the first one included."
    )
    backoff: Literal["fixed", "linear", "exponential"] = _DEFAULT_RETRY.backoff
    initial_delay: float = Field(_DEFAULT_RETRY.initial_delay, ge=0)
    max_delay: float = Field(_DEFAULT_RETRY.max_delay, ge=0)
    max_event_age: float | None = Field(_DEFAULT_RETRY.max_event_age, ge=0)
    jitter: float = Field(_DEFAULT_RETRY.jitter, ge=0, le=1)
    dead_letter: str | None = Field(
        "dead-letters",
        pattern=r"^[A-Za-z0-9._-]{1,127}$",
        description="The bus events that failed for good go to; empty: none (they are logged "
        "and dropped).",
    )
    tolerance: Literal["all", "none"] = Field(
        "all", description="'all': dead-letter and go on; 'none': pause the target."
    )

    @field_validator("dead_letter", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def retry_policy(self) -> RetryPolicy:
        """These settings as a :class:`RetryPolicy`."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            backoff=self.backoff,
            initial_delay=self.initial_delay,
            max_delay=self.max_delay,
            max_event_age=self.max_event_age,
            jitter=self.jitter,
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
        description="Store URL: sqlite:///path.db, memory://, redis://host:6379/0, "
        "nats://host:4222, or a registered scheme.",
    )
    group: str = Field(
        "default",
        pattern=r"^[A-Za-z0-9._-]{1,127}$",
        description="Consumer group: the applications that share it share the work.",
    )
    worker_name: str = Field(default_factory=_default_worker_name)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
