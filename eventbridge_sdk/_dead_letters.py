"""Dead letters: events a target failed for good, kept on a bus with what happened to them.

A dead letter is the original event plus these CloudEvents extension attributes:

=====================  ==========================================================================
``deadletterbus``      the bus the event was read from
``deadletterrule``     the rule that matched it
``deadlettertarget``   the target that failed it
``deadletterreason``   what ran out: ``attempts``, ``age``, ``non-retryable``, ``dead-letter`` (the
                       handler raised :class:`DeadLetter`)
``deadlettererrortype`` the last error's type (``TimeoutError``, ``PayloadValidationError``, ...)
``deadlettererror``    the last error's message (at most 2,000 characters)
``deadletterattempts`` attempts made
``deadletterfirsttime`` when the first attempt was made (RFC 3339, UTC)
``deadletterlasttime`` when the last attempt failed (RFC 3339, UTC)
=====================  ==========================================================================
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from ._errors import RuntimeStateError
from ._event import Event
from .runtime.delays import encode_envelope
from .stores.base import Delayed, Position

if TYPE_CHECKING:
    from ._app import EventBridge

__all__ = ["DEAD_LETTER_EXTENSIONS", "DeadLetterEntry", "DeadLetters"]

DEAD_LETTER_EXTENSIONS = (
    "deadletterbus",
    "deadletterrule",
    "deadlettertarget",
    "deadletterreason",
    "deadlettererrortype",
    "deadlettererror",
    "deadletterattempts",
    "deadletterfirsttime",
    "deadletterlasttime",
)
_PAGE = 500


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    """One dead letter: where it is kept, the original event, and what happened to it."""

    bus: str
    """The dead-letter bus that keeps it."""
    position: Position
    event: Event
    """The original event, without the dead-letter attributes."""
    source_bus: str
    rule: str
    target: str
    reason: str
    error_type: str
    error: str
    attempts: int
    first_attempt: datetime
    last_attempt: datetime

    @property
    def runner(self) -> str:
        """The target that failed it, as ``bus/rule/target``."""
        return f"{self.source_bus}/{self.rule}/{self.target}"

    @classmethod
    def parse(cls, bus: str, position: Position, body: bytes) -> DeadLetterEntry | None:
        """Read a record of a dead-letter bus; ``None`` for an event that is no dead letter."""
        try:
            form = orjson.loads(body)
            info = {name: form.pop(name) for name in DEAD_LETTER_EXTENSIONS}
            return cls(
                bus=bus,
                position=position,
                event=Event._from_trusted(form),
                source_bus=str(info["deadletterbus"]),
                rule=str(info["deadletterrule"]),
                target=str(info["deadlettertarget"]),
                reason=str(info["deadletterreason"]),
                error_type=str(info["deadlettererrortype"]),
                error=str(info["deadlettererror"]),
                attempts=int(info["deadletterattempts"]),
                first_attempt=datetime.fromisoformat(str(info["deadletterfirsttime"])),
                last_attempt=datetime.fromisoformat(str(info["deadletterlasttime"])),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


class DeadLetters:
    """The dead letters of a bridge's dead-letter buses: list, inspect, replay, purge.

    Obtained as :attr:`EventBridge.dead_letters`. Works whether or not the runtime runs; a
    replay is delivered by the running worker, or by the next one that starts.

    Example::

        letters = await bridge.dead_letters.list(target="orders/paid/charge")
        await bridge.dead_letters.replay(letters)
    """

    def __init__(self, bridge: EventBridge) -> None:
        self.bridge = bridge

    def _buses(self, bus: str | None) -> list[str]:
        return [bus] if bus is not None else self.bridge.dead_letter_buses()

    def _runner(self, target: str | None) -> str | None:
        return None if target is None else self.bridge.find_target(target).full_name

    async def iterate(
        self, *, bus: str | None = None, target: str | None = None
    ) -> AsyncIterator[DeadLetterEntry]:
        """Every dead letter, oldest first, of one dead-letter bus or all, of one target or all."""
        runner = self._runner(target)
        store = await self.bridge._opened_store()
        for name in self._buses(bus):
            after = 0
            while records := await store.read(name, after=after, max_count=_PAGE):
                for record in records:
                    entry = DeadLetterEntry.parse(
                        name, Position(record.partition, record.offset), record.body
                    )
                    if entry is not None and runner in (None, entry.runner):
                        yield entry
                after = records[-1].offset

    async def list(
        self, *, bus: str | None = None, target: str | None = None, limit: int = 100
    ) -> builtins.list[DeadLetterEntry]:
        """Up to ``limit`` dead letters, oldest first (see :meth:`iterate` for the filters)."""
        out: builtins.list[DeadLetterEntry] = []
        async for entry in self.iterate(bus=bus, target=target):
            out.append(entry)
            if len(out) >= limit:
                break
        return out

    async def get(self, event_id: str, *, bus: str | None = None) -> builtins.list[DeadLetterEntry]:
        """The dead letters of the event ``event_id`` (one per target that failed it)."""
        return [entry async for entry in self.iterate(bus=bus) if entry.event.id == event_id]

    async def _select(
        self,
        entries: Iterable[DeadLetterEntry] | None,
        bus: str | None,
        target: str | None,
    ) -> builtins.list[DeadLetterEntry]:
        if entries is None:
            return [entry async for entry in self.iterate(bus=bus, target=target)]
        return builtins.list(entries)

    async def replay(
        self,
        entries: Iterable[DeadLetterEntry] | None = None,
        *,
        bus: str | None = None,
        target: str | None = None,
    ) -> int:
        """Deliver dead letters again to the target that failed them, and to no other; return
        how many were replayed.

        Each is queued for its target with a fresh retry budget and removed from its
        dead-letter bus, so replaying twice does not deliver twice. Without ``entries``, every
        dead letter (of ``bus``, of ``target``) is replayed.
        """
        store = await self.bridge._opened_store()
        if entries is None:
            chosen = await self._select(None, bus, target)
        else:
            # Entries listed earlier may have been replayed or purged since: only those still
            # kept are replayed, so that replaying the same list twice delivers once.
            chosen = [entry for entry in entries if await self._kept(entry)]
        if not chosen:
            return 0
        declared = {t.full_name for t in self.bridge.targets()}
        unknown = sorted({entry.runner for entry in chosen} - declared)
        if unknown:
            raise RuntimeStateError(
                f"cannot replay dead letters of {unknown}: no such target is declared on this "
                "bridge; declare it, or purge those dead letters"
            )
        now = self.bridge.clock.time()
        entries_out = [
            Delayed(
                entry.runner, now, encode_envelope(entry.runner, entry.event.to_json(), 1, None)
            )
            for entry in chosen
        ]
        telemetry = self.bridge.telemetry
        spans = []
        if telemetry is not None and telemetry.tracer is not None:
            spans = [telemetry.replay_span(e.event, e.bus, e.runner) for e in chosen]
        try:
            await store.schedule(self.bridge.settings.group, entries_out)
        except BaseException as exc:
            for span in spans:
                telemetry.end(span, None, exc)  # type: ignore[union-attr]
            raise
        for span in spans:
            span.end()
        await self._delete(chosen)
        self.bridge._wake_delays()
        return len(chosen)

    async def _kept(self, entry: DeadLetterEntry) -> bool:
        store = await self.bridge._opened_store()
        offset = entry.position.offset
        found = await store.read(entry.bus, after=offset - 1, max_count=1)
        return bool(found) and found[0].offset == offset

    async def purge(
        self,
        entries: Iterable[DeadLetterEntry] | None = None,
        *,
        bus: str | None = None,
        target: str | None = None,
    ) -> int:
        """Delete dead letters for good; return how many were deleted.

        Without ``entries``, every dead letter (of ``bus``, of ``target``) is deleted.
        """
        return await self._delete(await self._select(entries, bus, target))

    async def _delete(self, chosen: builtins.list[DeadLetterEntry]) -> int:
        store = await self.bridge._opened_store()
        by_bus: dict[str, list[Position]] = {}
        for entry in chosen:
            by_bus.setdefault(entry.bus, []).append(entry.position)
        return sum([await store.delete(name, positions) for name, positions in by_bus.items()])
