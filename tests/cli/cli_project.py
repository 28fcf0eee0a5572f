"""What the command-line tests share: an application module in a temporary folder, its SQLite
store, and the command run through click's runner."""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from eventbridge_sdk._cli import cli

APP = """
from eventbridge_sdk import DeadLetter, Event, EventBridge

bridge = EventBridge()
orders = bridge.bus("orders")


@orders.rule(
    "big",
    pattern={{"type": ["order.created"], "data": {{"total": [{{"numeric": [">=", 100]}}]}}}},
)
async def notify(event: Event) -> None:
    with open({out!r}, "a") as seen:
        seen.write(event.id + "\\n")


@orders.rule("refused", pattern={{"type": ["order.refused"]}})
async def refuse(event: Event) -> None:
    raise DeadLetter("refused by the test")
"""


@dataclass
class Project:
    """A folder with an application module and the store URL it uses."""

    folder: Path
    store: str
    out: Path
    runner: CliRunner

    def write_app(self, source: str = APP) -> str:
        """Write an application module; return its app string."""
        name = f"app_{uuid.uuid4().hex[:12]}"
        text = textwrap.dedent(source).format(out=str(self.out))
        (self.folder / f"{name}.py").write_text(text)
        return f"{name}:bridge"

    def seen(self) -> list[str]:
        """The event ids the application's handler wrote, in order."""
        if not self.out.exists():
            return []
        return self.out.read_text().split()

    def seen_lines(self) -> list[str]:
        """The lines the application's handler wrote."""
        return self.out.read_text().splitlines() if self.out.exists() else []

    def invoke(self, *args: str, input: str | None = None) -> Result:
        """Run the command line in this process."""
        return self.runner.invoke(cli, list(args), input=input, catch_exceptions=False)
