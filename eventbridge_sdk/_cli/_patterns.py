"""``eventbridge test-pattern``: AWS's test-event-pattern, with the explanation."""

from __future__ import annotations

import click

from .._errors import InvalidPatternError
from ..patterns import compile_pattern
from ._common import ExitCode, emit_json, json_argument

__all__ = ["COMMANDS", "test_pattern"]


@click.command("test-pattern")
@click.argument("pattern")
@click.argument("event")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def test_pattern(pattern: str, event: str, as_json: bool) -> None:
    """Tell whether EVENT matches PATTERN, and why not when it does not.

    PATTERN is an event pattern and EVENT an event in its CloudEvents JSON form (attributes
    and extensions at the top level, "data" as JSON); each is JSON text, @FILE, or @- for
    standard input.

    \b
    Exit codes: 0 it matches; 3 it does not match; 2 the pattern or the event is invalid.

    \b
    Examples:
      eventbridge test-pattern '{"type": ["order.created"]}' '{"type": "order.created"}'
      eventbridge test-pattern @rules/big-orders.json @event.json --json
    """
    form = json_argument(pattern, "the pattern")
    subject = json_argument(event, "the event")
    if not isinstance(subject, dict):
        raise click.BadParameter(
            f"the event must be a JSON object, got {type(subject).__name__}", param_hint="'EVENT'"
        )
    try:
        compiled = compile_pattern(form)
    except InvalidPatternError as exc:
        raise click.BadParameter(str(exc), param_hint="'PATTERN'") from None
    matched = compiled.matches(subject)
    if as_json:
        explanation = compiled.explain(subject)
        emit_json({"matched": matched, "reasons": list(explanation.reasons)})
    elif matched:
        click.echo("match")
    else:
        click.echo(str(compiled.explain(subject)))
    raise SystemExit(ExitCode.OK if matched else ExitCode.NO_MATCH)


COMMANDS = [test_pattern]
