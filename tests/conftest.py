from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import services


@pytest.fixture(scope="session", autouse=True)
def _clean_servers() -> Iterator[None]:
    """Delete what the tests made on the NATS server (Redis keys go with each test)."""
    yield
    services.delete_namespaces()


@pytest.fixture(autouse=True)
def _quiet_handler_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="eventbridge_sdk")
