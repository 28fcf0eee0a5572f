"""JSONPATH: the value at one path, plain paths and library paths alike."""

from __future__ import annotations

from typing import Any

import pytest

from eventbridge_sdk._event import Event
from eventbridge_sdk.transforms import InvalidTransformError, JsonPath

DOCUMENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/shop",
    "type": "order.created",
    "time": "2026-01-31T12:00:00Z",
    "tenant": "acme",
    "data": {
        "order": {"id": 42, "lines": 2},
        "items": [
            {"sku": "A-1", "qty": 2, "tags": ["new"]},
            {"sku": "B-7", "qty": 1, "tags": []},
        ],
        "odd-key": "dash",
        "with space": "space",
        "it's": "quote",
        "größe": "XL",
        "note": None,
        "paid": False,
        "text": "hello",
        "matrix": [[1, 2], [3, 4]],
        "count": 0,
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("$", DOCUMENT, id="root"),
        pytest.param("$.id", "e-1", id="attribute"),
        pytest.param("$.tenant", "acme", id="extension"),
        pytest.param("$.time", "2026-01-31T12:00:00Z", id="time-as-text"),
        pytest.param("$.data", DOCUMENT["data"], id="whole-data"),
        pytest.param("$.data.order", {"id": 42, "lines": 2}, id="object"),
        pytest.param("$.data.order.id", 42, id="nested-number"),
        pytest.param("$.data.items[0].sku", "A-1", id="index-then-name"),
        pytest.param("$.data.items[1]", DOCUMENT["data"]["items"][1], id="index-object"),
        pytest.param("$.data.items[-1].sku", "B-7", id="negative-index"),
        pytest.param("$.data.items[0].tags", ["new"], id="array"),
        pytest.param("$.data.matrix[1][0]", 3, id="nested-indices"),
        pytest.param("$.data.odd-key", "dash", id="dash-in-name"),
        pytest.param("$.data['odd-key']", "dash", id="single-quoted-name"),
        pytest.param('$.data["with space"]', "space", id="double-quoted-name"),
        pytest.param("$['data'][ 'order' ]['id']", 42, id="brackets-only"),
        pytest.param(r"$.data['it\'s']", "quote", id="escaped-quote-via-library"),
        pytest.param("$.data.größe", "XL", id="unicode-name"),
        pytest.param("$.data.paid", False, id="false"),
        pytest.param("$.data.count", 0, id="zero"),
        pytest.param("$.data.note", None, id="null"),
    ],
)
def test_a_definite_path_gives_the_value_found(path: str, expected: Any) -> None:
    assert JsonPath(path).apply(DOCUMENT) == expected


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("$.nothing", id="missing-attribute"),
        pytest.param("$.data.order.missing", id="missing-name"),
        pytest.param("$.data.missing.deeper.still", id="missing-parent"),
        pytest.param("$.data.items[5].sku", id="index-out-of-range"),
        pytest.param("$.data.items[-3]", id="negative-index-out-of-range"),
        pytest.param("$.data.order[0]", id="index-on-object"),
        pytest.param("$.data.text[0]", id="index-on-string"),
        pytest.param("$.data.text.length", id="name-on-string"),
        pytest.param("$.data.items.sku", id="name-on-array"),
        pytest.param("$.data.count.x", id="name-on-number"),
        pytest.param("$.data.note.x", id="name-on-null"),
        pytest.param("$.data.note[0]", id="index-on-null"),
        pytest.param("$.data.items[0].tags[0].x.y", id="deep-on-string"),
        pytest.param("$.data['no such']", id="missing-quoted-name"),
    ],
)
def test_a_path_that_finds_nothing_gives_none(path: str) -> None:
    assert JsonPath(path).apply(DOCUMENT) is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("$.data.items[*].sku", ["A-1", "B-7"], id="wildcard"),
        pytest.param("$.data.items[?@.qty > 1].sku", ["A-1"], id="filter"),
        pytest.param("$.data.items[0:1].sku", ["A-1"], id="slice"),
        pytest.param("$..sku", ["A-1", "B-7"], id="descendants"),
        pytest.param("$.data.items[*].missing", [], id="wildcard-no-match"),
        pytest.param("$.data.order.*", [42, 2], id="object-wildcard"),
    ],
)
def test_a_path_that_can_select_many_nodes_gives_a_list(path: str, expected: Any) -> None:
    transform = JsonPath(path)
    assert not transform.definite
    assert transform.apply(DOCUMENT) == expected


def test_an_event_object_is_read_through_its_json_form() -> None:
    event = Event(type="order.created", source="/shop", id="e-9", data={"order": {"id": 7}})
    assert JsonPath("$.data.order.id").apply(event) == 7
    assert JsonPath("$.id").apply(event) == "e-9"
    assert JsonPath("$.time").apply(event) == event.to_dict()["time"]


def test_anything_else_than_an_event_is_refused() -> None:
    with pytest.raises(TypeError, match="not int"):
        JsonPath("$.id").apply(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("data.id", "starts with '\\$'", id="no-root"),
        pytest.param("", "starts with '\\$'", id="empty"),
        pytest.param("$.", "not a valid JSONPath", id="dangling-dot"),
        pytest.param("$.data[", "not a valid JSONPath", id="open-bracket"),
        pytest.param("$.data[?", "not a valid JSONPath", id="open-filter"),
        pytest.param(42, "is not a JSONPath", id="not-a-string"),
    ],
)
def test_an_invalid_path_is_rejected_at_declaration(path: Any, message: str) -> None:
    with pytest.raises(InvalidTransformError, match=message) as caught:
        JsonPath(path)
    assert "JSONPATH value" in str(caught.value)
    assert isinstance(caught.value, ValueError)
