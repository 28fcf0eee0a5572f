"""Store URL options shared by the broker stores: checked values, passwords kept out of errors."""

from __future__ import annotations

from urllib.parse import urlsplit

from .._errors import ConfigurationError

__all__ = ["redacted", "seconds", "whole"]


def redacted(url: str) -> str:
    """``url`` with its password shown as ``***`` (for error messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    hosts = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{hosts}").geturl()


def seconds(shown: str, options: dict[str, str], name: str, default: float, *, zero: bool) -> float:
    """Take option ``name`` of a store URL as seconds (more than 0, or 0 too when ``zero``)."""
    raw = options.pop(name, None)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value >= 0 if zero else value > 0) or value == float("inf"):
        raise ConfigurationError(
            f"store URL {shown!r}: option {name}={raw!r} is not valid: it must be a number of "
            f"seconds, {'0 or more' if zero else 'more than 0'}"
        )
    return value


def whole(shown: str, options: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """Take option ``name`` of a store URL as a whole number from ``low`` to ``high``."""
    raw = options.pop(name, None)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigurationError(
            f"store URL {shown!r}: option {name}={raw!r} is not valid: it must be a whole number "
            f"from {low:,} to {high:,}"
        )
    return int(raw)
