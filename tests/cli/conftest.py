"""The ``project`` fixture of the command-line tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_project import Project
from click.testing import CliRunner


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path}/events.db"
    monkeypatch.setenv("EVENTBRIDGE_STORE", store)
    path, modules = list(sys.path), set(sys.modules)
    # Wide enough that no line of the output wraps, however long the temporary path is.
    runner = CliRunner(env={"COLUMNS": "400"})
    yield Project(tmp_path, store, tmp_path / "seen.txt", runner)
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith("app_"):
            del sys.modules[name]
