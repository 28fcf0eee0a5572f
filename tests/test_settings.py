"""Settings from the environment and .env, and overriding the container's components."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from eventbridge_sdk import Event, EventBridge, Settings
from eventbridge_sdk.stores import MemoryStore


def test_defaults_use_the_embedded_sqlite_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTBRIDGE_STORE", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.store == "sqlite:///.eventbridge/events.db"
    assert settings.runtime.buffer_size == 10_000


def test_environment_variables_with_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_STORE", "memory://")
    monkeypatch.setenv("EVENTBRIDGE_GROUP", "billing")
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__BUFFER_SIZE", "123")
    settings = Settings()
    assert (settings.store, settings.group, settings.runtime.buffer_size) == (
        "memory://",
        "billing",
        123,
    )


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVENTBRIDGE_STORE", raising=False)
    (tmp_path / ".env").write_text(
        "EVENTBRIDGE_STORE=memory://\nEVENTBRIDGE_RUNTIME__FETCH_BATCH=7\n"
    )
    settings = Settings()
    assert (settings.store, settings.runtime.fetch_batch) == ("memory://", 7)


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__BUFFER_SIZE", "0")
    with pytest.raises(ValidationError, match="buffer_size"):
        Settings()


def test_store_argument_wins_over_settings() -> None:
    bridge = EventBridge("memory://", settings=Settings(store="sqlite:///x.db"))
    assert bridge.settings.store == "memory://"


async def test_override_replaces_the_store() -> None:
    bridge = EventBridge("sqlite:///never/created.db")
    store = MemoryStore()
    got: list[str] = []

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> None:
        got.append(event.type)

    bridge.override(store=store)
    async with bridge:
        await bridge.publish("orders", Event(type="t", source="s"))
    assert got == ["t"]
    assert not Path("never").exists()
    assert store._logs["orders"].committed == {"default": 1}


async def test_override_of_the_function_sink_factory_is_undone_on_exit() -> None:
    bridge = EventBridge("memory://")
    calls: list[str] = []

    @bridge.bus("orders").rule("all")
    async def handler(event: Event) -> None:
        calls.append("real")

    from eventbridge_sdk import FunctionSink

    class Spy(FunctionSink):
        async def call(self, event: Event) -> object:
            calls.append("spy")
            return await super().call(event)

    with bridge.override(function_sink=Spy):
        async with bridge:
            await bridge.publish("orders", Event(type="t", source="s"))
    async with bridge:
        await bridge.publish("orders", Event(type="t", source="s"))
    assert calls == ["spy", "real", "real"]


def test_unknown_components_are_rejected() -> None:
    with pytest.raises(ValueError, match="cannot override \\['stroe'\\]"):
        EventBridge("memory://").override(stroe=MemoryStore())
