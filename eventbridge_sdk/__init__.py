"""eventbridge-sdk: an embeddable event bus for Python."""

from __future__ import annotations
