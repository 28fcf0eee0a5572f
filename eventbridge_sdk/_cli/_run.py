"""``eventbridge run``: the push runtime of an application, in one process or several."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import click

from ._common import APP_DIR, ConfigError, ExitCode, load_bridge, reported

__all__ = ["COMMANDS", "run", "supervise"]


@click.command()
@click.argument("app")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes to start (not for memory://).",
)
@APP_DIR
@click.option(
    "--reload",
    is_flag=True,
    help="Development: restart the worker when a .py file under --app-dir changes "
    "(needs watchfiles).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def run(app: str, workers: int, app_dir: str, reload: bool, log_level: str) -> None:
    """Run the push runtime of APP (MODULE:ATTRIBUTE naming an EventBridge) until SIGINT or
    SIGTERM, then drain: what was read is delivered (within runtime.stop_timeout) and committed.

    With --workers N a supervisor starts N worker processes, forwards SIGINT and SIGTERM to
    them and reports a worker that dies. On redis:// and nats:// the workers share every bus
    at the same time; on a SQLite file one process reads each bus at a time and the others
    stand by to take over; memory:// lives in one process and is refused.

    \b
    Exit codes: 0 stopped and drained; 1 stopped before everything drained (it is delivered
    again on the next start) or a worker died; 2 a bad app string or configuration.

    \b
    Examples:
      eventbridge run app:bridge
      EVENTBRIDGE_STORE=redis://localhost:6379/0 eventbridge run app:bridge --workers 4
      eventbridge run services.events:bridge --app-dir src
      eventbridge run app:bridge --reload
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    bridge = load_bridge(app, app_dir)
    if reload:
        if workers > 1:
            raise click.UsageError("--reload runs one worker; leave out --workers")
        command = _worker_command(app, app_dir, log_level)
        raise SystemExit(watch_and_restart(command, Path(app_dir).resolve()))
    if workers == 1:
        with reported():
            drained = bridge.run()
        if not drained:
            click.echo(
                "eventbridge: stopped before everything drained; the rest is delivered again "
                "on the next start",
                err=True,
            )
        raise SystemExit(ExitCode.OK if drained else ExitCode.FAILURE)
    scheme = urlsplit(bridge.settings.store).scheme
    if scheme == "memory":
        raise ConfigError(
            f"--workers {workers}: the store is memory://, which lives inside one process; "
            "worker processes would each have a store of their own and never see each other's "
            "events. Use one worker, a SQLite file (sqlite:///path.db), or redis:// or nats://"
        )
    if scheme == "sqlite":
        click.echo(
            f"eventbridge: {workers} workers share the SQLite file {bridge.settings.store}: all "
            "of them publish, but for each bus one process reads at a time and the others stand "
            "by to take over; use redis:// or nats:// to share a bus's work",
            err=True,
        )
    command = _worker_command(app, app_dir, log_level)
    name = os.environ.get("EVENTBRIDGE_WORKER_NAME")
    environments = [
        {**os.environ, **({"EVENTBRIDGE_WORKER_NAME": f"{name}-{index}"} if name else {})}
        for index in range(1, workers + 1)
    ]
    raise SystemExit(supervise(command, environments))


def _worker_command(app: str, app_dir: str, log_level: str) -> list[str]:
    folder = str(Path(app_dir).resolve())
    return [sys.executable, "-m", "eventbridge_sdk", "run", app, "--app-dir", folder,
            "--log-level", log_level]  # fmt: skip


def watch_and_restart(command: list[str], folder: Path) -> int:
    """Run ``command`` and start it again whenever a ``.py`` file under ``folder`` changes,
    until SIGINT or SIGTERM (forwarded to it); return its last exit code.

    Example::

        code = watch_and_restart([sys.executable, "-m", "eventbridge_sdk", "run", "app:bridge"],
                                 Path("."))
    """
    try:
        from watchfiles import PythonFilter, watch
    except ImportError:
        raise ConfigError("--reload needs watchfiles: pip install watchfiles") from None
    stop = threading.Event()
    process = subprocess.Popen(command)

    def forward(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for changes in watch(folder, watch_filter=PythonFilter(), stop_event=stop):
            names = ", ".join(sorted({Path(path).name for _, path in changes}))
            click.echo(f"eventbridge: {names} changed; restarting the worker", err=True)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait()
            process = subprocess.Popen(command)
        code = process.wait()
        return code if code >= 0 else ExitCode.FAILURE
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def supervise(command: list[str], environments: list[dict[str, str]]) -> int:
    """Start one process of ``command`` per environment, forward SIGINT and SIGTERM to them,
    report each that exits before it was asked to, and wait for all; return the exit code.

    Example::

        code = supervise([sys.executable, "-m", "eventbridge_sdk", "run", "app:bridge"],
                         [dict(os.environ)] * 4)
    """
    processes: dict[int, tuple[int, subprocess.Popen[bytes]]] = {}
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for _, process in processes.values():
            if process.returncode is None:
                process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed = 0
    try:
        for index, environment in enumerate(environments, 1):
            if stopping:
                break
            process = subprocess.Popen(command, env=environment)
            processes[process.pid] = (index, process)
            click.echo(f"eventbridge: started worker {index} (pid {process.pid})", err=True)
        running = dict(processes)
        while running:
            # Wakes when a worker exits; a signal meanwhile runs `forward` and the wait goes on.
            pid, status = os.wait()
            if pid not in running:
                continue
            index, process = running.pop(pid)
            code = process.returncode = os.waitstatus_to_exitcode(status)
            if stopping and code == 0:
                continue
            failed += 1
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            when = "while stopping" if stopping else "unasked"
            click.echo(
                f"eventbridge: worker {index} (pid {pid}) {how} {when}; "
                f"{len(running)} worker(s) still running",
                err=True,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return ExitCode.FAILURE if failed else ExitCode.OK


COMMANDS = [run]
