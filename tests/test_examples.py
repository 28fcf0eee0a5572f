"""Every example runs and does what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import services

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


def test_http_edge_example_publishes_through_the_gateway_to_a_signed_webhook(
    tmp_path: Path,
) -> None:
    out = run_example("http_edge.py", tmp_path)
    assert "gateway: 3 events stored, 0 failed" in out
    assert out.count("crm: answering 503 once") == 1
    # Both paid orders arrive transformed and verified; the created order matches no rule.
    assert "crm: order.paid {'order': 1, 'amount': 10}" in out
    assert "crm: order.paid {'order': 2, 'amount': 20}" in out
    assert out.count("signature ok") == 2
    assert out.rstrip().endswith("done")


@pytest.mark.parametrize("store", ["sqlite", "redis", "nats"])
def test_worker_example_handles_what_another_process_publishes(store: str, tmp_path: Path) -> None:
    import signal
    import time

    url = {
        "sqlite": lambda: f"sqlite:///{tmp_path}/worker.db",
        "redis": services.redis_url,
        "nats": services.nats_url,
    }[store]()
    env = {**os.environ, "EVENTBRIDGE_STORE": url}
    out = tmp_path / "worker.out"
    with out.open("w") as sink:
        worker = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "worker.py")],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        published = subprocess.run(
            [sys.executable, str(EXAMPLES / "worker.py"), "publish", "3"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert published.stdout.strip() == "published 3 orders", published.stderr
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and out.read_text().count(": order ") < 3:
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, out.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
        if store == "redis":
            services.delete_redis_keys(url)
    log = out.read_text()
    for n, total in ((1, 10.0), (2, 20.0), (3, 30.0)):
        assert f"order {n} totals {total}" in log, log
    assert "started on" in log
    assert "stop requested by a signal" in log


def test_retries_example_retries_dead_letters_and_replays(tmp_path: Path) -> None:
    out = run_example("retries.py", tmp_path)
    assert out.count("charge: charged o-1") == 1, out
    assert "dead letter: o-2 failed in orders/paid/charge after 1 attempt(s) (dead-letter)" in out
    assert "replayed 1 dead letter(s)" in out
    assert out.count("charge: charged o-2") == 1, out
    assert "status: 2 charged, 2 retries, 1 dead-lettered, 0 dead letters left" in out
