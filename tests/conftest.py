from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
import services
from hypothesis import HealthCheck, settings

# Property tests: a quick default for a laptop; HYPOTHESIS_PROFILE=ci (as .ci/run sets) searches
# ten times deeper, on hypothesis's own CI settings (derandomized, no example database).
settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", parent=settings.get_profile("ci"), max_examples=600)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session", autouse=True)
def _clean_servers() -> Iterator[None]:
    """Delete what the tests made on the NATS server (Redis keys go with each test)."""
    yield
    services.delete_namespaces()


@pytest.fixture(autouse=True)
def _quiet_handler_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="eventbridge_sdk")
