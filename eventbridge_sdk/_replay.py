"""Replay: deliver the archived events of a time window again, to chosen rules' targets.

A replay reads a bus without any consumer group (``Store.read``), so no group's position moves.
It finds the window by bisecting the bus on append times, then walks it page by page in offset
order. Each event of the window gets the extension attribute ``replayname`` (the replay's
name, in the spirit of AWS's ``replay-name``), is matched against the chosen rules' patterns
(a rule may exclude replays with ``{"replayname": [{"exists": false}]}``), and is queued for
each target of each matching rule as a delay-queue envelope due now: the path that retries
take, so the targets' retries, dead letters, concurrency and back pressure apply.

Exactly once: a page's envelopes are written by one ``Store.schedule`` call, and the next page
starts after the last offset of the one before, so each event is queued once for each target,
and a cancelled replay has queued exactly what its progress counts (a failed one too where the
store writes a page all or none: memory, SQLite, Redis; not NATS, see ``docs/delivery.md``).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import math
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import orjson

from ._errors import ConfigurationError, RuntimeStateError, UnknownBusError
from ._names import check_name
from ._retention import first_at_or_after
from .runtime.delays import encode_envelope
from .stores.base import Delayed, Store

if TYPE_CHECKING:
    from ._app import EventBridge
    from ._declarations import Rule

__all__ = ["REPLAY_NAME", "Replay", "ReplayProgress", "ReplayState", "apply_retention"]

logger = logging.getLogger("eventbridge_sdk")

REPLAY_NAME = "replayname"
"""The extension attribute that marks a replayed event with the replay's name."""
ReplayState = Literal["running", "completed", "cancelled", "failed"]
"""Where a replay stands."""

_PAGE = 500
_HIGH_WATER = 5_000
"""Replayed deliveries waiting in the delay queue beyond which a replay waits for the running
worker to deliver some (back pressure: a long window is not copied into the queue at once)."""
_RUNNING: weakref.WeakKeyDictionary[EventBridge, dict[str, Replay]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ReplayProgress:
    """How far a replay has come.

    Example::

        progress = replay.progress
        print(f"{progress.read} events read, {progress.enqueued} deliveries queued")
    """

    name: str
    bus: str
    state: ReplayState
    first_offset: int
    """The offset the window starts after (a progress bar runs from here ...)."""
    last_offset: int
    """... to here: the last offset the window can reach, fixed when the replay started."""
    offset: int
    """The last offset read so far."""
    read: int = 0
    """Events of the window read."""
    matched: int = 0
    """Events of the window that matched at least one chosen rule."""
    enqueued: int = 0
    """Deliveries queued: one per event and target of each matching rule."""
    error: str | None = None
    """Why a failed replay stopped."""


class Replay:
    """A replay under way: its progress, a way to cancel it, and its end (await it).

    Obtained from :meth:`EventBridge.replay`. Awaiting it returns the final
    :class:`ReplayProgress`; a cancelled replay ends with state ``"cancelled"`` after the page
    it was queuing, and what it queued before is delivered.

    Example::

        replay = bridge.replay("orders", start, end, rules=["paid"], name="fix-1234")
        print(replay.progress.read)
        replay.cancel()
        final = await replay
    """

    def __init__(
        self,
        bridge: EventBridge,
        bus: str,
        start: float,
        end: float,
        rules: list[Rule],
        name: str,
        on_progress: Callable[[ReplayProgress], None] | None,
        dry_run: bool,
    ) -> None:
        self.bridge = bridge
        self.bus = bus
        self.name = name
        self.start = datetime.fromtimestamp(start, UTC)
        self.end = datetime.fromtimestamp(end, UTC)
        self.rules = tuple(rule.name for rule in rules)
        self.dry_run = dry_run
        self._window = (start, end)
        self._rules = rules
        self._on_progress = on_progress
        self._cancelled = False
        self._progress = ReplayProgress(name, bus, "running", 0, 0, 0)
        self._task = asyncio.ensure_future(self._run())

    @property
    def progress(self) -> ReplayProgress:
        """The latest progress."""
        return self._progress

    @property
    def done(self) -> bool:
        """Whether the replay has ended (completed, cancelled or failed)."""
        return self._task.done()

    def cancel(self) -> None:
        """Stop after the page being queued; what was queued before is delivered."""
        self._cancelled = True

    async def wait(self) -> ReplayProgress:
        """Wait for the end; return the final progress. Cancelling the wait cancels the replay."""
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            self.cancel()
            raise

    def __await__(self) -> Generator[Any, None, ReplayProgress]:
        return self.wait().__await__()

    def __repr__(self) -> str:
        p = self._progress
        return (
            f"Replay({self.name!r}, bus={self.bus!r}, rules={list(self.rules)}, {p.state}, "
            f"read={p.read}, enqueued={p.enqueued})"
        )

    def _report(self, **changes: Any) -> None:
        self._progress = replace(self._progress, **changes)
        if self._on_progress is not None:
            try:
                self._on_progress(self._progress)
            except Exception:
                logger.exception("replay %r: the progress callback failed", self.name)

    async def _run(self) -> ReplayProgress:
        try:
            store = await self.bridge._opened_store()
            first, last = await self._find_window(store)
            self._progress = replace(self._progress, first_offset=first, last_offset=last)
            self._report(offset=first)
            await self._walk(store, first, last)
            self._report(state="cancelled" if self._cancelled else "completed")
        except asyncio.CancelledError:
            self._report(state="cancelled")  # its task was cancelled (the loop ends, say)
            raise
        except Exception as exc:
            logger.exception("replay %r of bus %r failed", self.name, self.bus)
            self._report(
                state="failed",
                error=f"{type(exc).__name__}: {exc}; the deliveries counted in the progress "
                f"were queued, the events after offset {self._progress.offset} were not",
            )
        finally:
            running = _RUNNING.get(self.bridge, {})
            if running.get(self.name) is self:
                del running[self.name]
        return self._progress

    async def _find_window(self, store: Store) -> tuple[int, int]:
        """The offsets the window lies in: after ``first``, up to ``last`` (inclusive)."""
        last = (await store.stats(self.bus)).last_offset
        if last == 0:
            return 0, 0

        async def probe(offset: int) -> tuple[int, float | None] | None:
            found = await store.read(self.bus, after=offset - 1, max_count=1)
            return (found[0].offset, found[0].appended) if found else None

        start, end = self._window
        begin = await first_at_or_after(probe, 1, last + 1, start)
        stop = await first_at_or_after(probe, begin, last + 1, end)
        return begin - 1, stop - 1

    async def _walk(self, store: Store, after: int, last: int) -> None:
        start, end = self._window
        group = self.bridge.settings.group
        keys = {
            rule.name: [target.full_name for target in rule.targets.values()]
            for rule in self._rules
        }
        while after < last and not self._cancelled:
            await self._wait_for_room(store, group, [k for ks in keys.values() for k in ks])
            page = await store.read(self.bus, after=after, max_count=min(_PAGE, last - after))
            page = [record for record in page if record.offset <= last]
            if not page:
                break
            entries: list[Delayed] = []
            read = matched = 0
            now = self.bridge.clock.time()
            for record in page:
                if record.appended is None or not start <= record.appended < end:
                    continue
                read += 1
                form = orjson.loads(record.body)
                form[REPLAY_NAME] = self.name
                body: bytes | None = None
                hit = False
                for rule in self._rules:
                    if not rule.pattern.matches(form):
                        continue
                    hit = True
                    body = body or orjson.dumps(form)
                    entries += [
                        Delayed(
                            key, now, encode_envelope(key, body, 1, None, None, record.appended)
                        )
                        for key in keys[rule.name]
                    ]
                matched += hit
            cancelled = False
            if entries and not self.dry_run:
                # One write per page: the page is queued whole or not at all. A task cancelled
                # meanwhile lets the write end and counts it before it stops.
                write = asyncio.ensure_future(store.schedule(group, entries))
                try:
                    await asyncio.shield(write)
                except asyncio.CancelledError:
                    cancelled = True
                    await asyncio.wait([write])
                    write.result()
                self.bridge._wake_delays()
            after = page[-1].offset
            p = self._progress
            self._report(
                offset=after,
                read=p.read + read,
                matched=p.matched + matched,
                enqueued=p.enqueued + len(entries),
            )
            if cancelled:
                raise asyncio.CancelledError

    async def _wait_for_room(self, store: Store, group: str, keys: list[str]) -> None:
        """While a worker runs, let it deliver before the delay queue takes many more."""
        pause = 0.01
        while not self._cancelled and self.bridge.running and not self.dry_run:
            waiting = await store.delayed(group)
            if sum(waiting[k].size for k in keys if k in waiting) < _HIGH_WATER:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)


def _timestamp(value: object, what: str, bus: str) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigurationError(
                f"replay of bus {bus!r}: {what} {value!r} has no time zone; pass an aware "
                "datetime, e.g. datetime(2026, 1, 1, tzinfo=UTC)"
            )
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ConfigurationError(
                f"replay of bus {bus!r}: {what} {value!r} is not a time a datetime can hold; "
                "pass Unix seconds from year 1 to 9999"
            ) from None
        return float(value)
    raise ConfigurationError(
        f"replay of bus {bus!r}: {what} must be an aware datetime or Unix seconds, got {value!r}"
    )


def start_replay(
    bridge: EventBridge,
    bus: str,
    start: datetime | float,
    end: datetime | float,
    *,
    rules: Sequence[str] | None = None,
    name: str | None = None,
    on_progress: Callable[[ReplayProgress], None] | None = None,
    dry_run: bool = False,
) -> Replay:
    """Check the request and start the replay (see :meth:`EventBridge.replay`)."""
    declared = bridge.buses.get(bus)
    if declared is None:
        known = ", ".join(repr(b) for b in bridge.buses) or "none"
        raise UnknownBusError(
            f"cannot replay bus {bus!r}: it is not declared (declared: {known}); declare it and "
            "its rules on this bridge"
        )
    low, high = _timestamp(start, "start", bus), _timestamp(end, "end", bus)
    if high <= low:
        raise ConfigurationError(
            f"replay of bus {bus!r}: the window is empty (end {end!r} is not after start "
            f"{start!r}); the window is start <= appended time < end"
        )
    if rules is None:
        chosen = list(declared.rules.values())
    else:
        if isinstance(rules, str):
            raise ConfigurationError(
                f"replay of bus {bus!r}: rules must be a list of rule names, got the string "
                f"{rules!r}; write rules=[{rules!r}]"
            )
        unknown = [r for r in rules if r not in declared.rules]
        if unknown:
            raise ConfigurationError(
                f"replay of bus {bus!r}: no rule {unknown[0]!r} on the bus; its rules: "
                f"{builtins.list(declared.rules)}"
            )
        chosen = [declared.rules[r] for r in dict.fromkeys(rules)]
    chosen = [rule for rule in chosen if rule.targets]
    if not chosen:
        raise ConfigurationError(
            f"replay of bus {bus!r}: none of the chosen rules has a target, so nothing would be "
            "delivered; choose rules with targets"
        )
    if name is None:
        name = f"{bus}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    check_name("replay", name)
    running = _RUNNING.setdefault(bridge, {})
    if name in running:
        raise RuntimeStateError(
            f"a replay named {name!r} is already running on this bridge; wait for it, cancel "
            "it, or choose another name"
        )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeStateError(
            "replay() runs on the event loop: call it inside async code (await bridge.replay(...))"
        ) from None
    replay = running[name] = Replay(bridge, bus, low, high, chosen, name, on_progress, dry_run)
    return replay


async def apply_retention(bridge: EventBridge, store: Store) -> None:
    """Give the store the retention of every declared bus; a bus declared without one gets
    none (a store that keeps retentions on its server forgets one removed from the code)."""
    for bus in bridge.buses.values():
        set_retention = getattr(store, "set_retention", None)
        if bus.retention is None:
            if set_retention is not None:
                await set_retention(bus.name, None)
            continue
        if set_retention is None:
            raise ConfigurationError(
                f"bus {bus.name!r} is declared with a retention, but the store "
                f"{type(store).__name__} ({store.url!r}) cannot keep one (no set_retention); "
                "use a store that can, or drop the retention"
            )
        await set_retention(bus.name, bus.retention)
