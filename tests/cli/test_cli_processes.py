"""The command line as real processes: ``eventbridge run`` receives what ``eventbridge publish``
appends and drains on SIGTERM; the supervisor of ``--workers`` reports a worker that died."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from cli_project import Project

pytestmark = pytest.mark.slow

SLOW_APP = """
import asyncio

from eventbridge_sdk import Event, EventBridge

bridge = EventBridge()


@bridge.bus("orders").rule("all")
async def record(event: Event) -> None:
    with open({out!r}, "a") as seen:
        seen.write(f"begin {{event.id}}\\n")
    await asyncio.sleep(0.02)
    with open({out!r}, "a") as seen:
        seen.write(f"end {{event.id}}\\n")
"""


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


class Processes:
    """The command-line processes a test starts, each stopped at the end if still running."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        folder = self.project.folder
        with (folder / f"{log}.out").open("wb") as out, (folder / f"{log}.err").open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "eventbridge_sdk", *args],
                cwd=folder,
                env={**os.environ, "EVENTBRIDGE_STORE": self.project.store},
                stdout=out,
                stderr=err,
            )
        self.started.append(process)
        return process

    def call(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "eventbridge_sdk", *args],
            cwd=self.project.folder,
            env={**os.environ, "EVENTBRIDGE_STORE": self.project.store},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def log(self, name: str) -> str:
        return (self.project.folder / name).read_text()


@pytest.fixture
def processes(project: Project) -> Iterator[Processes]:
    started = Processes(project)
    yield started
    for process in started.started:
        if process.poll() is None:
            process.kill()
            process.wait()


def publish_file(project: Project, processes: Processes, count: int) -> list[str]:
    ids = [f"e-{i}" for i in range(count)]
    lines = [orjson.dumps({"type": "t", "source": "/test", "id": i}).decode() for i in ids]
    (project.folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    done = processes.call("publish", "orders", "--file", "events.jsonl")
    assert done.returncode == 0, done.stderr
    assert f"published {count} event(s)" in done.stdout
    return ids


def marks(project: Project, kind: str) -> list[str]:
    return [line.split()[1] for line in project.seen_lines() if line.startswith(kind)]


def test_run_delivers_what_publish_appends_and_drains_on_sigterm(
    project: Project, processes: Processes
) -> None:
    app = project.write_app(SLOW_APP)
    first = processes.start("run", app, log="run1")
    wait_for(lambda: "started on" in processes.log("run1.err"), "the worker to start")
    ids = publish_file(project, processes, 60)
    wait_for(lambda: marks(project, "begin"), "the first delivery")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0, processes.log("run1.err")
    # Every delivery that began ended: the stop drained its work rather than cut it.
    assert sorted(marks(project, "begin")) == sorted(marks(project, "end"))

    # What the first run had not read is delivered by the next one.
    second = processes.start("run", app, log="run2")
    wait_for(lambda: "started on" in processes.log("run2.err"), "the worker to start again")
    wait_for(lambda: set(marks(project, "end")) == set(ids), "every event to be delivered")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0, processes.log("run2.err")
    assert sorted(marks(project, "begin")) == sorted(marks(project, "end"))


def test_workers_on_sqlite_are_supervised_and_a_dead_one_is_reported(
    project: Project, processes: Processes
) -> None:
    app = project.write_app(SLOW_APP)
    supervisor = processes.start("run", app, "--workers", "2", log="sup")
    wait_for(lambda: processes.log("sup.err").count("started on") == 2, "both workers")
    log = processes.log("sup.err")
    assert "for each bus one process reads at a time" in log
    pids = dict(re.findall(r"started worker (\d) \(pid (\d+)\)", log))
    os.kill(int(pids["2"]), signal.SIGKILL)
    wait_for(
        lambda: f"worker 2 (pid {pids['2']}) was killed by signal 9" in processes.log("sup.err"),
        "the supervisor to report the dead worker",
    )
    ids = publish_file(project, processes, 5)
    wait_for(lambda: set(marks(project, "end")) == set(ids), "the other worker to deliver")
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=60) == 1  # a worker died


def test_reload_restarts_the_worker_when_the_app_changes(
    project: Project, processes: Processes
) -> None:
    app = project.write_app(SLOW_APP)
    running = processes.start("run", app, "--reload", log="reload")
    wait_for(lambda: "started on" in processes.log("reload.err"), "the worker to start")
    module = project.folder / f"{app.partition(':')[0]}.py"
    module.write_text(module.read_text() + "\n# changed\n")
    wait_for(lambda: processes.log("reload.err").count("started on") == 2, "a restart")
    assert f"{module.name} changed; restarting the worker" in processes.log("reload.err")
    running.send_signal(signal.SIGTERM)
    assert running.wait(timeout=60) == 0


def test_tail_follows_new_events_live(project: Project, processes: Processes) -> None:
    publish_file(project, processes, 2)  # before the tail: not shown
    tail = processes.start("tail", "orders", "--json", log="tail")
    wait_for(lambda: "following bus 'orders' after offset 2" in processes.log("tail.err"), "tail")
    done = processes.call("publish", "orders", "--type", "late", "--source", "/s", "--id", "x")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: processes.log("tail.out"), "the tail to show the event")
    tail.send_signal(signal.SIGTERM)
    assert tail.wait(timeout=60) == 0
    [line] = processes.log("tail.out").splitlines()
    assert orjson.loads(line)["id"] == "x"


def test_status_watch_refreshes_until_interrupted(project: Project, processes: Processes) -> None:
    publish_file(project, processes, 1)
    watch = processes.start(
        "status", "--bus", "orders", "--watch", "--interval", "0.1", "--json", log="watch"
    )
    wait_for(lambda: len(processes.log("watch.out").splitlines()) >= 2, "two refreshes")
    watch.send_signal(signal.SIGINT)
    assert watch.wait(timeout=60) == 0
    first = orjson.loads(processes.log("watch.out").splitlines()[0])
    assert first["buses"][0]["last_offset"] == 1


def test_the_console_script_and_python_m_run(project: Project, processes: Processes) -> None:
    script = Path(sys.executable).parent / "eventbridge"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "eventbridge" in done.stdout
    assert processes.call("--help").returncode == 0
