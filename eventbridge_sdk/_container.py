"""The container: builds every runtime component from the settings.

This is the auto-configuration: the store comes from ``settings.store``, the handler thread pool
from ``settings.runtime.sync_workers``, the worker from both. Any provider can be replaced through
:meth:`EventBridge.override` without touching the rest. The dependency-injector types stay here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dependency_injector import containers, providers

from ._settings import Settings
from .runtime.delays import Clock
from .runtime.pipeline import PipelineOptions
from .runtime.worker import Worker, WorkerOptions
from .sinks.function import FunctionSink
from .stores import open_store
from .stores.base import Store

__all__ = ["OVERRIDABLE", "Container"]


def _store(settings: Settings) -> Store:
    return open_store(settings.store)


def _executor(settings: Settings) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        settings.runtime.sync_workers, thread_name_prefix="eventbridge-handler"
    )


def _worker_options(
    settings: Settings, observers: tuple[Any, ...], clock: Clock, telemetry: Any
) -> WorkerOptions:
    runtime = settings.runtime
    pipeline = PipelineOptions(
        group=settings.group,
        buffer_size=runtime.buffer_size,
        fetch_batch=runtime.fetch_batch,
        poll_timeout=runtime.poll_timeout,
    )
    return WorkerOptions(
        pipeline=pipeline,
        worker_name=settings.worker_name,
        target_concurrency=runtime.target_concurrency,
        target_queue_size=runtime.target_queue_size,
        observers=observers,
        clock=clock,
        claim_lease=runtime.claim_lease,
        delay_poll_interval=runtime.delay_poll_interval,
        gc_freeze=runtime.gc_freeze,
        telemetry=telemetry,
        telemetry_interval=settings.telemetry.export_interval,
    )


class Container(containers.DeclarativeContainer):
    """Providers of the runtime's components, built lazily from the settings."""

    settings = providers.Dependency(instance_of=Settings)
    observers = providers.Object(())
    telemetry: providers.Object[Any] = providers.Object(None)
    store = providers.Singleton(_store, settings)
    executor = providers.Singleton(_executor, settings)
    clock = providers.Singleton(Clock)
    function_sink = providers.Object(FunctionSink)
    worker_options = providers.Factory(_worker_options, settings, observers, clock, telemetry)
    worker = providers.Factory(Worker, store=store, executor=executor, options=worker_options)


OVERRIDABLE = ("clock", "executor", "function_sink", "store", "worker_options")
"""The components a user may replace with :meth:`EventBridge.override`."""
