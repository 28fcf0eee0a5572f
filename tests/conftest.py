from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _quiet_handler_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="eventbridge_sdk")
