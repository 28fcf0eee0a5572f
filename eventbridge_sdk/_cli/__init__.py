"""The ``eventbridge`` command line, on click with rich for tables and progress.

Each module of this package holds one group of commands and lists them in ``COMMANDS``; a new
group of commands is one more module named in :data:`COMMAND_MODULES`.

Example::

    eventbridge run app:bridge --workers 4
    eventbridge publish orders --type order.created --source /shop --data '{"total": 250}'
    eventbridge status app:bridge --json
"""

from __future__ import annotations

import importlib

import click

from ._common import ExitCode

__all__ = ["COMMAND_MODULES", "ExitCode", "cli"]

COMMAND_MODULES = (
    "eventbridge_sdk._cli._run",
    "eventbridge_sdk._cli._publish",
    "eventbridge_sdk._cli._patterns",
    "eventbridge_sdk._cli._status",
    "eventbridge_sdk._cli._tail",
    "eventbridge_sdk._cli._dead_letters",
    "eventbridge_sdk._cli._replay",
    "eventbridge_sdk._cli._check",
)
"""The modules whose ``COMMANDS`` make up the command line."""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="eventbridge-sdk", prog_name="eventbridge")
def cli() -> None:
    """Run, feed and inspect an eventbridge-sdk application.

    \b
    Exit codes: 0 ok; 1 the operation failed (some events not published, a worker died, a
    check found errors); 2 usage or configuration error (a bad option, app string, setting or
    store URL); 3 test-pattern: the event does not match.

    \b
    Examples:
      eventbridge run app:bridge
      eventbridge status app:bridge --watch
      eventbridge test-pattern '{"type": ["order.created"]}' @event.json
    """


for _module in COMMAND_MODULES:
    for _command in importlib.import_module(_module).COMMANDS:
        cli.add_command(_command)
