"""Inspection: where every bus and target of a bridge stands, read from the store and the
running worker. The command line's ``status`` and the starters' health endpoints show this."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._policies import DeliveryPolicy
from .runtime.runner import Pause, RunnerCounts
from .stores.base import Store

if TYPE_CHECKING:
    from ._app import EventBridge
    from .runtime.worker import Worker

__all__ = ["BridgeStatus", "BusStatus", "TargetStatus", "collect_status"]


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One target (a runner): its backlog, retries waiting, pause, and what it did."""

    name: str
    """``bus/rule/target``."""
    policy: DeliveryPolicy
    queued: int
    """Events in its memory queue or being delivered (0 when the runtime does not run)."""
    delayed: int
    """Events waiting in the store's delay queue: retries and backlog that spilled."""
    next_due: datetime | None
    """When the earliest of them is due."""
    paused: Pause | None
    counts: RunnerCounts
    """What it did since the worker started (zeros when the runtime does not run)."""


@dataclass(frozen=True, slots=True)
class BusStatus:
    """One bus: how far it was appended and committed, and what its group still owes."""

    name: str
    last_offset: int
    retained: int
    """Events the store keeps for it."""
    committed: dict[int, int]
    """The group's committed offset per partition (watermark stores)."""
    pending: int | None
    """Events after the group's committed offset: its lag."""
    dead_letter_bus: bool
    """Whether targets dead-letter to this bus (then ``retained`` counts its dead letters)."""


@dataclass(frozen=True, slots=True)
class BridgeStatus:
    """A bridge at one moment, from :meth:`EventBridge.status`."""

    running: bool
    worker: str
    group: str
    store: str
    buses: list[BusStatus]
    targets: list[TargetStatus]

    @property
    def paused(self) -> list[TargetStatus]:
        """The targets paused under tolerance ``"none"``."""
        return [target for target in self.targets if target.paused is not None]

    @property
    def dead_letters(self) -> int:
        """Dead letters kept over all dead-letter buses."""
        return sum(bus.retained for bus in self.buses if bus.dead_letter_bus)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (times as RFC 3339 text)."""
        return _jsonable(dataclasses.asdict(self))  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, type):
        return value.__qualname__
    return value


async def collect_status(bridge: EventBridge, store: Store, worker: Worker | None) -> BridgeStatus:
    """Read the status of ``bridge`` from ``store`` and, while it runs, from ``worker``."""
    group = bridge.settings.group
    dead_letter_buses = set(bridge.dead_letter_buses())
    buses = []
    for name in bridge.buses:
        stats = await store.stats(name, group)
        buses.append(
            BusStatus(
                name=name,
                last_offset=stats.last_offset,
                retained=stats.retained,
                committed=await store.committed(name, group),
                pending=stats.pending,
                dead_letter_bus=name in dead_letter_buses,
            )
        )
    delayed = await store.delayed(group)
    runners = worker.runners if worker is not None else {}
    targets = []
    for target in bridge.targets():
        name = target.full_name
        runner = runners.get(name)
        waiting = delayed.get(name)
        targets.append(
            TargetStatus(
                name=name,
                policy=bridge.delivery_policy(target),
                queued=runner.queued if runner is not None else 0,
                delayed=waiting.size if waiting is not None else 0,
                next_due=datetime.fromtimestamp(waiting.next_due, UTC) if waiting else None,
                paused=runner.paused if runner is not None else None,
                counts=dataclasses.replace(runner.counts) if runner is not None else RunnerCounts(),
            )
        )
    return BridgeStatus(
        running=worker is not None,
        worker=bridge.settings.worker_name,
        group=group,
        store=store.url,
        buses=buses,
        targets=targets,
    )
