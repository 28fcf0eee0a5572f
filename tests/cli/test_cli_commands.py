"""Every command through click's runner: help, answers, exit codes and clear errors."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import orjson
import pytest
import respx
from cli_project import Project

from eventbridge_sdk import Event, EventBridge
from eventbridge_sdk.__main__ import main
from eventbridge_sdk._cli import ExitCode, cli
from eventbridge_sdk.stores import open_store

BIG = '{"type": "order.created", "source": "/shop", "data": {"total": 250}}'


def commands() -> list[list[str]]:
    names = [[name] for name in cli.commands if name != "dead-letters"]
    return [*names, *(["dead-letters", name] for name in ("list", "show", "replay", "purge"))]


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_every_command_has_help_with_examples(project: Project, command: list[str]) -> None:
    result = project.invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output


def test_the_script_names_the_extra_when_click_or_rich_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == ExitCode.FAILURE
    assert "pip install 'eventbridge-sdk[cli]'" in capsys.readouterr().err


# -- app strings ------------------------------------------------------------------------------


def test_an_app_string_without_a_colon_is_a_usage_error(project: Project) -> None:
    result = project.invoke("check", "app")
    assert result.exit_code == ExitCode.USAGE
    assert "write MODULE:ATTRIBUTE" in result.output


def test_a_missing_module_says_where_it_looked(project: Project) -> None:
    result = project.invoke("check", "nowhere:bridge")
    assert result.exit_code == ExitCode.USAGE
    assert "no module named 'nowhere'" in result.output
    assert "--app-dir" in result.output


def test_a_missing_attribute_names_the_bridges_the_module_has(project: Project) -> None:
    module = project.write_app().partition(":")[0]
    result = project.invoke("check", f"{module}:bridg")
    assert result.exit_code == ExitCode.USAGE
    assert "has no attribute 'bridg'" in result.output
    assert "EventBridge objects: bridge" in result.output


def test_an_attribute_that_is_no_bridge_is_refused(project: Project) -> None:
    module = project.write_app().partition(":")[0]
    result = project.invoke("check", f"{module}:orders")
    assert result.exit_code == ExitCode.USAGE
    assert "is a Bus, not an EventBridge" in result.output


def test_a_module_that_raises_on_import_is_a_failure(project: Project) -> None:
    app = project.write_app("raise RuntimeError('broken on purpose')\n")
    result = project.invoke("check", app)
    assert result.exit_code == ExitCode.FAILURE
    assert "raised RuntimeError: broken on purpose" in result.output


# -- test-pattern -------------------------------------------------------------------------------


def test_pattern_that_matches_exits_0(project: Project) -> None:
    result = project.invoke("test-pattern", '{"type": ["order.created"]}', BIG)
    assert (result.exit_code, result.output) == (0, "match\n")


def test_pattern_that_does_not_match_explains_and_exits_3(project: Project) -> None:
    pattern = Path("pattern.json")
    pattern.write_text('{"data": {"total": [{"numeric": [">", 1000]}]}}')
    result = project.invoke("test-pattern", "@pattern.json", BIG)
    assert result.exit_code == ExitCode.NO_MATCH
    assert "no match" in result.output
    assert "data.total: 250 does not match" in result.output


def test_pattern_answer_as_json(project: Project) -> None:
    result = project.invoke("test-pattern", '{"type": ["x"]}', "@-", "--json", input=BIG)
    assert result.exit_code == ExitCode.NO_MATCH
    answer = orjson.loads(result.output)
    assert answer["matched"] is False
    assert answer["reasons"]


def test_an_invalid_pattern_is_a_usage_error_naming_the_path(project: Project) -> None:
    result = project.invoke("test-pattern", '{"type": [{"prefx": "a"}]}', BIG)
    assert result.exit_code == ExitCode.USAGE
    assert "prefx" in result.output


def test_an_event_that_is_not_json_is_a_usage_error(project: Project) -> None:
    result = project.invoke("test-pattern", "{}", "{not json")
    assert result.exit_code == ExitCode.USAGE
    assert "the event '{not json' is not valid JSON" in result.output


# -- publish ------------------------------------------------------------------------------------


async def kept(store_url: str, bus: str) -> list[dict[str, object]]:
    store = open_store(store_url)
    await store.open()
    try:
        return [orjson.loads(r.body) for r in await store.read(bus, after=0, max_count=5000)]
    finally:
        await store.close()


def test_publish_one_event_from_options(project: Project) -> None:
    result = project.invoke(
        "publish", "orders", "--type", "order.created", "--source", "/shop",
        "--data", '{"total": 250}', "--id", "e-1", "-e", "tenant=acme", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {
        "bus": "orders", "published": 1, "ids": ["e-1"], "failed": []
    }  # fmt: skip
    [event] = asyncio.run(kept(project.store, "orders"))
    assert (event["id"], event["data"], event["tenant"]) == ("e-1", {"total": 250}, "acme")


def test_publish_lines_reports_bad_lines_by_number_and_stores_only_good_ones(
    project: Project,
) -> None:
    lines = [
        '{"type": "a", "source": "/s", "id": "1"}',
        "not json",
        "",
        '{"type": "a"}',
        '{"type": "a", "source": "/s", "id": "2"}',
        "[1, 2]",
    ]
    Path("events.jsonl").write_text("\n".join(lines) + "\n")
    result = project.invoke("publish", "orders", "--file", "events.jsonl")
    assert result.exit_code == ExitCode.FAILURE
    assert "line 2: not valid JSON" in result.stderr
    assert "line 4: not a valid event" in result.stderr
    assert "'source' is required" in result.stderr
    assert "line 6: not a valid event: expected a JSON object" in result.stderr
    assert "published 2 event(s) to bus 'orders' (3 of 5 failed)" in result.stdout
    assert [event["id"] for event in asyncio.run(kept(project.store, "orders"))] == ["1", "2"]


def test_publish_from_stdin(project: Project) -> None:
    text = "".join(f'{{"type": "a", "source": "/s", "id": "{i}"}}\n' for i in range(1200))
    result = project.invoke("publish", "orders", "-f", "-", "--batch-size", "500", input=text)
    assert result.exit_code == 0, result.output
    assert len(asyncio.run(kept(project.store, "orders"))) == 1200


def test_publish_refuses_a_memory_store(project: Project) -> None:
    result = project.invoke("publish", "orders", "--type", "a", "--source", "s", "--store",
                            "memory://")  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert "memory://, which lives inside one process" in result.output


def test_publish_needs_an_event(project: Project) -> None:
    result = project.invoke("publish", "orders", "--type", "a")
    assert result.exit_code == ExitCode.USAGE
    assert "give --type and --source" in result.output


def test_publish_refuses_store_and_url_together(project: Project) -> None:
    result = project.invoke("publish", "orders", "--type", "a", "--source", "s",
                            "--store", project.store, "--url", "http://x")  # fmt: skip
    assert result.exit_code == ExitCode.USAGE


def test_publish_through_a_gateway_reports_refused_entries_by_line(project: Project) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == "k1"
        entries = [
            {"event_id": "g-1"},
            {"error_code": "InvalidEvent", "error_message": "no thanks"},
        ]
        return httpx.Response(200, json={"failed_entry_count": 1, "entries": entries})

    Path("events.jsonl").write_text(
        '{"type": "a", "source": "/s"}\n{"type": "b", "source": "/s"}\n'
    )
    with respx.mock(base_url="https://gateway.test") as gateway:
        gateway.post("/buses/orders/events").mock(side_effect=answer)
        result = project.invoke("publish", "orders", "-f", "events.jsonl", "--url",
                                "https://gateway.test", "--api-key", "k1", "--json")  # fmt: skip
    assert result.exit_code == ExitCode.FAILURE
    outcome = orjson.loads(result.stdout)
    assert outcome["ids"] == ["g-1"]
    assert outcome["failed"] == [{"line": 2, "error": "InvalidEvent: no thanks"}]


async def positions(store_url: str, bus: str) -> tuple[dict[int, int], int | None]:
    store = open_store(store_url)
    await store.open()
    try:
        return await store.committed(bus, "default"), (await store.stats(bus, "default")).pending
    finally:
        await store.close()


# -- status -------------------------------------------------------------------------------------


async def publish_direct(store: str, bus: str, count: int, **attributes: str) -> None:
    bridge = EventBridge(store)
    bridge.bus(bus)
    kind = {"type": "order.created", "source": "/s", **attributes}
    await bridge.publish(bus, [Event(**kind) for _ in range(count)])  # type: ignore[arg-type]
    await bridge.stop()


def test_status_shows_buses_and_targets(project: Project) -> None:
    app = project.write_app()
    asyncio.run(publish_direct(project.store, "orders", 3))
    result = project.invoke("status", app)
    assert result.exit_code == 0, result.output
    assert "orders" in result.output
    assert "orders/big/notify" in result.output
    assert "dead-letters (dead letters)" in result.output


def test_status_json_has_the_lag_per_bus(project: Project) -> None:
    app = project.write_app()
    asyncio.run(publish_direct(project.store, "orders", 3))
    result = project.invoke("status", app, "--json")
    form = orjson.loads(result.stdout)
    orders = next(bus for bus in form["buses"] if bus["name"] == "orders")
    assert (orders["last_offset"], orders["pending"]) == (3, 3)
    assert [t["name"] for t in form["targets"]] == ["orders/big/notify", "orders/refused/refuse"]
    assert form["targets"][0]["dead_letters"] == 0


def test_status_without_an_app_reads_the_named_buses(project: Project) -> None:
    asyncio.run(publish_direct(project.store, "orders", 2))
    result = project.invoke("status", "--bus", "orders", "--json")
    assert result.exit_code == 0, result.output
    [orders, *_] = orjson.loads(result.stdout)["buses"]
    assert (orders["name"], orders["last_offset"]) == ("orders", 2)


def test_status_needs_an_app_or_buses(project: Project) -> None:
    result = project.invoke("status")
    assert result.exit_code == ExitCode.USAGE
    assert "give APP" in result.output


def test_status_of_a_missing_sqlite_file_fails_without_creating_it(project: Project) -> None:
    result = project.invoke("status", "--bus", "orders", "--store", "sqlite:///nothing.db")
    assert result.exit_code == ExitCode.FAILURE
    assert "does not exist" in result.output
    assert not Path("nothing.db").exists()


def test_status_of_a_memory_store_is_refused(project: Project) -> None:
    result = project.invoke("status", "--bus", "orders", "--store", "memory://")
    assert result.exit_code == ExitCode.USAGE
    assert "lives inside one process" in result.output


def test_a_misspelled_setting_is_a_usage_error_naming_it(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTBRIDGE_STOR", "memory://")
    result = project.invoke("status", "--bus", "orders")
    assert result.exit_code == ExitCode.USAGE
    assert "unknown setting EVENTBRIDGE_STOR" in result.output
    assert "did you mean EVENTBRIDGE_STORE?" in result.output


# -- tail ---------------------------------------------------------------------------------------


def test_tail_shows_events_without_touching_any_group(project: Project) -> None:
    asyncio.run(publish_direct(project.store, "orders", 2))
    asyncio.run(publish_direct(project.store, "orders", 1, type="order.paid", id="p-1"))
    result = project.invoke("tail", "orders", "--from-start", "--count", "1", "--json",
                            "--pattern", '{"type": ["order.paid"]}')  # fmt: skip
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["id"] == "p-1"
    assert asyncio.run(positions(project.store, "orders")) == ({}, 3)


def test_tail_lines_show_offset_type_and_data(project: Project) -> None:
    asyncio.run(publish_direct(project.store, "orders", 2))
    result = project.invoke("tail", "orders", "--from-start", "-n", "2")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2"]
    assert "order.created" in lines[0]


def test_tail_refuses_a_bad_bus_name(project: Project) -> None:
    result = project.invoke("tail", "no such bus")
    assert result.exit_code == ExitCode.USAGE


# -- check --------------------------------------------------------------------------------------

WARNED = """
from eventbridge_sdk import Event, EventBridge

bridge = EventBridge()
orders = bridge.bus("orders")
orders.rule("orphan", pattern={{"type": ["x"]}})


@orders.rule("paid", pattern={{"type": ["order.paid"]}})
async def ship(event: Event) -> None: ...
"""

BROKEN = """
from eventbridge_sdk import Event, EventBridge

bridge = EventBridge()


@bridge.bus("orders").rule("paid").target(reply_to="shipments")
async def ship(event: Event) -> None: ...
"""


def test_check_prints_the_topology(project: Project) -> None:
    result = project.invoke("check", project.write_app())
    assert result.exit_code == 0, result.output
    for part in ("bus orders", "rule big", '{"type":["order.created"]', "target notify",
                 "retry exponential x10", "dead letters -> dead-letters"):  # fmt: skip
        assert part in result.output


def test_check_warns_about_a_rule_without_target_and_an_unread_dead_letter_bus(
    project: Project,
) -> None:
    app = project.write_app(WARNED)
    result = project.invoke("check", app)
    assert result.exit_code == 0
    assert "rule orders/orphan has no target" in result.output
    assert "dead-letter bus 'dead-letters' has no rule with a target" in result.output
    assert project.invoke("check", app, "--strict").exit_code == ExitCode.FAILURE


def test_check_fails_on_an_error_and_says_it_in_json(project: Project) -> None:
    result = project.invoke("check", project.write_app(BROKEN), "--json")
    assert result.exit_code == ExitCode.FAILURE
    [error] = orjson.loads(result.stdout)["errors"]
    assert "replies to bus 'shipments', which is not declared" in error


# -- run (in this process: the refusals) --------------------------------------------------------


def test_run_refuses_workers_on_a_memory_store(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTBRIDGE_STORE", "memory://")
    result = project.invoke("run", project.write_app(), "--workers", "2")
    assert result.exit_code == ExitCode.USAGE
    assert "memory://, which lives inside one process" in result.output


def test_run_refuses_zero_workers(project: Project) -> None:
    assert project.invoke("run", "a:b", "--workers", "0").exit_code == ExitCode.USAGE
