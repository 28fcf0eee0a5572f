"""Liveness and readiness of a bridge, read from :meth:`EventBridge.status`: what the starters'
health endpoints answer.

A process is *ready* when its store answers and, if it is meant to deliver, its push runtime
runs. The report lists every runner (``bus/rule/target``) with its state, the events it holds,
its retries waiting in the store, and every bus's lag, so that a probe's answer is also the first
thing to read when something is stuck::

    health = await readiness(bridge, runtime=True, timeout=5.0)
    health.status_code   # 200 or 503
    health.body["paused"]  # ['orders/paid/charge']
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from ._app import EventBridge

__all__ = ["Health", "liveness", "readiness"]


@dataclass(frozen=True, slots=True)
class Health:
    """An answer of a health endpoint: ready or not, and the JSON body that says why."""

    ready: bool
    body: dict[str, Any]

    @property
    def status_code(self) -> int:
        """``200`` when ready, else ``503``."""
        return 200 if self.ready else 503


def liveness(bridge: EventBridge) -> Health:
    """The process answers: always live; the body tells whether the runtime runs."""
    return Health(True, {"live": True, "running": bridge.running})


async def readiness(bridge: EventBridge, *, runtime: bool, timeout: float) -> Health:
    """Whether ``bridge`` can take and (when ``runtime``) deliver events, with its status.

    Not ready while the store does not answer within ``timeout`` seconds or fails, or while
    ``runtime`` is expected and the push runtime does not run.
    """
    try:
        async with asyncio.timeout(timeout):
            status = await bridge.status()
    except TimeoutError:
        return _not_ready(bridge, f"the store did not answer within {timeout:g} s")
    except Exception as exc:  # any failure of the store makes the process not ready
        return _not_ready(bridge, f"the store is unreachable: {type(exc).__name__}: {exc}")
    reasons = []
    if runtime and not status.running:
        reasons.append("the push runtime is not running (not started yet, or stopping)")
    report = status.to_dict()
    report["store"] = _without_password(status.store)
    state = "running" if status.running else "stopped"
    runners = [
        {**target, "state": "paused" if target["paused"] else state}
        for target in report.pop("targets")
    ]
    buses = [{**bus, "lag": bus["pending"]} for bus in report.pop("buses")]
    body = {
        "ready": not reasons,
        "reasons": reasons,
        **report,
        "lag": sum(bus["pending"] or 0 for bus in buses),
        "retry_queue": sum(runner["delayed"] for runner in runners),
        "paused": [runner["name"] for runner in runners if runner["state"] == "paused"],
        "dead_letters": status.dead_letters,
        "buses": buses,
        "runners": runners,
    }
    return Health(not reasons, body)


def _not_ready(bridge: EventBridge, reason: str) -> Health:
    return Health(
        False,
        {
            "ready": False,
            "reasons": [reason],
            "running": bridge.running,
            "worker": bridge.settings.worker_name,
            "group": bridge.settings.group,
        },
    )


def _without_password(url: str) -> str:
    """The store URL as a probe may show it: a password in it is masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
