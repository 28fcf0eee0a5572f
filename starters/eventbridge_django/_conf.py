"""``settings.EVENTBRIDGE`` mapped onto the SDK's settings, checked at start-up.

Every key is checked: an unknown key, a value of the wrong type, a store URL no store takes, a
``BRIDGE`` that cannot be imported, each is refused with :class:`ImproperlyConfigured` naming the
Django setting (``EVENTBRIDGE["RUNTIME"]["BUFFER_SIZE"]``) or the environment variable
(``EVENTBRIDGE_STORE``) at fault.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, ValidationError, create_model

from eventbridge_sdk import ConfigurationError, EventBridge, Settings
from eventbridge_sdk.stores import open_store

__all__ = ["StarterConfig", "import_bridge", "read_config"]


def _fields() -> tuple[dict[str, str], dict[str, tuple[str, type[BaseModel]]]]:
    """The keys of ``settings.EVENTBRIDGE``: every setting of :class:`Settings`, upper-case;
    a nested model (``RUNTIME``, ``DELIVERY``, ...) is a dict of its own upper-case keys."""
    scalars: dict[str, str] = {}
    sections: dict[str, tuple[str, type[BaseModel]]] = {}
    for name, field in Settings.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            sections[name.upper()] = (name, kind)
        else:
            scalars[name.upper()] = name
    return scalars, sections


_SCALARS, _SECTIONS = _fields()
_STARTER = ("BRIDGE", "START_RUNTIME", "AUTODISCOVER", "HEALTH_TIMEOUT")
KNOWN_KEYS = (*_SCALARS, "API_KEYS", *_SECTIONS, *_STARTER)


@dataclass(frozen=True, slots=True)
class StarterConfig:
    """What ``settings.EVENTBRIDGE`` asks for, checked."""

    settings: Settings | None
    """The SDK's settings; ``None`` when ``BRIDGE`` names a bridge made elsewhere."""
    bridge: str | None
    """``"module:attribute"`` of the project's own bridge, or ``None``: the starter makes it."""
    start_runtime: bool
    """Whether the ASGI lifespan runs the push runtime in the web process."""
    autodiscover: bool
    """Whether the ``eventbridge`` module of every installed app is imported at start-up."""
    health_timeout: float
    """Seconds the readiness view waits for the store."""


def _setting(*path: str) -> str:
    return "settings.EVENTBRIDGE" + "".join(f"[{key!r}]" for key in path)


def _unknown(key: str, known: tuple[str, ...], *where: str) -> ImproperlyConfigured:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ImproperlyConfigured(
        f"{_setting(*where, key)}: unknown setting{hint} Known keys: {', '.join(known)}"
    )


def read_config(raw: object) -> StarterConfig:
    """Check ``settings.EVENTBRIDGE`` (``raw``) and build the SDK's settings from it.

    Keys not given come from ``EVENTBRIDGE_*`` environment variables, then the defaults.

    Example::

        config = read_config({"STORE": "sqlite:///var/events.db", "GROUP": "shop"})
        config.settings.store  # 'sqlite:///var/events.db'
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(
            f"settings.EVENTBRIDGE must be a dict, like {{'STORE': 'sqlite:///events.db'}}; "
            f"got {type(raw).__name__}"
        )
    for key in raw:
        if key not in KNOWN_KEYS:
            raise _unknown(str(key), KNOWN_KEYS)
    start_runtime = _typed(raw, "START_RUNTIME", bool, True)
    autodiscover = _typed(raw, "AUTODISCOVER", bool, True)
    health_timeout = float(_typed(raw, "HEALTH_TIMEOUT", (int, float), 5.0))
    if health_timeout <= 0:
        raise ImproperlyConfigured(f"{_setting('HEALTH_TIMEOUT')}: must be over 0 seconds")
    bridge = _typed(raw, "BRIDGE", str, None)
    if bridge is not None:
        given = sorted(key for key in raw if key not in _STARTER)
        if given:
            raise ImproperlyConfigured(
                f"{_setting('BRIDGE')} names a bridge made elsewhere, so "
                f"{', '.join(_setting(key) for key in given)} would not apply to it: give "
                "the bridge its settings where it is created, or drop BRIDGE"
            )
        return StarterConfig(None, bridge, start_runtime, autodiscover, health_timeout)
    return StarterConfig(_settings(raw), None, start_runtime, autodiscover, health_timeout)


def _typed(raw: Mapping[str, Any], key: str, kind: Any, default: Any) -> Any:
    if key not in raw:
        return default
    value = raw[key]
    if kind is bool:
        fits = isinstance(value, bool)
    else:
        fits = isinstance(value, kind) and not isinstance(value, bool)
    if not fits:
        expected = kind.__name__ if isinstance(kind, type) else "a number"
        raise ImproperlyConfigured(f"{_setting(key)}: expected {expected}, got {value!r}")
    return value


def _settings(raw: Mapping[str, Any]) -> Settings:
    values: dict[str, Any] = {_SCALARS[key]: raw[key] for key in _SCALARS if key in raw}
    for key, (field, model) in _SECTIONS.items():
        if key not in raw:
            continue
        section = raw[key]
        if not isinstance(section, Mapping):
            raise ImproperlyConfigured(
                f"{_setting(key)}: expected a dict of {model.__name__} options, got {section!r}"
            )
        known = tuple(name.upper() for name in model.model_fields)
        for name in section:
            if str(name).upper() not in known:
                raise _unknown(str(name), known, key)
        values[field] = {str(name).lower(): value for name, value in section.items()}
    if "API_KEYS" in raw:
        gateway = values.setdefault("gateway", {})
        if "api_keys" in gateway:
            raise ImproperlyConfigured(
                f"{_setting('API_KEYS')} and {_setting('GATEWAY', 'API_KEYS')} are both "
                "given; keep one"
            )
        gateway["api_keys"] = raw["API_KEYS"]
    _validate_alone(values, raw)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise ImproperlyConfigured(_explain(exc, raw)) from None
    except ConfigurationError as exc:
        raise ImproperlyConfigured(_name_django_settings(str(exc), raw)) from None
    check_store(settings.store, _setting("STORE") if "STORE" in raw else "EVENTBRIDGE_STORE")
    return settings


def _validate_alone(values: dict[str, Any], raw: Mapping[str, Any]) -> None:
    """Check the values ``settings.EVENTBRIDGE`` gives before the environment is merged in,
    so that a bad one is named as the Django setting that gave it."""
    scalars = {name: values[name] for name in _SCALARS.values() if name in values}
    try:
        _Scalars.model_validate(scalars)
    except ValidationError as exc:
        raise ImproperlyConfigured(_explain(exc, raw)) from None
    for field, model in _SECTIONS.values():
        if field in values:
            try:
                model.model_validate(values[field])
            except ValidationError as exc:
                raise ImproperlyConfigured(_explain(exc, raw, prefix=(field,))) from None


_Scalars = create_model(  # the plain settings, without the environment
    "EventBridgeScalars",
    **{
        name: (Settings.model_fields[name].annotation, Settings.model_fields[name])
        for name in _SCALARS.values()
    },  # type: ignore[call-overload]
)


def _name_django_settings(message: str, raw: Mapping[str, Any]) -> str:
    """Name the Django setting where the SDK's message names a setting given by Django."""

    def replace(match: re.Match[str]) -> str:
        where = _where(match.group(2).split("."), raw)
        return match.group(0) if where.startswith("environment") else where

    return re.sub(r"(EVENTBRIDGE_\w+) \(setting ([\w.]+)\)", replace, message)


def _explain(error: ValidationError, raw: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    problems = []
    for item in error.errors():
        loc = [*prefix, *(str(part) for part in item["loc"])]
        shown = "(hidden)" if "api_keys" in loc else repr(item.get("input"))
        problems.append(f"{_where(loc, raw)}: {item['msg']} (got {shown})")
    return "; ".join(problems)


def _where(loc: list[str], raw: Mapping[str, Any]) -> str:
    """The Django setting that gave the value at ``loc``, else its environment variable."""
    if loc[:2] == ["gateway", "api_keys"] and "API_KEYS" in raw:
        return _setting("API_KEYS")
    top = {field: key for key, field in _SCALARS.items()}
    top.update({field: key for key, (field, _) in _SECTIONS.items()})
    key = top.get(loc[0]) if loc else None
    if key is not None and key in raw:
        section = raw[key]
        if len(loc) == 1 or not isinstance(section, Mapping):
            return _setting(key)
        names = {str(name).lower(): str(name) for name in section}
        if loc[1] in names:
            return _setting(key, names[loc[1]])
    return "environment variable EVENTBRIDGE_" + "__".join(loc[:2]).upper()


def check_store(url: str, where: str) -> None:
    """Refuse a store URL that no store takes, naming ``where`` it came from."""
    try:
        open_store(url)
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"{where}: {exc}") from None


def import_bridge(path: str) -> EventBridge:
    """Import the bridge ``path`` names (``"package.module:attribute"``)."""
    where = f"{_setting('BRIDGE')} = {path!r}"
    module_name, colon, attribute = path.partition(":")
    if not colon:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise ImproperlyConfigured(
            f"{where}: name the bridge as 'package.module:attribute', "
            "e.g. 'myproject.events:bridge'"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise ImproperlyConfigured(
                f"{where}: module {module_name!r} not found (no module named {exc.name!r}); "
                "check the dotted path and that its package is on sys.path"
            ) from None
        raise
    bridge = getattr(module, attribute, None)
    if bridge is None:
        raise ImproperlyConfigured(f"{where}: module {module_name!r} has no {attribute!r}")
    if not isinstance(bridge, EventBridge):
        raise ImproperlyConfigured(
            f"{where}: {attribute!r} is a {type(bridge).__name__}, not an EventBridge"
        )
    check_store(bridge.settings.store, f"the store of the bridge {path!r}")
    return bridge
