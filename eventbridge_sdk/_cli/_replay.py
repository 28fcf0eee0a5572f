"""``eventbridge replay``: deliver the archived events of a time window again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .._replay import ReplayProgress
from ._common import APP_DIR, ExitCode, Failure, console, emit_json, load_bridge, run_async

__all__ = ["COMMANDS", "parse_time", "replay"]

_AGO = re.compile(r"(\d+(?:\.\d+)?)(s|m|h|d)\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, option: str, now: datetime) -> datetime:
    """An RFC 3339 time with its offset (``2026-12-01T08:00:00Z``), ``now``, or a duration
    before now (``90s``, ``15m``, ``2h``, ``7d``).

    Example::

        parse_time("2h", "--start", datetime.now(UTC))
    """
    if text == "now":
        return now
    ago = _AGO.match(text)
    if ago is not None:
        return now - timedelta(**{_UNITS[ago.group(2)]: float(ago.group(1))})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither an RFC 3339 time (2026-12-01T08:00:00Z), 'now', nor a "
            "duration before now (90s, 15m, 2h, 7d)",
            param_hint=option,
        ) from None
    if value.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} has no time zone; add one (Z for UTC, or +02:00)", param_hint=option
        )
    return value


@click.command("replay")
@click.argument("app", metavar="APP")
@click.argument("bus")
@click.option("--start", required=True, help="Window start, included: RFC 3339 time, or 2h (ago).")
@click.option("--end", default="now", show_default=True, help="Window end, excluded.")
@click.option(
    "--rule",
    "-r",
    "rules",
    multiple=True,
    help="Replay to this rule's targets only (repeat for several; default: every rule).",
)
@click.option("--name", help="The replay's name, in each event's replayname attribute.")
@click.option("--dry-run", is_flag=True, help="Count what would be queued; queue nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the final progress as JSON.")
@APP_DIR
def replay(
    app: str,
    bus: str,
    start: str,
    end: str,
    rules: tuple[str, ...],
    name: str | None,
    dry_run: bool,
    as_json: bool,
    app_dir: str,
) -> None:
    """Deliver the archived events of BUS appended between --start and --end again, to the
    targets of the chosen rules whose patterns match, each marked with the extension
    attribute replayname. The application's running worker delivers them (or the next one
    to start); consumer positions do not move. Only what the bus keeps can be replayed:
    declare it with a retention. Ctrl-C cancels after the page being queued.

    \b
    Examples:
      eventbridge replay app:bridge orders --start 2h
      eventbridge replay app:bridge orders --start 2026-12-01T08:00:00Z \\
          --end 2026-12-01T09:00:00Z --rule paid --name fix-1234
      eventbridge replay app:bridge orders --start 1d --dry-run --json
    """
    now = datetime.now(UTC)
    window = (parse_time(start, "--start", now), parse_time(end, "--end", now))
    bridge = load_bridge(app, app_dir)
    shown = not as_json and console(stderr=True).is_terminal

    async def run() -> ReplayProgress:
        progress_bar = Progress(
            TextColumn("replay {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[enqueued]} queued"),
            console=console(stderr=True),
            disable=not shown,
        )
        task = progress_bar.add_task(bus, total=None, enqueued=0)

        def advance(progress: ReplayProgress) -> None:
            total = progress.last_offset - progress.first_offset
            done = progress.offset - progress.first_offset
            progress_bar.update(task, total=total, completed=done, enqueued=progress.enqueued)

        try:
            with progress_bar:
                running = bridge.replay(
                    bus,
                    window[0],
                    window[1],
                    rules=list(rules) or None,
                    name=name,
                    on_progress=advance,
                    dry_run=dry_run,
                )
                try:
                    return await running
                except asyncio.CancelledError:
                    running.cancel()
                    return await asyncio.shield(running.wait())
        finally:
            with contextlib.suppress(Exception):
                await bridge.stop()

    final = run_async(run())
    if as_json:
        emit_json(dataclasses.asdict(final))
    else:
        verb = "would queue" if dry_run else "queued"
        click.echo(
            f"replay {final.name} of bus {final.bus}: {final.state}; {final.read} events read, "
            f"{final.matched} matched, {verb} {final.enqueued} deliveries"
        )
    if final.state == "failed":
        raise Failure(f"replay {final.name} failed: {final.error}")
    raise SystemExit(ExitCode.OK if final.state == "completed" else ExitCode.FAILURE)


COMMANDS = [replay]
