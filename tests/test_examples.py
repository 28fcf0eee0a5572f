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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_and_order(command: list[str], tmp_path: Path, port: int, **env: str) -> str:
    """Start a web example, post two orders and a CloudEvent, wait for their deliveries, stop."""
    import signal
    import time

    import httpx

    from eventbridge_sdk import Event
    from eventbridge_sdk.http import to_binary

    out = tmp_path / "server.out"
    with out.open("w") as sink:
        server = subprocess.Popen(
            command,
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )

    def wait_for(text: str) -> None:
        deadline = time.monotonic() + 30
        while text not in out.read_text():
            assert server.poll() is None, out.read_text()
            assert time.monotonic() < deadline, f"no {text!r} in:\n{out.read_text()}"
            time.sleep(0.05)

    try:
        wait_for("Application startup complete")
        url = f"http://127.0.0.1:{port}"
        for order, total in ((1, 250), (2, 20)):
            answer = httpx.post(
                f"{url}/orders", json={"order": order, "customer": "ada", "total": total}
            )
            assert answer.status_code == 202, answer.text
        headers, body = to_binary(
            Event(
                type="order.created",
                source="/partner",
                data={"order": 3, "customer": "bob", "total": 5},
            )
        )
        answer = httpx.post(f"{url}/eventbridge/buses/orders/events", headers=headers, content=body)
        assert answer.status_code == 200, answer.text
        ready = httpx.get(f"{url}/eventbridge/health/ready")
        assert ready.status_code == 200, ready.text
        wait_for("warehouse: reserving stock for order 3 of bob")
        wait_for("sales webhook: big order 1 totals 250")
        wait_for("warehouse: reserving stock for order 2 of ada")
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert server.wait(60) in (0, -signal.SIGTERM), out.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = out.read_text()
    assert "Application shutdown complete" in log
    assert "warehouse: reserving stock for order 1 of ada" in log
    assert "big order 2" not in log  # 20 is not a big order
    return log


def test_fastapi_example_publishes_from_a_route_and_delivers_to_handler_and_webhook(
    tmp_path: Path,
) -> None:
    port = _free_port()
    command = [sys.executable, str(EXAMPLES / "fastapi_app" / "app.py")]
    _serve_and_order(command, tmp_path, port, PORT=str(port))
    assert (tmp_path / ".eventbridge" / "shop.db").exists()


def test_django_example_publishes_on_commit_and_delivers_to_handler_and_webhook(
    tmp_path: Path,
) -> None:
    port = _free_port()
    project = EXAMPLES / "django_project"
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(project)]
    command += ["shop_site.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    _serve_and_order(
        command,
        tmp_path,
        port,
        SALES_WEBHOOK_URL=f"http://127.0.0.1:{port}/hooks/sales",
        DJANGO_SETTINGS_MODULE="shop_site.settings",
    )
    assert (tmp_path / ".eventbridge" / "shop.db").exists()
