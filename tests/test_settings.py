"""Settings from the environment and .env, and overriding the container's components."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from eventbridge_sdk import ConfigurationError, Event, EventBridge, EventBridgeError, Settings
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
    with pytest.raises(ConfigurationError, match="buffer_size"):
        Settings()


def test_an_invalid_value_is_a_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__BUFFER_SIZE", "many")
    with pytest.raises(ConfigurationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert isinstance(caught.value, EventBridgeError)
    assert not isinstance(caught.value, ValidationError)
    message = str(caught.value)
    assert "EVENTBRIDGE_RUNTIME__BUFFER_SIZE (setting runtime.buffer_size) = 'many'" in message
    assert "valid integer" in message


def test_an_invalid_value_in_code_is_a_configuration_error_too() -> None:
    with pytest.raises(ConfigurationError, match="EVENTBRIDGE_GROUP"):
        Settings(group="no spaces allowed", _env_file=None)  # type: ignore[call-arg]


def test_a_bad_mapping_value_names_its_variable_and_hides_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTBRIDGE_GATEWAY__API_KEYS", '{"secret-key": []}')
    with pytest.raises(ConfigurationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "EVENTBRIDGE_GATEWAY__API_KEYS (setting gateway.api_keys)" in str(caught.value)
    assert "secret-key" not in str(caught.value)


def test_an_unknown_variable_names_the_closest_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME__BUFER_SIZE", "5")
    with pytest.raises(ConfigurationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(caught.value)
    assert "unknown setting EVENTBRIDGE_RUNTIME__BUFER_SIZE in the environment" in message
    assert "did you mean EVENTBRIDGE_RUNTIME__BUFFER_SIZE?" in message


def test_an_unknown_variable_unlike_any_setting_lists_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTBRIDGE_ZZZZZZZZZZZZZZZZZZ", "1")
    with pytest.raises(ConfigurationError, match="the settings are EVENTBRIDGE_DELIVERY, "):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_an_unknown_dotenv_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OTHER_APP=1\nEVENTBRIDGE_GROPU=billing\n")
    with pytest.raises(ConfigurationError) as caught:
        Settings()
    assert "unknown setting EVENTBRIDGE_GROPU in the .env file '.env'" in str(caught.value)
    assert "did you mean EVENTBRIDGE_GROUP?" in str(caught.value)


def test_the_test_suite_switches_are_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_REQUIRE_SERVICES", "1")
    monkeypatch.setenv("EVENTBRIDGE_TEST_REDIS", "redis://localhost:6379/0")
    assert Settings(_env_file=None).group == "default"  # type: ignore[call-arg]


def test_every_nested_setting_is_a_known_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTBRIDGE_DELIVERY__MAX_ATTEMPTS", "3")
    monkeypatch.setenv("EVENTBRIDGE_RUNTIME", '{"fetch_batch": 9}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.delivery.max_attempts, settings.runtime.fetch_batch) == (3, 9)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:/x.db", "lacks the '//' after 'sqlite:'; write sqlite:///relative/path.db or"),
        ("sqlite://x.db", "puts 'x.db' where a host goes"),
        ("sqlite://data/x.db", "write sqlite:///data/x.db (relative to the working directory)"),
        ("sqlite:///", "names no file"),
        ("events.db", "has no scheme"),
        ("redis:/localhost", "lacks the '//' after 'redis:'"),
    ],
)
def test_store_urls_that_mislead_are_refused_with_the_right_forms(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("EVENTBRIDGE_STORE", url)
    with pytest.raises(ConfigurationError, match="EVENTBRIDGE_STORE") as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "sqlite:////tmp/x.db?synchronous=FULL", "memory://", "custom://a"]
)
def test_store_urls_in_the_right_forms_are_kept(url: str) -> None:
    assert Settings(store=url, _env_file=None).store == url  # type: ignore[call-arg]


def test_settings_passed_in_code_still_work() -> None:
    settings = Settings(store="memory://", group="billing", runtime={"buffer_size": 7})  # type: ignore[arg-type]
    bridge = EventBridge(settings=settings)
    assert (bridge.settings.group, bridge.settings.runtime.buffer_size) == ("billing", 7)


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


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://x.db", "where a host goes"),
        ("sqlite:/x.db", "lacks the '//'"),
        ("x.db", "has no scheme"),
    ],
)
def test_a_store_url_passed_in_code_is_checked_too(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        EventBridge(url)
    assert f"EventBridge({url!r})" in str(caught.value)
