"""``eventbridge status``: per bus and target, how far along and what waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import click
from rich.console import Group
from rich.live import Live
from rich.table import Table

from .._app import EventBridge
from .._status import BridgeStatus
from ._common import APP_DIR, console, emit_json, load_bridge, run_async, shared_store_url

__all__ = ["COMMANDS", "status"]


@click.command()
@click.argument("app", required=False)
@click.option("--store", help="The store URL, without APP (default: EVENTBRIDGE_STORE).")
@click.option("--bus", "buses", multiple=True, help="A bus to show, without APP; repeat for more.")
@click.option("--watch", is_flag=True, help="Refresh until interrupted.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes with --watch.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a line per refresh).")
@APP_DIR
def status(
    app: str | None,
    store: str | None,
    buses: tuple[str, ...],
    watch: bool,
    interval: float,
    as_json: bool,
    app_dir: str,
) -> None:
    """Show, per bus, how far it was appended and committed and the lag; per target, the
    retries and backlog waiting in the store, its dead letters, and whether it is paused.

    With APP (MODULE:ATTRIBUTE) every declared bus and target is shown; without it, the buses
    named by --bus in the store of --store. From another process than the running worker, the
    store's figures are shown: a paused target and what each target did since its start are
    known inside the worker only (bridge.status() there, or a starter's health endpoint).

    \b
    Exit codes: 0 shown; 1 the store cannot be read; 2 a usage or configuration error.

    \b
    Examples:
      eventbridge status app:bridge
      eventbridge status app:bridge --watch --interval 5
      eventbridge status --store sqlite:///.eventbridge/events.db --bus orders --json
    """
    if app is not None:
        if store is not None or buses:
            raise click.UsageError("give APP, or --store and --bus, not both")
        bridge = load_bridge(app, app_dir)
        shared_store_url(bridge.settings.store, "the application's store")
    else:
        if not buses:
            raise click.UsageError("give APP (MODULE:ATTRIBUTE), or the buses with --bus")
        bridge = EventBridge(shared_store_url(store))
        for name in buses:
            bridge.bus(name)
    for name in bridge.dead_letter_buses():
        bridge.bus(name)
    run_async(_show(bridge, watch, interval, as_json))


async def _show(bridge: EventBridge, watch: bool, interval: float, as_json: bool) -> None:
    try:
        if not watch:
            _print(*await _collect(bridge), as_json)
            return
        if as_json:
            while True:
                _print(*await _collect(bridge), as_json)
                await asyncio.sleep(interval)
        with Live(console=console(), auto_refresh=False) as live:
            while True:
                live.update(_tables(*await _collect(bridge)), refresh=True)
                await asyncio.sleep(interval)
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            await bridge.stop()


async def _collect(bridge: EventBridge) -> tuple[BridgeStatus, Counter[str]]:
    letters: Counter[str] = Counter()
    async for entry in bridge.dead_letters.iterate():
        letters[entry.runner] += 1
    return await bridge.status(), letters


def _print(state: BridgeStatus, letters: Counter[str], as_json: bool) -> None:
    if as_json:
        form: dict[str, Any] = state.to_dict()
        for target in form["targets"]:
            target["dead_letters"] = letters.get(target["name"], 0)
        emit_json(form)
    else:
        console().print(_tables(state, letters))


def _tables(state: BridgeStatus, letters: Counter[str]) -> Group:
    buses = Table(title=f"buses (store {state.store}, group {state.group!r})", title_justify="left")
    for column in ("bus", "appended", "committed", "lag", "kept"):
        buses.add_column(column, justify="left" if column == "bus" else "right")
    for bus in state.buses:
        committed = ", ".join(
            str(offset) if len(bus.committed) == 1 else f"{partition}:{offset}"
            for partition, offset in sorted(bus.committed.items())
        )
        name = f"{bus.name} (dead letters)" if bus.dead_letter_bus else bus.name
        lag = "" if bus.pending is None else str(bus.pending)
        buses.add_row(name, str(bus.last_offset), committed or "-", lag, str(bus.retained))
    targets = Table(title="targets", title_justify="left")
    columns = ["target", "retry queue", "next due", "dead letters"]
    if state.running:
        columns += ["paused", "queued", "delivered", "dead-lettered"]
    for column in columns:
        targets.add_column(column, justify="left" if column in ("target", "paused") else "right")
    for target in state.targets:
        row = [
            target.name,
            str(target.delayed),
            target.next_due.isoformat(timespec="seconds") if target.next_due else "-",
            str(letters.get(target.name, 0)),
        ]
        if state.running:
            paused = target.paused
            row += [
                f"since {paused.since:%H:%M:%S}: {paused.reason}" if paused else "-",
                str(target.queued),
                str(target.counts.delivered),
                str(target.counts.dead_lettered),
            ]
        targets.add_row(*row)
    parts: list[Any] = [buses]
    if state.targets:
        parts.append(targets)
    if not state.running:
        parts.append(
            "Paused targets and what each target did since its start are known inside the "
            "running worker only: bridge.status() there."
        )
    return Group(*parts)


COMMANDS = [status]
