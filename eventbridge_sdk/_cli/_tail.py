"""``eventbridge tail``: follow a bus live, without a consumer group."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import click
import orjson

from .._names import check_name
from ..patterns import Pattern, compile_pattern
from ..stores import open_store
from ..stores.base import Record, Store
from ._common import ConfigError, json_argument, run_async, shared_store_url

__all__ = ["COMMANDS", "tail"]

_PAGE = 500


@click.command()
@click.argument("bus")
@click.option("--store", help="The store URL (default: EVENTBRIDGE_STORE).")
@click.option("--pattern", "-p", help="Show only events that match this pattern (JSON or @FILE).")
@click.option("--from-start", is_flag=True, help="Begin with the oldest event the store keeps.")
@click.option(
    "--count", "-n", type=click.IntRange(min=1), help="Stop after this many events shown."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=0.5,
    show_default=True,
    help="Seconds between looks at the bus once it is read to its end.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each event's CloudEvents JSON.")
def tail(
    bus: str,
    store: str | None,
    pattern: str | None,
    from_start: bool,
    count: int | None,
    interval: float,
    as_json: bool,
) -> None:
    """Follow BUS live: print each event appended from now on (or, with --from-start, every
    event the store still keeps), until interrupted.

    It reads the bus the way dead letters are listed, by position and without a consumer
    group: no group is created, nothing is committed, no consumer is disturbed. Events that
    every group committed may be pruned by the store before they are seen (SQLite: after
    ?prune_interval=, 5 s; ?retain=all keeps them).

    \b
    Exit codes: 0 interrupted or --count reached; 1 the store cannot be read; 2 a usage or
    configuration error.

    \b
    Examples:
      eventbridge tail orders
      eventbridge tail orders --pattern '{"type": ["order.created"]}' --json
      eventbridge tail orders --from-start --count 10 --store sqlite:///.eventbridge/events.db
    """
    try:
        check_name("bus", bus)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    compiled = None
    if pattern is not None:
        try:
            compiled = compile_pattern(json_argument(pattern, "the pattern"))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--pattern'") from None
    url = shared_store_url(store)
    run_async(_follow(open_store(url), bus, compiled, from_start, count, interval, as_json))


async def _follow(
    store: Store,
    bus: str,
    pattern: Pattern | None,
    from_start: bool,
    count: int | None,
    interval: float,
    as_json: bool,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await store.open()
    shown = 0
    try:
        after = 0 if from_start else (await store.stats(bus)).last_offset
        # On standard error, so that --json output stays one event per line.
        click.echo(f"following bus {bus!r} after offset {after}", err=True)
        while not stop.is_set():
            records = await store.read(bus, after=after, max_count=_PAGE)
            if not records:
                # read() has no long poll: look again after the interval, or stop at a signal.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
                continue
            after = records[-1].offset
            for record in records:
                form = orjson.loads(record.body)
                if pattern is not None and not pattern.matches(form):
                    continue
                _show(record, form, as_json)
                shown += 1
                if count is not None and shown >= count:
                    return
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await store.close()


def _show(record: Record, form: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(record.body.decode())
        return
    data = form.get("data", form.get("data_base64"))
    parts = [
        str(record.offset),
        str(form.get("time", "-")),
        str(form.get("type")),
        str(form.get("source")),
        str(form.get("subject", "-")),
        orjson.dumps(data).decode() if data is not None else "-",
    ]
    click.echo("  ".join(parts))


COMMANDS = [tail]
