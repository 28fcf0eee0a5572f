"""The event envelope: defaults, validation, JSON round trip, SDK conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eventbridge_sdk import Event, InvalidEventError


def test_defaults_id_time_and_specversion() -> None:
    before = datetime.now(UTC)
    event = Event(type="order.created", source="/shop")
    assert event.id
    assert event.specversion == "1.0"
    assert before <= event.time <= datetime.now(UTC)
    assert Event(type="t", source="s").id != event.id


def test_json_round_trip_keeps_everything() -> None:
    event = Event(
        type="order.created",
        source="/shop",
        subject="order/42",
        data={"total": 12.5, "items": ["a", "b"], "note": "naïve ✓"},
        datacontenttype="application/json",
        dataschema="https://example.com/order.json",
        time=datetime(2026, 1, 31, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        extensions={"tenant": "acme", "priority": 3, "urgent": True},
    )
    assert Event.from_json(event.to_json()) == event


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("form", "extensions"),
    [
        ({"traceparent": TRACEPARENT}, {"traceparent": TRACEPARENT}),
        (
            {"traceparent": TRACEPARENT, "tenant": "acme", "data": {"a": 1}},
            {"traceparent": TRACEPARENT, "tenant": "acme"},
        ),
        ({"subject": None, "traceparent": TRACEPARENT}, {"traceparent": TRACEPARENT}),
        ({"time": None, "subject": None}, {}),
        ({"subject": None, "tenant": "acme"}, {"tenant": "acme"}),
        ({"data_base64": "AA==", "priority": 3}, {"priority": 3}),
    ],
)
def test_an_event_read_back_keeps_exactly_its_extensions(
    form: dict[str, object], extensions: dict[str, object]
) -> None:
    base = {"specversion": "1.0", "id": "1", "source": "s", "type": "t"}
    assert Event._from_trusted({**base, **form}).extensions == extensions


def test_json_form_puts_extensions_at_the_top_level() -> None:
    event = Event(
        type="t",
        source="s",
        id="1",
        time="2026-01-01T00:00:00Z",
        data={"a": 1},
        extensions={"tenant": "acme"},
    )
    assert event.to_dict() == {
        "specversion": "1.0",
        "id": "1",
        "source": "s",
        "type": "t",
        "time": "2026-01-01T00:00:00Z",
        "tenant": "acme",
        "data": {"a": 1},
    }


def test_binary_data_travels_as_base64() -> None:
    event = Event(type="t", source="s", data=b"\x00\xff", datacontenttype="image/png")
    form = event.to_dict()
    assert form["data_base64"] == "AP8="
    assert "data" not in form
    assert Event.from_dict(form).data == b"\x00\xff"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "s"}, "type"),
        ({"type": "t"}, "source"),
        ({"type": "", "source": "s"}, "'type' is required"),
        ({"type": "t", "source": 5}, "'source' is required"),
        ({"type": "t", "source": "s", "id": ""}, "'id' must be a non-empty string"),
        ({"type": "t", "source": "s", "specversion": "0.3"}, "specversion '0.3'"),
        ({"type": "t", "source": "s", "subject": 7}, "'subject' must be a string"),
        ({"type": "t", "source": "s", "time": "yesterday"}, "not an RFC 3339"),
        ({"type": "t", "source": "s", "time": datetime(2026, 1, 1)}, "no time zone"),
        ({"type": "t", "source": "s", "extensions": {"Tenant": "x"}}, "extension name 'Tenant'"),
        ({"type": "t", "source": "s", "extensions": {"a-b": "x"}}, "extension name 'a-b'"),
        ({"type": "t", "source": "s", "extensions": {"x" * 21: "x"}}, "1-20 lowercase"),
        ({"type": "t", "source": "s", "extensions": {"subject": "x"}}, "is a CloudEvents attr"),
        ({"type": "t", "source": "s", "extensions": {"tags": ["x"]}}, "string, integer or bool"),
    ],
)
def test_invalid_events_are_rejected_with_the_attribute_named(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises((InvalidEventError, TypeError), match=message):
        Event(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"id": "1", "type": "t", "source": "s"}, "'specversion' is required"),
        ({"specversion": "1.0", "id": "1", "source": "s"}, "'type' is required"),
        (
            {
                "specversion": "1.0",
                "id": "1",
                "type": "t",
                "source": "s",
                "data": 1,
                "data_base64": "AA==",
            },
            "both 'data' and 'data_base64'",
        ),
        (
            {"specversion": "1.0", "id": "1", "type": "t", "source": "s", "data_base64": "%%%"},
            "not valid base64",
        ),
        (
            {"specversion": "1.0", "id": "1", "type": "t", "source": "s", "Bad": 1},
            "extension name 'Bad'",
        ),
    ],
)
def test_invalid_json_forms_are_rejected(form: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        Event.from_dict(form)


def test_from_json_rejects_malformed_json() -> None:
    with pytest.raises(InvalidEventError, match="not valid JSON"):
        Event.from_json(b"{nope")


def test_unencodable_data_is_a_clear_error() -> None:
    event = Event(type="t", source="s", data={"when": object()})
    with pytest.raises(InvalidEventError, match="cannot be encoded as JSON"):
        event.to_json()


def test_replace_validates_and_keeps_the_rest() -> None:
    event = Event(type="t", source="s", data={"a": 1})
    changed = event.replace(type="t2")
    assert (changed.type, changed.id, changed.data) == ("t2", event.id, {"a": 1})
    with pytest.raises(InvalidEventError):
        event.replace(type="")


def test_converts_to_and_from_the_cloudevents_sdk() -> None:
    from cloudevents.core.v1.event import CloudEvent

    event = Event(type="t", source="s", subject="x", data={"a": 1}, extensions={"tenant": "acme"})
    sdk_event = event.to_cloudevent()
    assert isinstance(sdk_event, CloudEvent)
    assert sdk_event.get_extension("tenant") == "acme"
    assert Event.from_cloudevent(sdk_event) == event


def test_from_cloudevent_rejects_other_objects() -> None:
    with pytest.raises(InvalidEventError, match="expected a cloudevents SDK event"):
        Event.from_cloudevent(object())


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 5, 6, 7, 123, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 3, 9, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_json_and_dict_forms_write_time_alike(when: datetime) -> None:
    import orjson

    event = Event(type="t", source="s", time=when)
    assert orjson.loads(event.to_json())["time"] == event.to_dict()["time"]
    assert Event.from_json(event.to_json()).time == when


def test_default_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    ids = {Event(type="t", source="s").id for _ in range(10_000)}
    assert len(ids) == 10_000
    assert {uuid.UUID(i).version for i in ids} == {4}
    assert {uuid.UUID(i).variant for i in ids} == {uuid.RFC_4122}


def test_a_forked_child_draws_ids_of_its_own() -> None:
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(write, Event(type="t", source="s").id.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 100).decode()
    os.close(read)
    parent = Event(type="t", source="s").id
    # Same process: ids share their random part; a child's random part is its own.
    assert child[:19] != parent[:19]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"total": float("nan")}, "data.total is nan"),
        ({"items": [1.0, {"price": float("inf")}]}, r"data.items\[1\].price is inf"),
        (float("-inf"), "data is -inf"),
        ({"nested": __import__("collections").OrderedDict(x=float("nan"))}, "data.nested.x"),
    ],
)
def test_non_finite_numbers_are_rejected_not_turned_into_null(data: object, where: str) -> None:
    with pytest.raises(InvalidEventError, match=where):
        Event(type="t", source="s", data=data).to_json()


def test_a_pydantic_model_as_data_travels_as_its_json_dump() -> None:
    from pydantic import BaseModel

    class Order(BaseModel):
        order: int
        when: datetime

    event = Event(type="t", source="s", data=Order(order=1, when=datetime(2026, 1, 1, tzinfo=UTC)))
    assert Event.from_json(event.to_json()).data == {"order": 1, "when": "2026-01-01T00:00:00Z"}


def test_non_finite_numbers_inside_models_and_dataclasses_are_rejected() -> None:
    from dataclasses import dataclass

    from pydantic import BaseModel

    class Model(BaseModel):
        x: float

    @dataclass
    class Point:
        y: float

    for data, where in (
        (Model(x=float("nan")), "data.x is nan"),
        ({"p": Point(y=float("inf"))}, "data.p.y is inf"),
    ):
        with pytest.raises(InvalidEventError, match=where):
            Event(type="t", source="s", data=data).to_json()
