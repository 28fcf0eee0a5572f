"""Every example runs and does what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(name: str, tmp_path: Path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_delivers_to_both_rules_on_sqlite(tmp_path: Path) -> None:
    out = run_example("quickstart.py", tmp_path)
    # A sync handler prints from a pool thread, so lines may interleave: look for each one.
    for line in (
        "notify_sales: order 1 totals 250",
        "print_invoice: invoice for order 1",
        "thank_customer: thanks for order 1",
    ):
        assert out.count(line) == 1, out
    assert "order 2" not in out
    assert (tmp_path / ".eventbridge" / "events.db").exists()


def test_quickstart_runs_again_without_redelivering(tmp_path: Path) -> None:
    run_example("quickstart.py", tmp_path)
    out = run_example("quickstart.py", tmp_path)
    assert out.count("order 1") == 3, out


def test_typed_handlers_example_transforms_validates_and_replies(tmp_path: Path) -> None:
    out = run_example("typed_handlers.py", tmp_path)
    assert "chat: Ada paid 250.00 EUR" in out
    assert "plan_shipment: order 1042 for Ada, 250.00 EUR" in out
    assert "ship: order 1042 (reply from /orders/paid)" in out
