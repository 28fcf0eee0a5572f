"""Naming rules for buses, rules and targets."""

from __future__ import annotations

import re

from ._errors import InvalidNameError

__all__ = ["MAX_NAME_LENGTH", "check_name"]

MAX_NAME_LENGTH = 127
_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")


def check_name(kind: str, name: object, where: str = "") -> str:
    """Return ``name`` if it is a valid bus, rule or target name; raise :class:`InvalidNameError`.

    ``kind`` ("bus", "rule", "target") and ``where`` (the owner, e.g. ``bus 'orders'``) only
    shape the message.
    """
    owner = f" in {where}" if where else ""
    if not isinstance(name, str):
        raise InvalidNameError(f"{kind} name{owner} must be a string, got {name!r}")
    if not name:
        raise InvalidNameError(f"{kind} name{owner} must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"{kind} name {name[:40]!r}...{owner} is {len(name)} characters long; "
            f"the limit is {MAX_NAME_LENGTH}"
        )
    if not _NAME.match(name):
        bad = sorted({ch for ch in name if not _NAME.match(ch)})
        raise InvalidNameError(
            f"{kind} name {name!r}{owner} contains {''.join(bad)!r}; use letters, digits, "
            "'.', '_' and '-'"
        )
    return name
