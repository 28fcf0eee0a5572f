"""OpenTelemetry traces and metrics for the bridge: what is on, and how to read metrics.

Tracing and metrics are on when the application has set a global ``TracerProvider`` or
``MeterProvider`` (the OpenTelemetry convention), or when the settings ask the bridge to
configure its own (``EVENTBRIDGE_TELEMETRY__TRACES_EXPORTER``, ``..._METRICS_EXPORTER``). With
neither, nothing is added to the path of an event (and without OpenTelemetry installed,
nothing of it is imported).

Install the API and SDK with the ``[otel]`` extra; ``[otlp]`` adds the OTLP exporter and
``[prometheus]`` the Prometheus reader. See ``docs/observability.md``.

Example::

    # EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER=prometheus
    from eventbridge_sdk.telemetry import prometheus_text

    body, content_type = prometheus_text()
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._errors import ConfigurationError

if TYPE_CHECKING:
    from .._settings import TelemetrySettings
    from ._otel import Telemetry

__all__ = [
    "PROMETHEUS_CONTENT_TYPE",
    "metrics_response",
    "prometheus_text",
    "resolve_telemetry",
    "runner_attributes",
    "SYSTEM",
    "trace_id_of",
]

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Content-Type of :func:`prometheus_text`'s body."""


TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\Z")
"""A W3C ``traceparent`` of version 00: trace id, parent id, flags."""


SYSTEM = "eventbridge"
"""``messaging.system`` of every span and metric."""


def runner_attributes(bus: str, rule: str, target: str) -> dict[str, Any]:
    """The metric attributes of a target (low cardinality: names, never event ids).

    Example::

        runner_attributes("orders", "paid", "crm")["eventbridge.target"]  # 'crm'
    """
    return {
        "messaging.system": SYSTEM,
        "messaging.destination.name": bus,
        "messaging.destination.subscription.name": rule,
        "eventbridge.target": target,
    }


def trace_id_of(extensions: Mapping[str, Any]) -> str | None:
    """The trace id (32 hex digits) an event's ``traceparent`` extension names, if valid: what
    the runtime's log records carry as ``trace_id``.

    Example::

        trace_id_of(event.extensions)  # '0af7651916cd43dd8448eb211c80319c'
    """
    value = extensions.get("traceparent")
    match = TRACEPARENT.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def resolve_telemetry(settings: TelemetrySettings, *, group: str) -> Telemetry | None:
    """The bridge's telemetry for these settings, or ``None`` when there is none to do.

    Example::

        telemetry = resolve_telemetry(Settings().telemetry, group="default")
    """
    wants_own = settings.traces_exporter != "none" or settings.metrics_exporter != "none"
    if not settings.enabled:
        return None
    if not _installed("opentelemetry.trace"):
        if wants_own:
            raise ConfigurationError(
                "telemetry: EVENTBRIDGE_TELEMETRY__TRACES_EXPORTER or __METRICS_EXPORTER asks "
                "for an exporter, but OpenTelemetry is not installed: pip install "
                "'eventbridge-sdk[otel]'"
            )
        return None  # nobody can have set a provider without the API
    from ._otel import build_telemetry

    return build_telemetry(settings, group=group)


def prometheus_text() -> tuple[bytes, str]:
    """The metrics of the default Prometheus registry in the text exposition format, and its
    Content-Type: what a ``/metrics`` route answers (the starters serve it).

    Needs ``EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER=prometheus`` (or a Prometheus reader the
    application configured) and the ``[prometheus]`` extra.

    Example::

        body, content_type = prometheus_text()
    """
    if not _installed("prometheus_client"):
        raise ConfigurationError(
            "metrics in the Prometheus format need prometheus-client: pip install "
            "'eventbridge-sdk[prometheus]' and set "
            "EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER=prometheus"
        )
    import prometheus_client

    if not _otel_collector_registered(prometheus_client.REGISTRY):
        raise ConfigurationError(
            "no OpenTelemetry metrics are exported in the Prometheus format in this process: "
            "set EVENTBRIDGE_TELEMETRY__METRICS_EXPORTER=prometheus (the bridge makes the "
            "reader at its first publish or start), or give your MeterProvider a "
            "PrometheusMetricReader"
        )
    return prometheus_client.generate_latest(), PROMETHEUS_CONTENT_TYPE


def _otel_collector_registered(registry: Any) -> bool:
    """Whether an OpenTelemetry ``PrometheusMetricReader`` registered its collector."""
    collectors = getattr(registry, "_collector_to_names", {})
    return any(
        type(collector).__module__.startswith("opentelemetry.exporter.prometheus")
        for collector in list(collectors)
    )


def metrics_response() -> tuple[int, bytes, str]:
    """What a ``GET /metrics`` route answers: ``(200, metrics, content type)``, or ``404`` and
    a plain-text reason when metrics are not exported in the Prometheus format. The starters'
    metrics routes answer this.

    Example::

        status, body, content_type = metrics_response()
    """
    try:
        body, content_type = prometheus_text()
    except ConfigurationError as exc:
        return 404, str(exc).encode(), "text/plain; charset=utf-8"
    return 200, body, content_type
