"""Typed handler parameters: read once from the signature, filled per event."""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from eventbridge_sdk._errors import (
    ConfigurationError,
    DeliveryError,
    PayloadValidationError,
)
from eventbridge_sdk._event import Event
from eventbridge_sdk._handlers import HandlerSignature


class Order(BaseModel):
    id: int
    items: list[str] = []


@dataclasses.dataclass
class OrderRecord:
    id: int
    items: list[str]


class OrderDict(TypedDict):
    id: int
    items: list[str]


class Opaque:
    """A type pydantic cannot validate into."""


class Incomplete(BaseModel):
    part: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821


ORDER_EVENT = Event(
    type="order.created", source="/shop", id="e-1", data={"id": "7", "items": ["a"]}
)


def call(func: Any, event: Event = ORDER_EVENT) -> Any:
    args, kwargs = HandlerSignature.of(func).build_args(event)
    return func(*args, **kwargs)


def event_only(event: Event) -> Any:
    return event


def unannotated(event):  # type: ignore[no-untyped-def]
    return event


def nothing() -> Any:
    return "called"


def model(order: Order) -> Any:
    return order


def record(order: OrderRecord) -> Any:
    return order


def typed_dict(order: OrderDict) -> Any:
    return order


def plain_dict(order: dict[str, Any]) -> Any:
    return order


def anything(order: Any) -> Any:
    return order


def both(order: Order, event: Event) -> Any:
    return order, event


def event_first_keyword_data(event: Event, *, order: Order) -> Any:
    return order, event


def with_defaults(order: Order, retries: int = 3, note=None) -> Any:  # type: ignore[no-untyped-def]
    return order, retries, note


def after_gap(note: str = "-", event: Event | None = None) -> Any:
    return note, event


def optional_event(event: Event | None) -> Any:
    return event


def annotated_items(items: Annotated[list[str], Field(min_length=1)]) -> Any:
    return items


class Handlers:
    def method(self, order: Order) -> Any:
        return order


class AsyncCallable:
    async def __call__(self, order: Order) -> Any:
        return order


EXPECTED_ORDER = Order(id=7, items=["a"])


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        pytest.param(event_only, ORDER_EVENT, id="event"),
        pytest.param(unannotated, ORDER_EVENT, id="sole-unannotated-is-event"),
        pytest.param(nothing, "called", id="no-parameters"),
        pytest.param(model, EXPECTED_ORDER, id="pydantic-model"),
        pytest.param(record, OrderRecord(id=7, items=["a"]), id="dataclass"),
        pytest.param(typed_dict, {"id": 7, "items": ["a"]}, id="typed-dict"),
        pytest.param(plain_dict, {"id": "7", "items": ["a"]}, id="dict"),
        pytest.param(anything, {"id": "7", "items": ["a"]}, id="any"),
        pytest.param(both, (EXPECTED_ORDER, ORDER_EVENT), id="data-and-event"),
        pytest.param(
            event_first_keyword_data, (EXPECTED_ORDER, ORDER_EVENT), id="keyword-only-data"
        ),
        pytest.param(with_defaults, (EXPECTED_ORDER, 3, None), id="others-keep-defaults"),
        pytest.param(after_gap, ("-", ORDER_EVENT), id="event-after-a-default"),
        pytest.param(optional_event, ORDER_EVENT, id="optional-event"),
        pytest.param(Handlers().method, EXPECTED_ORDER, id="bound-method"),
        pytest.param(
            functools.partial(with_defaults, retries=5), (EXPECTED_ORDER, 5, None), id="partial"
        ),
    ],
)
def test_a_handler_gets_what_its_signature_asks_for(func: Any, expected: Any) -> None:
    assert call(func) == expected


@pytest.mark.parametrize(
    ("func", "event_parameter", "data_parameter", "is_async"),
    [
        pytest.param(event_only, "event", None, False, id="event"),
        pytest.param(nothing, None, None, False, id="nothing"),
        pytest.param(both, "event", "order", False, id="both"),
        pytest.param(AsyncCallable(), None, "order", True, id="async-callable-object"),
    ],
)
def test_the_signature_is_read_once_at_declaration(
    func: Any, event_parameter: str | None, data_parameter: str | None, is_async: bool
) -> None:
    signature = HandlerSignature.of(func)
    assert signature.event_parameter == event_parameter
    assert signature.data_parameter == data_parameter
    assert signature.is_async is is_async


async def test_an_async_handler_is_recognised_and_gets_its_data() -> None:
    async def on_order(order: dict[str, int], event: Event) -> Any:
        return order["id"], event.id

    signature = HandlerSignature.of(on_order)
    assert signature.is_async
    args, kwargs = signature.build_args(Event(type="t", source="s", id="e-5", data={"id": 1}))
    assert await on_order(*args, **kwargs) == (1, "e-5")


def test_annotated_constraints_are_enforced() -> None:
    assert call(annotated_items, Event(type="t", source="s", data=["x"])) == ["x"]
    with pytest.raises(PayloadValidationError, match="at least 1 item"):
        call(annotated_items, Event(type="t", source="s", data=[]))


@pytest.mark.parametrize(
    ("func", "data", "summary"),
    [
        pytest.param(
            model, {"id": "seven"}, "id: Input should be a valid integer", id="model-field"
        ),
        pytest.param(model, None, "(root): Input should be a valid dictionary", id="model-no-data"),
        pytest.param(
            model, {"id": 1, "items": [1]}, "items[0]: Input should be a valid string", id="nested"
        ),
        pytest.param(record, {"items": "x"}, "2 validation error(s)", id="dataclass"),
        pytest.param(
            typed_dict, {"id": "x", "items": [1, 2, 3]}, "; and 1 more", id="more-than-three-errors"
        ),
    ],
)
def test_data_that_does_not_validate_is_a_permanent_failure(
    func: Any, data: Any, summary: str
) -> None:
    event = Event(type="order.created", source="/shop", id="e-42", data=data)
    with pytest.raises(PayloadValidationError) as caught:
        call(func, event)
    message = str(caught.value)
    assert f"handler {__name__}.{func.__qualname__}" in message
    assert "parameter 'order'" in message
    assert "event 'e-42'" in message
    assert summary in message
    assert caught.value.retryable is False
    assert isinstance(caught.value, DeliveryError)
    assert isinstance(caught.value.__cause__, ValidationError)


def star_args(*events: Event) -> None: ...
def star_kwargs(event: Event, **extra: Any) -> None: ...
def two_data(order: Order, item: OrderDict) -> None: ...
def two_events(first: Event, second: Event) -> None: ...
def unannotated_pair(event, other) -> None: ...  # type: ignore[no-untyped-def]
def opaque(value: Opaque) -> None: ...
def incomplete(value: Incomplete) -> None: ...
def positional_gap(note: str = "-", event: Event | None = None, /) -> None: ...


@pytest.mark.parametrize(
    ("func", "message"),
    [
        pytest.param(star_args, "parameter '\\*events' is not supported", id="var-positional"),
        pytest.param(star_kwargs, "parameter '\\*\\*extra' is not supported", id="var-keyword"),
        pytest.param(two_data, "'order' and 'item' both ask for the data", id="two-data"),
        pytest.param(two_events, "'first' and 'second' both ask for the Event", id="two-events"),
        pytest.param(unannotated_pair, "parameter 'event' has no annotation", id="unannotated"),
        pytest.param(opaque, "parameter 'value': cannot validate data into Opaque", id="opaque"),
        pytest.param(
            incomplete,
            "parameter 'value': cannot validate data into Incomplete",
            id="incomplete-model",
        ),
        pytest.param(positional_gap, "positional-only parameter 'event'", id="positional-gap"),
    ],
)
def test_a_signature_we_cannot_fill_is_rejected_at_declaration(func: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        HandlerSignature.of(func)
    assert str(caught.value).startswith(f"handler {__name__}.{func.__qualname__}: ")


def test_a_type_defined_inside_a_function_cannot_be_resolved() -> None:
    class Local(BaseModel):
        id: int

    def handler(order: Local) -> None: ...

    with pytest.raises(ConfigurationError, match="cannot resolve its annotations .*'Local'"):
        HandlerSignature.of(handler)


def test_evaluated_annotations_work_as_well_as_postponed_ones() -> None:
    def handler(order, event):  # type: ignore[no-untyped-def]
        return order, event

    handler.__annotations__ = {"order": Order, "event": Event}
    assert call(handler) == (EXPECTED_ORDER, ORDER_EVENT)


def test_something_not_callable_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="must be callable"):
        HandlerSignature.of("not a function")  # type: ignore[arg-type]
