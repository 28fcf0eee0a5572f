"""``eventbridge dead-letters``: list, show, replay and purge the dead letters of an app."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from cli_project import Project

from eventbridge_sdk import Event
from eventbridge_sdk._cli import ExitCode
from eventbridge_sdk._cli._common import load_bridge
from eventbridge_sdk.stores import open_store


async def refused(app: str, count: int) -> list[str]:
    """Run the app's bridge until ``count`` refused orders are dead letters; their ids."""
    bridge = load_bridge(app)
    events = [Event(type="order.refused", source="/s") for _ in range(count)]
    async with bridge:
        await bridge.publish("orders", events)
        await bridge.wait_idle()
    return [event.id for event in events]


async def waiting(store_url: str) -> dict[str, int]:
    store = open_store(store_url)
    await store.open()
    try:
        return {key: stats.size for key, stats in (await store.delayed("default")).items()}
    finally:
        await store.close()


@pytest.fixture
def app(project: Project) -> str:
    return project.write_app()


def test_list_shows_each_dead_letter(project: Project, app: str) -> None:
    ids = asyncio.run(refused(app, 2))
    result = project.invoke("dead-letters", "list", "--app", app, "--json")
    assert result.exit_code == 0, result.output
    letters = orjson.loads(result.stdout)
    assert [letter["id"] for letter in letters] == ids
    assert {letter["target"] for letter in letters} == {"orders/refused/refuse"}
    assert letters[0]["reason"] == "dead-letter"
    table = project.invoke("dead-letters", "list", "--app", app, "--target", "refuse")
    assert "2 dead letter(s)" in table.output
    assert ids[0] in table.output


def test_list_without_the_app_reads_the_default_dead_letter_bus(project: Project, app: str) -> None:
    asyncio.run(refused(app, 1))
    result = project.invoke("dead-letters", "list", "--json", "--target", "refused/refuse")
    assert len(orjson.loads(result.stdout)) == 1


def test_show_one_and_fail_for_an_unknown_id(project: Project, app: str) -> None:
    [event_id] = asyncio.run(refused(app, 1))
    result = project.invoke("dead-letters", "show", "--app", app, event_id)
    assert result.exit_code == 0, result.output
    assert "error: refused by the test" in result.output
    missing = project.invoke("dead-letters", "show", "--app", app, "nope")
    assert missing.exit_code == ExitCode.FAILURE
    assert "no dead letter of event 'nope'" in missing.output


def test_replay_queues_them_for_their_target_and_removes_them(project: Project, app: str) -> None:
    asyncio.run(refused(app, 2))
    result = project.invoke("dead-letters", "replay", "--app", app, "--yes", "--json")
    assert orjson.loads(result.stdout) == {"replayed": 2}
    assert asyncio.run(waiting(project.store)) == {"orders/refused/refuse": 2}
    left = project.invoke("dead-letters", "list", "--app", app, "--json")
    assert orjson.loads(left.stdout) == []


def test_replay_needs_the_app(project: Project) -> None:
    result = project.invoke("dead-letters", "replay", "--yes")
    assert result.exit_code == ExitCode.USAGE
    assert "replay needs --app" in result.output


def test_purge_asks_first_and_deletes_the_chosen_ones(project: Project, app: str) -> None:
    first, second = asyncio.run(refused(app, 2))
    declined = project.invoke("dead-letters", "purge", "--app", app, input="n\n")
    assert declined.exit_code == ExitCode.FAILURE  # aborted
    result = project.invoke("dead-letters", "purge", "--app", app, "--id", first, "--yes")
    assert result.output == "purged 1 dead letter(s)\n"
    left = project.invoke("dead-letters", "list", "--app", app, "--json")
    assert [letter["id"] for letter in orjson.loads(left.stdout)] == [second]


def test_an_unknown_target_is_named(project: Project, app: str) -> None:
    asyncio.run(refused(app, 1))
    result = project.invoke("dead-letters", "list", "--app", app, "--target", "nobody")
    assert result.exit_code == ExitCode.FAILURE
    assert "no target 'nobody'" in result.output
