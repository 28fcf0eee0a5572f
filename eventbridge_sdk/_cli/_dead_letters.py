"""``eventbridge dead-letters``: list, show, replay and purge (on ``bridge.dead_letters``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.table import Table

from .._app import EventBridge
from .._dead_letters import DeadLetterEntry
from ._common import (
    APP_DIR,
    ExitCode,
    Failure,
    console,
    emit_json,
    load_bridge,
    run_async,
    shared_store_url,
)

__all__ = ["COMMANDS", "dead_letters"]

F = TypeVar("F", bound=Callable[..., Any])


def _where(command: F) -> F:
    """The options that say which application and which dead letters."""
    for option in reversed(
        [
            click.option(
                "--app",
                "-a",
                "app",
                metavar="MODULE:ATTRIBUTE",
                help="The application (its targets and dead-letter buses).",
            ),
            click.option(
                "--store", help="The store URL, without --app (default: EVENTBRIDGE_STORE)."
            ),
            click.option("--bus", help="Only this dead-letter bus (default: every one)."),
            click.option(
                "--target",
                "-t",
                help="Only the dead letters of this target (name, rule/target or bus/rule/target).",
            ),
            APP_DIR,
        ]
    ):
        command = option(command)
    return command


def _bridge(app: str | None, store: str | None, app_dir: str) -> EventBridge:
    if app is not None:
        if store is not None:
            raise click.UsageError("give --app or --store, not both")
        bridge = load_bridge(app, app_dir)
        shared_store_url(bridge.settings.store, "the application's store")
        return bridge
    return EventBridge(shared_store_url(store))


def _form(entry: DeadLetterEntry) -> dict[str, Any]:
    return {
        "bus": entry.bus,
        "offset": entry.position.offset,
        "id": entry.event.id,
        "target": entry.runner,
        "reason": entry.reason,
        "error_type": entry.error_type,
        "error": entry.error,
        "attempts": entry.attempts,
        "first_attempt": entry.first_attempt.isoformat(),
        "last_attempt": entry.last_attempt.isoformat(),
        "event": entry.event.to_dict(),
    }


@click.group("dead-letters")
def dead_letters() -> None:
    """List, show, replay and purge dead letters: events a target failed for good.

    \b
    Exit codes: 0 done; 1 the operation failed (no such dead letter, a store error, an
    unknown target); 2 a usage or configuration error.

    \b
    Examples:
      eventbridge dead-letters list --app app:bridge
      eventbridge dead-letters show --app app:bridge 3f2c...
      eventbridge dead-letters replay --app app:bridge --target orders/paid/charge --yes
      eventbridge dead-letters purge --store sqlite:///.eventbridge/events.db --yes
    """


@dead_letters.command("list")
@_where
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list).")
def list_(
    app: str | None,
    store: str | None,
    bus: str | None,
    target: str | None,
    app_dir: str,
    limit: int,
    as_json: bool,
) -> None:
    """List dead letters, oldest first.

    \b
    Examples:
      eventbridge dead-letters list --app app:bridge --target charge
      eventbridge dead-letters list --store sqlite:///.eventbridge/events.db --json
    """
    bridge = _bridge(app, store, app_dir)
    entries = run_async(_closing(bridge, _entries(bridge, bus, target, limit)))
    if as_json:
        emit_json([_form(entry) for entry in entries])
        return
    table = Table(title=f"{len(entries)} dead letter(s)", title_justify="left")
    for column in ("id", "target", "reason", "attempts", "last attempt", "error"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.event.id,
            entry.runner,
            entry.reason,
            str(entry.attempts),
            entry.last_attempt.isoformat(timespec="seconds"),
            f"{entry.error_type}: {entry.error}",
        )
    console().print(table)


@dead_letters.command("show")
@_where
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list: one per target).")
def show(
    app: str | None,
    store: str | None,
    bus: str | None,
    target: str | None,
    app_dir: str,
    event_id: str,
    as_json: bool,
) -> None:
    """Show the dead letters of the event EVENT_ID (one per target that failed it).

    \b
    Example:
      eventbridge dead-letters show --app app:bridge 0190c1d2-...
    """
    bridge = _bridge(app, store, app_dir)
    entries = run_async(_closing(bridge, bridge.dead_letters.get(event_id, bus=bus)))
    if target is not None:
        entries = [e for e in entries if _named(e, target)]
    if not entries:
        raise Failure(f"no dead letter of event {event_id!r}")
    if as_json:
        emit_json([_form(entry) for entry in entries])
        return
    for form in map(_form, entries):
        event = form.pop("event")
        for name, value in form.items():
            click.echo(f"{name}: {value}")
        console().print_json(data=event)


def _named(entry: DeadLetterEntry, target: str) -> bool:
    return entry.runner == target or entry.runner.endswith("/" + target)


async def _entries(
    bridge: EventBridge, bus: str | None, target: str | None, limit: int | None
) -> list[DeadLetterEntry]:
    if target is not None and bridge.targets():
        target = bridge.find_target(target).full_name  # an unknown name is an error, said so
    out: list[DeadLetterEntry] = []
    async for entry in bridge.dead_letters.iterate(bus=bus):
        if target is None or _named(entry, target):
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
    return out


async def _selected(
    bridge: EventBridge, ids: tuple[str, ...], bus: str | None, target: str | None
) -> list[DeadLetterEntry]:
    if not ids:
        return await _entries(bridge, bus, target, None)
    chosen = []
    for event_id in ids:
        found = await bridge.dead_letters.get(event_id, bus=bus)
        if not found:
            raise Failure(f"no dead letter of event {event_id!r}")
        chosen += [e for e in found if target is None or _named(e, target)]
    return chosen


def _act(
    verb: str,
    app: str | None,
    store: str | None,
    bus: str | None,
    target: str | None,
    app_dir: str,
    ids: tuple[str, ...],
    yes: bool,
    as_json: bool,
) -> None:
    bridge = _bridge(app, store, app_dir)

    async def act() -> int:
        try:
            chosen = await _selected(bridge, ids, bus, target)
            if not chosen:
                return 0
            if not yes and not click.confirm(f"{verb} {len(chosen)} dead letter(s)?"):
                raise click.Abort
            if verb == "replay":
                return await bridge.dead_letters.replay(chosen)
            return await bridge.dead_letters.purge(chosen)
        finally:
            with contextlib.suppress(Exception):
                await bridge.stop()

    done = run_async(act())
    past = "replayed" if verb == "replay" else "purged"
    if as_json:
        emit_json({past: done})
    else:
        click.echo(f"{past} {done} dead letter(s)")
    raise SystemExit(ExitCode.OK)


_IDS = click.option("--id", "ids", multiple=True, help="Only the dead letters of this event id.")
_YES = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the count as JSON.")


@dead_letters.command("replay")
@_where
@_IDS
@_YES
@_JSON
def replay(
    app: str | None,
    store: str | None,
    bus: str | None,
    target: str | None,
    app_dir: str,
    ids: tuple[str, ...],
    yes: bool,
    as_json: bool,
) -> None:
    """Deliver dead letters again to the target that failed them (with a fresh retry budget)
    and remove them from their dead-letter bus. Needs --app: the application declares the
    targets. The running worker delivers them (or the next one that starts).

    \b
    Examples:
      eventbridge dead-letters replay --app app:bridge --target orders/paid/charge --yes
      eventbridge dead-letters replay --app app:bridge --id 0190c1d2-... --yes
    """
    if app is None:
        raise click.UsageError(
            "replay needs --app MODULE:ATTRIBUTE: a dead letter goes back to the target that "
            "failed it, and the application declares the targets"
        )
    _act("replay", app, store, bus, target, app_dir, ids, yes, as_json)


@dead_letters.command("purge")
@_where
@_IDS
@_YES
@_JSON
def purge(
    app: str | None,
    store: str | None,
    bus: str | None,
    target: str | None,
    app_dir: str,
    ids: tuple[str, ...],
    yes: bool,
    as_json: bool,
) -> None:
    """Delete dead letters for good.

    \b
    Examples:
      eventbridge dead-letters purge --app app:bridge --target charge --yes
      eventbridge dead-letters purge --store sqlite:///.eventbridge/events.db --id 0190c1d2-...
    """
    _act("purge", app, store, bus, target, app_dir, ids, yes, as_json)


async def _closing(bridge: EventBridge, awaitable: Any) -> Any:
    try:
        return await awaitable
    finally:
        with contextlib.suppress(Exception):
            await bridge.stop()


COMMANDS = [dead_letters]
