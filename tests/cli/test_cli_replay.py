"""``eventbridge replay``: a window of a bus's archive delivered again, marked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import click
import orjson
import pytest
from cli_project import Project

from eventbridge_sdk import Event
from eventbridge_sdk._cli import ExitCode
from eventbridge_sdk._cli._common import load_bridge
from eventbridge_sdk._cli._replay import parse_time

APP = """
from datetime import timedelta
from eventbridge_sdk import Event, EventBridge, Retention

bridge = EventBridge()
orders = bridge.bus("orders", retention=Retention(max_age=timedelta(days=1)))


@orders.rule("big", pattern={{"data": {{"total": [{{"numeric": [">=", 100]}}]}}}})
async def big(event: Event) -> None:
    with open({out!r}, "a") as seen:
        seen.write(f"big {{event.id}} {{event.extensions.get('replayname', '-')}}\\n")


@orders.rule("all")
async def everything(event: Event) -> None:
    with open({out!r}, "a") as seen:
        seen.write(f"all {{event.id}} {{event.extensions.get('replayname', '-')}}\\n")
"""


async def deliver(app: str, events: list[Event] | None = None) -> None:
    """Run the application's bridge until what it was given (or found queued) is delivered."""
    bridge = load_bridge(app)
    async with bridge:
        if events:
            await bridge.publish("orders", events)
        await bridge.wait_idle(10)


def test_a_window_is_delivered_again_to_the_chosen_rule_marked(project: Project) -> None:
    app = project.write_app(APP)
    events = [Event(type="order.created", source="/s", data={"total": t}) for t in (150, 5)]
    asyncio.run(deliver(app, events))
    assert len(project.seen_lines()) == 3  # big once, all twice

    dry = project.invoke(
        "replay", app, "orders", "--start", "1h", "--rule", "big", "--dry-run", "--json"
    )
    assert dry.exit_code == ExitCode.OK, dry.output
    counted = orjson.loads(dry.stdout)
    assert (counted["state"], counted["read"], counted["enqueued"]) == ("completed", 2, 1)

    result = project.invoke(
        "replay", app, "orders", "--start", "1h", "--rule", "big", "--name", "fix1", "--json"
    )
    assert result.exit_code == ExitCode.OK, result.output
    final = orjson.loads(result.stdout)
    assert (final["name"], final["read"], final["matched"], final["enqueued"]) == ("fix1", 2, 1, 1)
    asyncio.run(deliver(app))  # the application's worker delivers what was queued
    lines = project.seen_lines()
    assert lines[3:] == [f"big {events[0].id} fix1"]  # to rule big only, marked

    text = project.invoke("replay", app, "orders", "--start", "1h", "--end", "30m")
    assert text.exit_code == ExitCode.OK, text.output
    assert "0 events read" in text.output  # nothing was appended in that window


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--start", "yesterday"], "neither an RFC 3339 time"),
        (["--start", "2026-12-01T08:00:00"], "has no time zone"),
        (["--start", "1h", "--rule", "nope"], "nope"),
    ],
)
def test_a_replay_that_cannot_mean_anything_is_refused(
    project: Project, options: list[str], message: str
) -> None:
    app = project.write_app(APP)
    result = project.invoke("replay", app, "orders", *options)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.output


def test_times_are_rfc_3339_now_or_a_duration_before_now() -> None:
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    assert parse_time("now", "--end", now) == now
    assert parse_time("90s", "--start", now) == now - timedelta(seconds=90)
    assert parse_time("2h", "--start", now) == now - timedelta(hours=2)
    assert parse_time("7d", "--start", now) == now - timedelta(days=7)
    assert parse_time("2026-12-01T08:00:00Z", "--start", now) == datetime(
        2026, 12, 1, 8, tzinfo=UTC
    )
    with pytest.raises(click.BadParameter, match="no time zone"):
        parse_time("2026-12-01T08:00:00", "--start", now)
