"""``eventbridge publish``: events from options or JSON Lines, into a store or a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

import click
import orjson
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .._app import EventBridge
from .._errors import EventBridgeError, InvalidEventError
from .._event import Event, new_event_id
from .._settings import Settings, check_store_url
from ._common import ConfigError, ExitCode, Failure, console, emit_json, reported, run_async

__all__ = ["COMMANDS", "publish"]


@dataclass(slots=True)
class _Outcome:
    ids: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, line: int | None, error: str) -> None:
        self.failed.append({"line": line, "error": error})
        where = f"line {line}" if line is not None else "the event"
        click.echo(f"{where}: {error}", err=True)


def _event(form: object) -> Event:
    """An event from its JSON form, checked as ``bridge.publish`` checks it."""
    if not isinstance(form, dict):
        raise InvalidEventError(f"expected a JSON object, got {type(form).__name__}")
    event = Event.from_dict({"specversion": "1.0", "id": new_event_id(), **form})
    if event.time is None and "time" not in form:
        event.time = datetime.now(UTC)
    event.to_json()  # what would fail on the way into the store fails here, for this line
    return event


def _lines(stream: IO[str], outcome: _Outcome) -> Iterator[tuple[int, Event]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield number, _event(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            outcome.fail(number, f"not valid JSON: {exc}")
        except InvalidEventError as exc:
            outcome.fail(number, f"not a valid event: {exc}")


def _from_options(
    type_: str | None,
    source: str | None,
    subject: str | None,
    data: str | None,
    event_id: str | None,
    extensions: tuple[str, ...],
) -> dict[str, Any]:
    if not type_ or not source:
        raise click.UsageError("give --type and --source for one event, or --file for many")
    form: dict[str, Any] = {"type": type_, "source": source}
    if subject is not None:
        form["subject"] = subject
    if event_id is not None:
        form["id"] = event_id
    if data is not None:
        try:
            form["data"] = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="'--data'") from None
    for item in extensions:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="'--extension'")
        form[name] = value
    return form


@click.command()
@click.argument("bus")
@click.option("--type", "type_", help="The event's type (one event from options).")
@click.option("--source", help="The event's source.")
@click.option("--subject", help="The event's subject.")
@click.option("--data", help="The event's data, as JSON.")
@click.option("--id", "event_id", help="The event's id (default: a new one).")
@click.option(
    "--extension",
    "-e",
    "extensions",
    multiple=True,
    metavar="NAME=VALUE",
    help="An extension attribute (a string); repeat for more.",
)
@click.option(
    "--file",
    "-f",
    "file",
    type=click.File("r"),
    help="JSON Lines: one event (its CloudEvents JSON form) per line; '-' reads standard input.",
)
@click.option("--store", help="The store URL to append to (default: EVENTBRIDGE_STORE).")
@click.option("--url", help="An event gateway to send to over HTTP instead of a store.")
@click.option("--api-key", help="The gateway's API key (with --url).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Events sent in one append or request.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def publish(
    bus: str,
    type_: str | None,
    source: str | None,
    subject: str | None,
    data: str | None,
    event_id: str | None,
    extensions: tuple[str, ...],
    file: IO[str] | None,
    store: str | None,
    url: str | None,
    api_key: str | None,
    batch_size: int,
    as_json: bool,
) -> None:
    """Publish events to BUS: one from options, or many from a JSON Lines file or stdin.

    A line that is not a valid event is reported with its number and nothing of it is stored;
    the other lines are published. Events need only "type" and "source"; "id", "time" and
    "specversion" default.

    \b
    Exit codes: 0 every event published; 1 some were not (bad lines, refused by the
    gateway, the store failed); 2 a usage or configuration error.

    \b
    Examples:
      eventbridge publish orders --type order.created --source /shop --data '{"total": 250}'
      eventbridge publish orders --file events.jsonl --store sqlite:///.eventbridge/events.db
      cat events.jsonl | eventbridge publish orders -f - --url http://localhost:8000 --api-key K
    """
    if store is not None and url is not None:
        raise click.UsageError("give --store or --url, not both")
    if api_key is not None and url is None:
        raise click.UsageError("--api-key goes with --url (a gateway)")
    one = any(v is not None for v in (type_, source, subject, data, event_id)) or extensions
    if file is not None and one:
        raise click.UsageError("give the event's options or --file, not both")
    outcome = _Outcome()
    if file is None:
        form = _from_options(type_, source, subject, data, event_id, extensions)
        try:
            events: Iterator[tuple[int | None, Event]] = iter([(None, _event(form))])
        except InvalidEventError as exc:
            outcome.fail(None, f"not a valid event: {exc}")
            events = iter([])
    else:
        events = _lines(file, outcome)
    if url is not None:
        with reported():
            _to_gateway(url, api_key, bus, events, batch_size, outcome, as_json)
    else:
        run_async(_to_store(_store_url(store), bus, events, batch_size, outcome, as_json))
    total = len(outcome.ids) + len(outcome.failed)
    if as_json:
        emit_json(
            {
                "bus": bus,
                "published": len(outcome.ids),
                "ids": outcome.ids,
                "failed": outcome.failed,
            }
        )
    else:
        failed = f" ({len(outcome.failed)} of {total} failed)" if outcome.failed else ""
        click.echo(f"published {len(outcome.ids)} event(s) to bus {bus!r}{failed}")
    raise SystemExit(ExitCode.FAILURE if outcome.failed else ExitCode.OK)


def _store_url(store: str | None) -> str:
    # Publishing may create the store (the application has not run yet): unlike the commands
    # that look at a store, a missing SQLite file is fine; memory:// would be lost at exit.
    with reported():
        url = store if store is not None else Settings().store
    where = "--store" if store is not None else "EVENTBRIDGE_STORE"
    try:
        check_store_url(url)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if urlsplit(url).scheme == "memory":
        raise ConfigError(
            f"{where} is memory://, which lives inside one process: the events would be gone "
            "when this command exits. Name the store the application uses"
        )
    return url


def _progress(as_json: bool) -> Progress:
    err = console(stderr=True)
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    )


def _batches(
    events: Iterator[tuple[int | None, Event]], size: int
) -> Iterator[list[tuple[int | None, Event]]]:
    batch: list[tuple[int | None, Event]] = []
    for item in events:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _to_store(
    url: str,
    bus: str,
    events: Iterator[tuple[int | None, Event]],
    size: int,
    outcome: _Outcome,
    as_json: bool,
) -> None:
    bridge = EventBridge(url)
    bridge.bus(bus)
    try:
        with _progress(as_json) as progress:
            task = progress.add_task(f"publishing to {bus}", total=None)
            for batch in _batches(events, size):
                try:
                    ids = await bridge.publish(bus, [event for _, event in batch])
                except EventBridgeError as exc:
                    first = batch[0][0]
                    raise Failure(
                        f"the store refused the events from line {first} on: {exc}; "
                        f"{len(outcome.ids)} event(s) before them were published"
                    ) from None
                outcome.ids.extend(ids)
                progress.advance(task, len(batch))
    finally:
        await bridge.stop()


def _to_gateway(
    url: str,
    api_key: str | None,
    bus: str,
    events: Iterator[tuple[int | None, Event]],
    size: int,
    outcome: _Outcome,
    as_json: bool,
) -> None:
    from ..http._client import EventBridgeClient, PublishError

    with EventBridgeClient(url, api_key=api_key) as client, _progress(as_json) as progress:
        task = progress.add_task(f"publishing to {bus} at {url}", total=None)
        for batch in _batches(events, size):
            try:
                result = client.put_events(bus, [event for _, event in batch])
            except PublishError as exc:
                raise Failure(
                    f"the gateway refused the request: {exc}; {len(outcome.ids)} event(s) "
                    "before it were published"
                ) from None
            for (line, _), entry in zip(batch, result.entries, strict=True):
                if entry.ok and entry.event_id is not None:
                    outcome.ids.append(entry.event_id)
                else:
                    outcome.fail(line, f"{entry.error_code}: {entry.error_message}")
            progress.advance(task, len(batch))


COMMANDS = [publish]
