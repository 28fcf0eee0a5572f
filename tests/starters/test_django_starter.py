"""The Django starter through Django's test client, and ``eventbridge_worker`` in a process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HERE = Path(__file__).parent

if not settings.configured:
    from django_site import settings as site

    settings.configure(**{name: getattr(site, name) for name in dir(site) if name.isupper()})
    django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django_site.shop.eventbridge import RECEIVED  # noqa: E402
from eventbridge_django import get_bridge, start_runtime, stop_runtime  # noqa: E402
from eventbridge_django._conf import read_config  # noqa: E402

from eventbridge_sdk import Event, EventBridge  # noqa: E402
from eventbridge_sdk.http import to_binary  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _runtime() -> Iterator[None]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    start_runtime()
    yield
    assert stop_runtime(10)


def received(kind: str, data: object, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while (kind, data) not in RECEIVED:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def post(path: str, body: dict[str, Any]) -> Any:
    return Client().post(path, json.dumps(body), content_type="application/json")


def test_a_sync_view_publishes_and_the_discovered_rule_delivers() -> None:
    answer = post("/orders/sync", {"order": 1})
    assert answer.status_code == 202
    assert received("order.created", {"order": 1}), RECEIVED


def test_an_async_view_publishes() -> None:
    answer = post("/orders/async", {"order": 2})
    assert answer.status_code == 202
    assert received("order.created", {"order": 2}), RECEIVED


def test_publish_on_commit_publishes_after_the_commit_and_not_after_a_rollback() -> None:
    assert post("/orders/on-commit", {"order": 3, "rollback": True}).status_code == 409
    assert post("/orders/on-commit", {"order": 4}).status_code == 201
    assert received("order.created", {"order": 4}), RECEIVED
    # Events are delivered in order: the rolled-back one would have come before.
    assert ("order.created", {"order": 3, "rollback": True}) not in RECEIVED


def test_a_model_signal_publishes_once_the_save_commits() -> None:
    answer = post("/orders/model", {"total": 250})
    assert answer.status_code == 201
    assert received("order.saved", {"id": answer.json()["id"]}), RECEIVED


def test_the_gateway_view_stores_events_and_refuses_bad_ones() -> None:
    headers, body = to_binary(Event(type="order.created", source="/shop/partner", data={"n": 5}))
    client = Client()
    answer = client.post(
        "/eventbridge/buses/orders/events",
        body,
        content_type=headers.pop("content-type"),
        headers=headers,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["failed_entry_count"] == 0
    assert received("order.created", {"n": 5}), RECEIVED
    unknown = client.post(
        "/eventbridge/buses/nope/events", body, content_type="application/json", headers=headers
    )
    assert unknown.status_code == 404
    assert unknown["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "UnknownBus"
    assert client.get("/eventbridge/buses/orders/events").status_code == 405


def test_health_views_report_the_running_runtime() -> None:
    client = Client()
    live = client.get("/eventbridge/health/live")
    ready = client.get("/eventbridge/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200, ready.content
    body = ready.json()
    assert body["running"] is True
    assert [runner["name"] for runner in body["runners"]] == ["orders/all/record"]


def test_the_metrics_view_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import eventbridge_sdk.telemetry as telemetry

    monkeypatch.setattr(telemetry, "_installed", lambda module: module != "prometheus_client")
    answer = Client().get("/eventbridge/metrics")
    assert answer.status_code == 404
    assert b"eventbridge-sdk[prometheus]" in answer.content


def test_the_metrics_view_serves_the_prometheus_text_format() -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider

    assert Client().get("/eventbridge/metrics").status_code == 404  # none exported yet
    meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
    try:
        meter_provider.get_meter("shop").create_counter("orders_seen").add(3)
        answer = Client().get("/eventbridge/metrics")
    finally:
        meter_provider.shutdown()  # takes the reader out of the default registry
    assert answer.status_code == 200
    assert answer["content-type"].startswith("text/plain; version=0.0.4")
    assert b"orders_seen_total" in answer.content


# -- settings.EVENTBRIDGE --------------------------------------------------------------------


def test_settings_map_onto_the_sdk_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__FETCH_BATCH", "42")
    config = read_config(
        {
            "STORE": "memory://",
            "GROUP": "shop",
            "WORKER_NAME": "web-1",
            "API_KEYS": {"KEY": ["orders"]},
            "RUNTIME": {"BUFFER_SIZE": 5000},
            "DELIVERY": {"MAX_ATTEMPTS": 3, "DEAD_LETTER": "failed"},
            "START_RUNTIME": False,
        }
    )
    assert config.settings is not None
    assert config.settings.store == "memory://"
    assert config.settings.group == "shop"
    assert config.settings.worker_name == "web-1"
    assert config.settings.gateway.api_keys == {"KEY": ["orders"]}
    assert config.settings.runtime.buffer_size == 5000
    assert config.settings.runtime.fetch_batch == 42  # the environment fills in the rest
    assert config.settings.delivery.dead_letter == "failed"
    assert config.start_runtime is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"STOER": "memory://"}, "['STOER']: unknown setting; did you mean 'STORE'?"),
        ({"RUNTIME": {"BUFER_SIZE": 1}}, "['RUNTIME']['BUFER_SIZE']: unknown setting; did you"),
        ({"RUNTIME": {"BUFFER_SIZE": 0}}, "['RUNTIME']['BUFFER_SIZE']: Input should be greater"),
        ({"GROUP": "no spaces"}, "['GROUP']: String should match pattern"),
        ({"STORE": "sqlite://events.db"}, "settings.EVENTBRIDGE['STORE']"),
        ({"STORE": "postgres://db/x"}, "['STORE']: store URL 'postgres://db/x': no store is"),
        ({"API_KEYS": {"KEY": []}}, "['API_KEYS']: Value error, an API key needs the buses"),
        ({"START_RUNTIME": "yes"}, "['START_RUNTIME']: expected bool, got 'yes'"),
        ({"BRIDGE": "shop.events:bridge", "STORE": "memory://"}, "would not apply to it"),
        ([("STORE", "memory://")], "settings.EVENTBRIDGE must be a dict"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(raw: object, message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        read_config(raw)
    assert message in str(raised.value)


def test_a_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_STORE", "kafka://broker:9092")
    with pytest.raises(ImproperlyConfigured, match=r"^EVENTBRIDGE_STORE: store URL 'kafka://"):
        read_config({})
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__BUFFER_SIZE", "-1")
    with pytest.raises(ImproperlyConfigured, match=r"EVENTBRIDGE_RUNTIME__BUFFER_SIZE"):
        read_config({"STORE": "memory://"})


def test_the_project_bridge_is_made_once_from_the_settings() -> None:
    bridge = get_bridge()
    assert bridge is get_bridge()
    assert isinstance(bridge, EventBridge)
    assert "orders" in bridge.buses


def manage(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "django", *args, "--settings", "django_site.settings"]
    command += ["--pythonpath", str(HERE)]
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(command, env=environ, text=True, **kwargs)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SITE_EVENTBRIDGE": '{"STOER": "memory://"}'}, "settings.EVENTBRIDGE['STOER']: unknown"),
        ({"SITE_EVENTBRIDGE": '{"STORE": "sqlite:/x.db"}'}, "settings.EVENTBRIDGE['STORE']"),
        (
            {"SITE_EVENTBRIDGE": '{"BRIDGE": "myproject.events:bridge"}'},
            "settings.EVENTBRIDGE['BRIDGE'] = 'myproject.events:bridge': module "
            "'myproject.events' not found",
        ),
        ({"SITE_EVENTBRIDGE": "{}", "EVENTBRIDGE_STORE": "kafka://k:9092"}, "EVENTBRIDGE_STORE"),
    ],
)
def test_manage_py_refuses_to_start_on_a_bad_setting(env: dict[str, str], message: str) -> None:
    process = manage("check", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "ImproperlyConfigured" in err
    assert message in err.splitlines()[-1], err


def test_eventbridge_worker_delivers_from_the_sqlite_store_and_drains_on_sigterm(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path}/events.db"
    log, out = tmp_path / "events.log", tmp_path / "worker.out"
    env = {"SITE_EVENTBRIDGE": json.dumps({"STORE": store}), "SITE_EVENTS_LOG": str(log)}
    with out.open("w") as sink:
        worker = manage("eventbridge_worker", env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        publisher = EventBridge(store)
        publisher.bus("orders")
        events = [Event(type="order.created", source="/shop/web", data={"n": n}) for n in range(5)]

        async def publish() -> None:
            await publisher.publish("orders", events)
            await publisher.stop()

        asyncio.run(publish())
        deadline = time.monotonic() + 30
        while not all(e.id in (log.read_text() if log.exists() else "") for e in events):
            assert time.monotonic() < deadline, out.read_text()
            assert worker.poll() is None, out.read_text()
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, out.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    output = out.read_text()
    assert "eventbridge worker" in output
    assert "stopped; everything in flight drained" in output
