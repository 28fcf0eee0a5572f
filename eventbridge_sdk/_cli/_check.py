"""``eventbridge check``: load an application, validate it, print its topology."""

from __future__ import annotations

from typing import Any

import click
import orjson
from rich.tree import Tree

from .._app import EventBridge
from .._declarations import Target
from ._common import APP_DIR, ExitCode, console, emit_json, load_bridge, reported

__all__ = ["COMMANDS", "check", "topology"]


@click.command()
@click.argument("app")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option("--json", "as_json", is_flag=True, help="Print the topology and findings as JSON.")
@APP_DIR
def check(app: str, strict: bool, as_json: bool, app_dir: str) -> None:
    """Load APP (MODULE:ATTRIBUTE), validate every declaration and print the topology: buses,
    their rules (patterns) and targets (transform, delivery policy, dead letters).

    Warns about a rule with no target, a bus no rule reads, and a dead-letter bus that no
    rule reads (its dead letters wait for `eventbridge dead-letters`). Nothing is started and
    the store is not opened.

    \b
    Exit codes: 0 valid (warnings allowed unless --strict); 1 errors (or warnings with
    --strict); 2 the app string or the configuration is wrong.

    \b
    Examples:
      eventbridge check app:bridge
      eventbridge check app:bridge --strict --json
    """
    bridge = load_bridge(app, app_dir)
    form = topology(bridge)
    errors: list[str] = form["errors"]
    warnings: list[str] = form["warnings"]
    if as_json:
        emit_json(form)
    else:
        out = console()
        out.print(_tree(form))
        for warning in warnings:
            out.print(f"[yellow]warning:[/yellow] {warning}")
        for error in errors:
            out.print(f"[red]error:[/red] {error}")
        verdict = "errors" if errors else "warnings" if warnings else "ok"
        out.print(f"{app}: {verdict} ({len(errors)} error(s), {len(warnings)} warning(s))")
    failed = bool(errors) or (strict and bool(warnings))
    raise SystemExit(ExitCode.FAILURE if failed else ExitCode.OK)


def topology(bridge: EventBridge) -> dict[str, Any]:
    """The declarations of ``bridge`` as JSON-ready data, with errors and warnings.

    Example::

        form = topology(bridge)
        assert not form["errors"], form["errors"]
    """
    errors: list[str] = []
    warnings: list[str] = []
    try:
        bridge._check_reply_buses()
    except Exception as exc:
        errors.append(str(exc))
    with reported():
        dead_letter_buses = bridge.dead_letter_buses()
    forwarded = {
        getattr(t.sink, "bus", None) for t in bridge.targets() if getattr(t.sink, "local", False)
    } | {t.reply_to for t in bridge.targets()}
    buses = []
    for bus in bridge.buses.values():
        rules = []
        for rule in bus.rules.values():
            if not rule.targets:
                warnings.append(
                    f"rule {bus.name}/{rule.name} has no target: the events it matches go "
                    "nowhere; add one with @rule.target()"
                )
            targets = []
            for target in rule.targets.values():
                try:
                    targets.append(_target(bridge, target))
                except Exception as exc:
                    errors.append(f"target {target.full_name}: {exc}")
            rules.append(
                {
                    "name": rule.name,
                    "pattern": rule.pattern.source,
                    "description": rule.description,
                    "targets": targets,
                }
            )
        if not bus.rules and bus.name not in dead_letter_buses and bus.name not in forwarded:
            warnings.append(
                f"bus {bus.name!r} has no rule: events published to it are kept and never delivered"
            )
        buses.append(
            {"name": bus.name, "dead_letter_bus": bus.name in dead_letter_buses, "rules": rules}
        )
    for name in dead_letter_buses:
        bus_ = bridge.buses.get(name)
        if bus_ is None or not any(rule.targets for rule in bus_.rules.values()):
            warnings.append(
                f"dead-letter bus {name!r} has no rule with a target: its dead letters wait "
                "unread; inspect them with 'eventbridge dead-letters list', or declare a rule "
                f"on bridge.bus({name!r}) to be told of them"
            )
            if bus_ is None:
                buses.append({"name": name, "dead_letter_bus": True, "rules": []})
    return {
        "store": bridge.settings.store,
        "group": bridge.settings.group,
        "buses": buses,
        "errors": errors,
        "warnings": warnings,
    }


def _target(bridge: EventBridge, target: Target) -> dict[str, Any]:
    policy = bridge.delivery_policy(target)
    retry = policy.retry
    if target.handler is not None:
        handler = target.handler
        kind = f"handler {handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"
    else:
        kind = f"sink {target.sink!r}"
    return {
        "name": target.name,
        "kind": kind,
        "transform": repr(target.transform) if target.transform is not None else None,
        "concurrency": target.concurrency or bridge.settings.runtime.target_concurrency,
        "rate_limit": target.rate_limit,
        "reply_to": target.reply_to,
        "retry": {
            "max_attempts": retry.max_attempts,
            "backoff": retry.backoff,
            "initial_delay": retry.initial_delay,
            "max_delay": retry.max_delay,
            "max_event_age": retry.max_event_age,
        },
        "dead_letter": policy.dead_letter,
        "tolerance": policy.tolerance,
    }


def _json(value: Any) -> str:
    return orjson.dumps(value).decode().replace("[", "\\[")  # "[" opens rich markup


def _tree(form: dict[str, Any]) -> Tree:
    root = Tree(f"store {form['store']}, group {form['group']!r}")
    for bus in form["buses"]:
        label = f"bus [bold]{bus['name']}[/bold]" + (
            " (dead letters)" if bus["dead_letter_bus"] else ""
        )
        node = root.add(label)
        for rule in bus["rules"]:
            rule_node = node.add(
                f"rule [bold]{rule['name']}[/bold]  pattern {_json(rule['pattern'])}"
            )
            for t in rule["targets"]:
                retry = t["retry"]
                details = [
                    t["kind"],
                    f"retry {retry['backoff']} x{retry['max_attempts']}",
                    f"dead letters -> {t['dead_letter'] or 'dropped'}",
                    f"tolerance {t['tolerance']}",
                    f"concurrency {t['concurrency']}",
                ]
                if t["transform"]:
                    details.append(f"transform {t['transform']}")
                if t["reply_to"]:
                    details.append(f"replies to {t['reply_to']}")
                if t["rate_limit"]:
                    details.append(f"rate limit {t['rate_limit']}/s")
                rule_node.add(f"target [bold]{t['name']}[/bold]: " + "; ".join(details))
    return root


COMMANDS = [check]
