"""Settings: one pydantic-settings model, read from ``EVENTBRIDGE_*`` variables and ``.env``."""

from __future__ import annotations

import difflib
import os
import socket
import typing
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ._errors import ConfigurationError
from ._policies import RetryPolicy

__all__ = [
    "DEFAULT_STORE",
    "DeliverySettings",
    "GatewaySettings",
    "RuntimeSettings",
    "Settings",
    "TelemetrySettings",
]

DEFAULT_STORE = "sqlite:///.eventbridge/events.db"


def _default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class RuntimeSettings(BaseModel):
    """The push runtime's knobs (``EVENTBRIDGE_RUNTIME__<NAME>``)."""

    buffer_size: int = Field(
        10_000, ge=1, description="Events the listener may read ahead per bus."
    )
    fetch_batch: int | None = Field(
        None,
        ge=1,
        description="Events one store read returns at most; by default 500, or twice the "
        "number of the bus's targets where that is more, up to a quarter of buffer_size.",
    )
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


class TelemetrySettings(BaseModel):
    """OpenTelemetry (``EVENTBRIDGE_TELEMETRY__<NAME>``).

    The bridge traces and measures with the global providers when the application has set them;
    an exporter named here makes it configure its own (installed as the global ones when none
    is set). ``"none"`` for both and no global providers: nothing is traced or measured.
    """

    enabled: bool = Field(
        True, description="False: no telemetry, even when global providers are set."
    )
    traces_exporter: Literal["none", "console", "otlp"] = Field(
        "none", description="Where the bridge's own TracerProvider sends spans."
    )
    metrics_exporter: Literal["none", "console", "otlp", "prometheus"] = Field(
        "none",
        description="Where the bridge's own MeterProvider sends metrics (prometheus: served by "
        "the starters' metrics route).",
    )
    service_name: str = Field(
        "eventbridge", min_length=1, description="The resource's service.name."
    )
    otlp_endpoint: str | None = Field(
        None,
        description="The OTLP/HTTP collector, e.g. http://localhost:4318 (else the "
        "OTEL_EXPORTER_OTLP_* variables).",
    )
    export_interval: float = Field(
        10.0,
        gt=0,
        description="Seconds between metric exports, and between looks at the store's retry "
        "queues and consumer lag for the gauges.",
    )


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

    def __init__(self, *args: Any, **values: Any) -> None:
        try:
            super().__init__(*args, **values)
        except ValidationError as exc:
            raise _configuration_error(exc) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The usual sources, once the environment and the .env file have been checked for names
        # under the prefix that no setting has: a misspelling would otherwise go unnoticed.
        env_file = getattr(dotenv_settings, "env_file", None)
        for source, where in (
            (env_settings, "the environment"),
            (dotenv_settings, f"the .env file {str(env_file)!r}"),
        ):
            refuse_unknown_variables(getattr(source, "env_vars", {}), settings_cls, where)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str) -> str:
        return check_store_url(value)

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
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)


# Variables under the prefix that are no settings: the switches of the project's own test suite.
NOT_SETTINGS = ("EVENTBRIDGE_REQUIRE_SERVICES", "EVENTBRIDGE_TEST_")

_SQLITE_FORMS = "sqlite:///relative/path.db or sqlite:////absolute/path.db"


def check_store_url(url: str) -> str:
    """Return ``url``, or raise :class:`ValueError` when it does not mean what it seems.

    ``sqlite://events.db`` reads as a file but names a host; ``sqlite:/events.db`` lacks the
    ``//``; a bare path has no scheme. Schemes this module does not know are left to
    :func:`~eventbridge_sdk.stores.open_store` (a store may be registered later).

    Example::

        >>> check_store_url("sqlite:///data/events.db")
        'sqlite:///data/events.db'
        >>> check_store_url("sqlite://events.db")
        Traceback (most recent call last):
        ...
        ValueError: store URL 'sqlite://events.db' puts 'events.db' where a host goes, ...
    """
    parts = urlsplit(url)
    scheme = parts.scheme
    if not scheme:
        raise ValueError(
            f"store URL {url!r} has no scheme; write {_SQLITE_FORMS} for a SQLite file, "
            "memory://, redis://host:6379/0 or nats://host:4222"
        )
    if scheme in ("sqlite", "memory", "redis", "rediss", "nats", "tls") and not url.startswith(
        f"{scheme}://"
    ):
        forms = _SQLITE_FORMS if scheme == "sqlite" else f"{scheme}://..."
        raise ValueError(f"store URL {url!r} lacks the '//' after '{scheme}:'; write {forms}")
    if scheme == "sqlite":
        if parts.netloc:
            path = parts.netloc + parts.path
            raise ValueError(
                f"store URL {url!r} puts {parts.netloc!r} where a host goes, and a SQLite file "
                f"has no host; write sqlite:///{path} (relative to the working directory) or "
                f"sqlite:////{path} (absolute)"
            )
        if not parts.path.strip("/"):
            raise ValueError(f"store URL {url!r} names no file; write {_SQLITE_FORMS}")
    return url


def setting_variables(model: type[BaseModel], prefix: str = "EVENTBRIDGE_") -> dict[str, bool]:
    """The environment variable of every setting of ``model``, nested ones included; the value
    tells whether names below it are settings too (a mapping's keys).

    Example::

        >>> "EVENTBRIDGE_RUNTIME__BUFFER_SIZE" in setting_variables(Settings)
        True
    """
    return dict(_variables(model, prefix))


def _variables(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, bool]]:
    for name, field in model.model_fields.items():
        variable = f"{prefix}{name}".upper()
        annotation = field.annotation
        yield variable, typing.get_origin(annotation) is dict
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _variables(annotation, variable + "__")


def refuse_unknown_variables(
    names: Mapping[str, object], model: type[BaseModel], where: str
) -> None:
    """Raise :class:`ConfigurationError` for a name under ``EVENTBRIDGE_`` that no setting of
    ``model`` has, naming the closest setting.

    Example::

        refuse_unknown_variables(os.environ, Settings, "the environment")
    """
    known = setting_variables(model)
    open_ = tuple(f"{name}__" for name, is_open in known.items() if is_open)
    for raw in names:
        name = raw.upper()
        if not name.startswith("EVENTBRIDGE_") or name in known or name.startswith(open_):
            continue
        if name == NOT_SETTINGS[0] or name.startswith(NOT_SETTINGS[1:]):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = (
            f"did you mean {close[0]}?"
            if close
            else "no setting has a name like it; the settings are "
            + ", ".join(sorted(n for n in known if n.count("__") == 0))
            + " and their nested fields (EVENTBRIDGE_RUNTIME__BUFFER_SIZE, ...)"
        )
        raise ConfigurationError(
            f"unknown setting {name} in {where}: {hint} Rename or remove it (every setting is "
            "listed in docs/concepts.md, Settings)"
        )


class InvalidSettingError(ConfigurationError, ValueError):
    """A setting has an invalid value. A :class:`ValueError` too, as pydantic's error was, so
    that code which caught that still does."""


def _configuration_error(exc: ValidationError) -> InvalidSettingError:
    from .stores._urls import redacted

    known = setting_variables(Settings)
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        # The variable is the longest run of the location that names a setting: a mapping's
        # key or a list's index is part of the variable's JSON value, not of its name.
        variable, dotted = "EVENTBRIDGE_*", "?"
        for end in range(len(loc), 0, -1):
            candidate = "EVENTBRIDGE_" + "__".join(loc[:end]).upper()
            if candidate in known:
                variable, dotted = candidate, ".".join(loc[:end])
                break
        value = error.get("input")
        if "api_keys" in loc:
            shown = "(hidden)"
        elif isinstance(value, str):
            shown = repr(redacted(value) if "://" in value else value)
        else:
            shown = repr(value)
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{variable} (setting {dotted}) = {shown}: {message}")
    return InvalidSettingError(
        "invalid setting" + ("s" if len(problems) > 1 else "") + ": " + "; ".join(problems)
    )
