"""What the commands share: exit codes, loading an application, stores, output."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import Awaitable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import click
import orjson
from rich.console import Console

from .._app import EventBridge
from .._errors import ConfigurationError, EventBridgeError
from .._settings import Settings, check_store_url

__all__ = [
    "APP_DIR",
    "ConfigError",
    "ExitCode",
    "Failure",
    "console",
    "emit_json",
    "json_argument",
    "load_bridge",
    "reported",
    "run_async",
    "shared_store_url",
]

T = TypeVar("T")


class ExitCode(IntEnum):
    """The exit codes scripts can rely on."""

    OK = 0
    FAILURE = 1
    """The operation failed: events not published, a worker died, a check found errors."""
    USAGE = 2
    """A bad option or argument, app string, setting or store URL (click's own code too)."""
    NO_MATCH = 3
    """``test-pattern``: the event does not match the pattern."""


class Failure(click.ClickException):
    """The operation failed (exit code 1)."""

    exit_code = ExitCode.FAILURE


class ConfigError(click.ClickException):
    """The configuration is wrong: a setting, a store URL, an app string (exit code 2)."""

    exit_code = ExitCode.USAGE


APP_DIR = click.option(
    "--app-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to import the application's module from (put first on sys.path).",
)


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Turn the library's errors into the command line's: configuration 2, the rest 1."""
    try:
        yield
    except ConfigurationError as exc:
        raise ConfigError(str(exc)) from None
    except (EventBridgeError, LookupError, OSError) as exc:
        raise Failure(str(exc)) from None


def run_async(awaitable: Awaitable[T]) -> T:
    """Run a coroutine of a command to its end, with the library's errors reported."""

    async def main() -> T:
        return await awaitable

    with reported():
        return asyncio.run(main())


def load_bridge(app: str, app_dir: str = ".") -> EventBridge:
    """Import ``module:attribute`` (an attribute path may be dotted) and return the
    :class:`EventBridge` it names, like uvicorn's app strings.

    Example::

        bridge = load_bridge("myapp.events:bridge")
    """
    module_name, colon, attribute = app.partition(":")
    if not colon or not module_name or not attribute:
        raise click.BadParameter(
            f"{app!r} is not an app string; write MODULE:ATTRIBUTE, e.g. app:bridge for the "
            "variable bridge of app.py",
            param_hint="'APP'",
        )
    folder = str(Path(app_dir).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise click.BadParameter(
                f"no module named {exc.name!r} (looked in {folder} and on sys.path); run the "
                "command from the application's folder or pass --app-dir",
                param_hint="'APP'",
            ) from None
        raise Failure(f"importing module {module_name!r} failed: {exc}") from None
    except ConfigurationError as exc:
        raise ConfigError(f"importing module {module_name!r}: {exc}") from None
    except Exception as exc:
        raise Failure(
            f"importing module {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from None
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            bridges = [name for name, v in vars(module).items() if isinstance(v, EventBridge)]
            hint = (
                f"; it has these EventBridge objects: {', '.join(bridges)}"
                if bridges
                else "; it has no EventBridge object at the top level"
            )
            raise click.BadParameter(
                f"module {module_name!r} has no attribute {attribute!r}{hint}",
                param_hint="'APP'",
            )
        found = getattr(found, part)
    if not isinstance(found, EventBridge):
        raise click.BadParameter(
            f"{app!r} is a {type(found).__name__}, not an EventBridge; name the EventBridge "
            "object, e.g. app:bridge for bridge = EventBridge() in app.py",
            param_hint="'APP'",
        )
    return found


def shared_store_url(store: str | None, option: str = "--store") -> str:
    """The store URL a command reads from another process: ``store``, else the settings'.

    ``memory://`` is refused (it lives inside one process), and so is a SQLite file that does
    not exist (a command that looks at it would create an empty one).
    """
    with reported():
        url = store if store is not None else Settings().store
    where = option if store is not None else "EVENTBRIDGE_STORE"
    try:
        check_store_url(url)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        raise ConfigError(
            f"{where} is memory://, which lives inside one process: this command runs in its "
            "own process and would see an empty store. Name the store the application uses: "
            "its sqlite:/// file, or its redis:// or nats:// URL"
        )
    if scheme == "sqlite":
        parts = urlsplit(url)
        path = Path(unquote(parts.path)[1:])
        if not path.exists():
            raise Failure(
                f"no store at {url!r} (from {where}): the file {str(path.resolve())!r} does not "
                "exist; has the application run on it yet, and is it the store it uses?"
            )
    return url


def json_argument(text: str, what: str) -> Any:
    """Parse JSON given as text, as ``@path`` (a file) or as ``@-`` (standard input)."""
    source = f"{what} {text!r}"
    if text.startswith("@"):
        name = text[1:]
        source = f"{what} file {name!r}" if name != "-" else f"{what} from standard input"
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {name!r}: {exc.strerror}") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"{source} is not valid JSON: {exc}") from None


def console(*, stderr: bool = False) -> Console:
    """A rich console on standard output (or error); wide when it is not a terminal."""
    out = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out.width = max(out.width, int(os.environ.get("COLUMNS", "160")))
    return out


def emit_json(value: Any) -> None:
    """Print ``value`` as one line of JSON (times as RFC 3339 text)."""
    click.echo(orjson.dumps(value, default=str).decode())
