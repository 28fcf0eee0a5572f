"""The CloudEvents HTTP protocol binding (v1.0.2) and JSON format (v1.0.2): binary, structured
and batched mode, encoding and decoding, every rejection with its message, round trips, and
interoperability both ways with the independent ``cloudevents`` SDK 2.x."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from cloudevents.core.bindings import http as sdk_http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from eventbridge_sdk import Event
from eventbridge_sdk._errors import InvalidEventError
from eventbridge_sdk.http import (
    BATCH_CONTENT_TYPE,
    STRUCTURED_CONTENT_TYPE,
    UnsupportedContentTypeError,
    decode_http,
    from_http,
    to_batch,
    to_binary,
    to_structured,
)

# The example of the binding (CEH 3.1.3.2).
SPEC_TEXT = "Euro € 😀"
SPEC_ENCODED = "Euro%20%E2%82%AC%20%F0%9F%98%80"

# Printable ASCII (U+0021-U+007E) that a header carries as it is: all but '"' and '%'.
UNENCODED = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%']
CONTROL = [chr(c) for c in [*range(0x20), 0x7F]]

WHEN = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
TRICKY = 'a "quoted" 100% sure, 50%25 off, Euro € 😀 \U0010fffd \\ end'


def ce_headers(**changes: str | None) -> dict[str, str]:
    """Binary-mode headers of a minimal event, with some changed (``None`` removes one)."""
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/shop", "ce-type": "t"}
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


def decode_one(headers: Any, body: bytes = b"") -> Event:
    [event] = from_http(headers, body)
    return event


def error_of(headers: Any, body: bytes = b"") -> str:
    with pytest.raises(InvalidEventError) as caught:
        from_http(headers, body)
    return str(caught.value)


# -- 1. binary mode: encoding --------------------------------------------------------------


def test_binary_every_attribute_is_a_ce_header_and_content_type_carries_datacontenttype() -> None:
    event = Event(
        id="id-1",
        source="/shop",
        type="order.paid",
        subject="orders/7",
        dataschema="https://example.com/schema.json",
        time=WHEN,
        datacontenttype="application/vnd.shop+json",
        extensions={"tenant": "acme", "attempt": 3, "urgent": True, "muted": False},
        data={"order": 7},
    )
    headers, body = to_binary(event)
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "id-1",
        "ce-source": "/shop",
        "ce-type": "order.paid",
        "ce-subject": "orders/7",
        "ce-dataschema": "https://example.com/schema.json",
        "ce-time": "2026-03-01T12:30:45.123456Z",
        "ce-tenant": "acme",
        "ce-attempt": "3",
        "ce-urgent": "true",
        "ce-muted": "false",
        "content-type": "application/vnd.shop+json",
    }
    assert "ce-datacontenttype" not in {name.lower() for name in headers}
    assert json.loads(body) == {"order": 7}


def test_binary_leaves_out_absent_optional_attributes() -> None:
    event = Event(id="1", source="/s", type="t").replace(time=None)
    headers, body = to_binary(event)
    assert headers == {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
    assert body == b""


@pytest.mark.parametrize(
    ("data", "body"),
    [
        ({"a": 1, "b": [True, None]}, b'{"a":1,"b":[true,null]}'),
        ([1, "two", {"three": 3}], b'[1,"two",{"three":3}]'),
        ("hello", b'"hello"'),  # a JSON string is quoted
        ("", b'""'),
        ('say "hi"', b'"say \\"hi\\""'),
        (42, b"42"),
        (-1.5, b"-1.5"),
        (True, b"true"),
        (False, b"false"),
    ],
)
def test_binary_json_data_is_the_json_body(data: Any, body: bytes) -> None:
    headers, sent = to_binary(Event(source="/s", type="t", data=data))
    assert sent == body
    assert headers["content-type"] == "application/json"
    assert decode_one(headers, sent).data == data


def test_binary_json_string_with_explicit_json_type_is_quoted() -> None:
    headers, body = to_binary(
        Event(source="/s", type="t", data="x", datacontenttype="application/json; charset=utf-8")
    )
    assert body == b'"x"'
    assert headers["content-type"] == "application/json; charset=utf-8"


def test_binary_null_data_is_an_empty_body() -> None:
    headers, body = to_binary(Event(source="/s", type="t", data=None))
    assert body == b""
    assert "content-type" not in headers  # no data, no type
    event = decode_one(headers, body)
    assert event.data is None
    assert event.datacontenttype is None


def test_binary_null_data_with_a_json_type_is_an_empty_body_read_as_null() -> None:
    headers, body = to_binary(
        Event(source="/s", type="t", data=None, datacontenttype="application/json")
    )
    assert body == b""
    assert headers["content-type"] == "application/json"
    assert decode_one(headers, body).data is None


def test_binary_nan_in_data_is_refused() -> None:
    with pytest.raises(InvalidEventError, match=r"data\.x is nan"):
        to_binary(Event(source="/s", type="t", data={"x": float("nan")}))


def test_binary_bytes_go_as_octet_stream() -> None:
    raw = bytes(range(256))
    headers, body = to_binary(Event(source="/s", type="t", data=raw))
    assert body == raw
    assert headers["content-type"] == "application/octet-stream"
    event = decode_one(headers, body)
    assert event.data == raw
    assert event.datacontenttype == "application/octet-stream"


def test_binary_bytes_keep_their_declared_type() -> None:
    headers, body = to_binary(
        Event(source="/s", type="t", data=b"\x89PNG", datacontenttype="image/png")
    )
    assert (headers["content-type"], body) == ("image/png", b"\x89PNG")


def test_binary_text_plain_string_is_its_utf8_text() -> None:
    text = 'héllo € 😀 "quoted" 100%'
    headers, body = to_binary(Event(source="/s", type="t", data=text, datacontenttype="text/plain"))
    assert body == text.encode("utf-8")
    assert headers["content-type"] == "text/plain"
    assert decode_one(headers, body).data == text


def test_binary_text_in_a_declared_charset_is_encoded_in_it() -> None:
    content_type = "text/plain; charset=utf-16"
    headers, body = to_binary(
        Event(source="/s", type="t", data="héllo €", datacontenttype=content_type)
    )
    assert body == "héllo €".encode("utf-16")
    assert decode_one(headers, body).data == "héllo €"


def test_binary_text_that_its_charset_cannot_carry_is_refused() -> None:
    event = Event(source="/s", type="t", data="€", datacontenttype="text/plain; charset=latin-1")
    with pytest.raises(InvalidEventError, match="charset"):
        to_binary(event)


@pytest.mark.parametrize(
    ("value", "header"),
    [
        ("acme", "acme"),
        ("", ""),
        (0, "0"),
        (7, "7"),
        (-2147483648, "-2147483648"),
        (2147483647, "2147483647"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_binary_extension_values_are_canonical_strings(
    value: str | int | bool, header: str
) -> None:
    headers, _ = to_binary(Event(source="/s", type="t", extensions={"ext": value}))
    assert headers["ce-ext"] == header


class Region(str, Enum):  # noqa: UP042 - the str mixin is the case under test
    EU = "eu west"
    US = "us"


class Level(int, Enum):
    HIGH = 3


def test_binary_enum_values_go_by_their_value_as_in_the_json_format() -> None:
    event = Event(
        source="/s",
        type="t",
        subject=Region.EU,
        extensions={"region": Region.EU, "level": Level.HIGH},
    )
    headers, _ = to_binary(event)
    assert headers["ce-region"] == "eu%20west"
    assert headers["ce-level"] == "3"
    assert headers["ce-subject"] == "eu%20west"
    structured = json.loads(to_structured(event).body)
    assert (structured["region"], structured["level"]) == ("eu west", 3)
    # Nothing to encode: the plain path.
    headers, _ = to_binary(
        Event(source="/s", type="t", extensions={"region": Region.US, "level": Level.HIGH})
    )
    assert (headers["ce-region"], headers["ce-level"]) == ("us", "3")
    assert type(headers["ce-region"]) is str


@pytest.mark.parametrize(
    ("time", "header"),
    [
        (datetime(2026, 1, 31, 12, 0, tzinfo=UTC), "2026-01-31T12:00:00Z"),
        (datetime(2026, 1, 31, 12, 0, 0, 500, tzinfo=UTC), "2026-01-31T12:00:00.000500Z"),
        (
            datetime(2026, 1, 31, 17, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "2026-01-31T17:30:00+05:30",
        ),
        (
            datetime(2026, 1, 31, 7, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2026-01-31T07:00:00-05:00",
        ),
    ],
)
def test_binary_time_is_rfc3339(time: datetime, header: str) -> None:
    headers, _ = to_binary(Event(source="/s", type="t", time=time))
    assert headers["ce-time"] == header
    decoded = decode_one(*to_binary(Event(source="/s", type="t", time=time)))
    assert decoded.time == time
    assert decoded.time is not None
    assert decoded.time.utcoffset() == time.utcoffset()


@pytest.mark.parametrize("attribute", ["id", "source", "type", "subject", "dataschema", "ext"])
def test_binary_spec_example_is_percent_encoded_exactly(attribute: str) -> None:
    fields: dict[str, Any] = {"source": "/s", "type": "t"}
    if attribute == "ext":
        fields["extensions"] = {"ext": SPEC_TEXT}
    else:
        fields[attribute] = SPEC_TEXT
    headers, _ = to_binary(Event(**fields))
    assert headers[f"ce-{attribute}"] == SPEC_ENCODED
    form = decode_one(headers).to_dict()
    assert form[attribute] == SPEC_TEXT


@pytest.mark.parametrize(("char", "encoded"), [(" ", "%20"), ('"', "%22"), ("%", "%25")])
def test_binary_space_quote_and_percent_are_encoded(char: str, encoded: str) -> None:
    headers, _ = to_binary(Event(source="/s", type="t", subject=f"a{char}b", id=f"i{char}"))
    assert headers["ce-subject"] == f"a{encoded}b"
    assert headers["ce-id"] == f"i{encoded}"


def test_binary_percent_encoded_text_is_encoded_again_not_left_alone() -> None:
    headers, _ = to_binary(Event(source="/s", type="t", subject="%41 %25"))
    assert headers["ce-subject"] == "%2541%20%2525"
    assert decode_one(headers).subject == "%41 %25"


@pytest.mark.parametrize("char", UNENCODED)
def test_binary_other_printable_ascii_is_left_alone(char: str) -> None:
    # Alone (the plain path) and next to a character that needs encoding (the quoting path).
    headers, _ = to_binary(
        Event(source="/s", type="t", subject=char, extensions={"a": f"{char} {char}"})
    )
    assert headers["ce-subject"] == char
    assert headers["ce-a"] == f"{char}%20{char}"


def test_binary_all_other_printable_ascii_together_is_left_alone() -> None:
    everything = "".join(UNENCODED)
    headers, _ = to_binary(Event(source=everything, type="t", extensions={"x": everything + "€"}))
    assert headers["ce-source"] == everything
    assert headers["ce-x"] == everything + "%E2%82%AC"
    decoded = decode_one(headers)
    assert (decoded.source, decoded.extensions["x"]) == (everything, everything + "€")


@pytest.mark.parametrize("char", CONTROL)
def test_binary_control_characters_are_encoded(char: str) -> None:
    headers, _ = to_binary(Event(source="/s", type="t", subject=f"a{char}b"))
    assert headers["ce-subject"] == f"a%{ord(char):02X}b"
    assert decode_one(headers).subject == f"a{char}b"


def test_binary_hex_is_upper_case() -> None:
    text = "\x7f\x1b é ÿ ☃ \U0001f600 \u00ad"
    headers, _ = to_binary(Event(source="/s", type="t", subject=text))
    encoded = headers["ce-subject"]
    assert encoded == "%7F%1B%20%C3%A9%20%C3%BF%20%E2%98%83%20%F0%9F%98%80%20%C2%AD"
    assert not re.search(r"%[0-9A-F]?[a-f]", encoded)


def test_binary_every_header_value_is_printable_ascii() -> None:
    event = Event(id=TRICKY, source=TRICKY, type=TRICKY, subject=TRICKY, extensions={"x": TRICKY})
    headers, _ = to_binary(event)
    for value in headers.values():
        assert all(0x21 <= ord(c) <= 0x7E for c in value), value
        assert '"' not in value


def test_binary_lone_surrogate_is_refused_with_the_attribute_named() -> None:
    with pytest.raises(InvalidEventError, match="subject"):
        to_binary(Event(source="/s", type="t", subject="a\ud800b"))


# -- 2. binary mode: decoding --------------------------------------------------------------


def test_binary_decoding_reads_every_attribute() -> None:
    event = decode_one(
        {
            **ce_headers(),
            "ce-subject": "orders/7",
            "ce-dataschema": "https://example.com/s",
            "ce-time": "2026-03-01T12:30:45.123456Z",
            "ce-tenant": "acme",
            "ce-attempt": "3",
            "content-type": "application/json",
        },
        b'{"order": 7}',
    )
    assert event.to_dict() == {
        "specversion": "1.0",
        "id": "1",
        "source": "/shop",
        "type": "t",
        "subject": "orders/7",
        "dataschema": "https://example.com/s",
        "time": "2026-03-01T12:30:45.123456Z",
        "datacontenttype": "application/json",
        "tenant": "acme",
        "attempt": "3",  # header values carry no types
        "data": {"order": 7},
    }


def test_binary_header_names_are_case_insensitive() -> None:
    event = decode_one(
        {
            "CE-SpecVersion": "1.0",
            "Ce-Id": "1",
            "CE-SOURCE": "/s",
            "ce-Type": "t",
            "Ce-Tenant": "acme",
            "Content-Type": "Application/JSON",
        },
        b"[1]",
    )
    assert (event.id, event.source, event.type) == ("1", "/s", "t")
    assert event.extensions == {"tenant": "acme"}
    assert event.data == [1]


def test_binary_lower_case_hex_is_accepted() -> None:
    event = decode_one(ce_headers(ce_subject="Euro%20%e2%82%ac%20%f0%9f%98%80"))
    assert event.subject == SPEC_TEXT


def test_binary_needless_encoding_is_accepted() -> None:
    event = decode_one(ce_headers(ce_subject="%41%62c%2F%7e", ce_source="%2Fshop"))
    assert (event.subject, event.source) == ("Abc/~", "/shop")


@pytest.mark.parametrize(
    ("sent", "value"),
    [
        ('"Euro%20%E2%82%AC"', "Euro €"),
        ('"a b"', "a b"),  # an older sender's quoted string, not percent-encoded
        ('"say \\"hi\\""', 'say "hi"'),
        ('"back\\\\slash"', "back\\slash"),
        ('"%2541"', "%41"),  # the quotes come off first, then exactly one decoding pass
        ('""', ""),
    ],
)
def test_binary_rfc7230_quoted_string_is_undone_before_decoding(sent: str, value: str) -> None:
    assert decode_one(ce_headers(ce_ext=sent)).extensions["ext"] == value


@pytest.mark.parametrize(
    ("sent", "value"), [("%2541", "%41"), ("%252541", "%2541"), ("100%25", "100%")]
)
def test_binary_decodes_exactly_once(sent: str, value: str) -> None:
    assert decode_one(ce_headers(ce_subject=sent)).subject == value


def test_binary_surrounding_whitespace_is_not_part_of_the_value() -> None:
    assert decode_one(ce_headers(ce_subject=" \tabc%20d\t ")).subject == "abc d"


@pytest.mark.parametrize(
    "sent",
    [
        "%C0%A0",  # overlong space
        "%FF",
        "a%E2%82",  # truncated sequence
        "%ED%A0%80",  # an encoded surrogate
        "%F4%90%80%80",  # beyond U+10FFFF
        "%80",
    ],
)
def test_binary_invalid_utf8_is_refused_naming_the_header(sent: str) -> None:
    message = error_of(ce_headers(ce_subject=sent))
    assert "ce-subject" in message
    assert "UTF-8" in message


@pytest.mark.parametrize("sent", ["50%", "%4", "%G1", "a%%20", "%-1", "%\u00e91"])
def test_binary_percent_without_two_hex_digits_is_refused(sent: str) -> None:
    message = error_of(ce_headers(ce_tenant=sent))
    assert "ce-tenant" in message
    assert "not followed by two hex digits" in message


@pytest.mark.parametrize("missing", ["id", "source", "type"])
def test_binary_missing_required_attribute_is_named(missing: str) -> None:
    message = error_of(ce_headers(**{f"ce_{missing}": None}))
    assert f"ce-{missing}" in message
    assert "missing" in message


@pytest.mark.parametrize("empty", ["id", "source", "type"])
def test_binary_empty_required_attribute_is_named(empty: str) -> None:
    assert f"ce-{empty}" in error_of(ce_headers(**{f"ce_{empty}": ""}))


def test_binary_all_missing_required_attributes_are_named() -> None:
    message = error_of({"ce-specversion": "1.0"})
    for name in ("ce-id", "ce-source", "ce-type"):
        assert name in message


@pytest.mark.parametrize("version", ["0.3", "1.1", "2.0", ""])
def test_binary_unsupported_specversion_is_refused(version: str) -> None:
    message = error_of(ce_headers(ce_specversion=version))
    assert "specversion" in message
    assert repr(version) in message


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("ce-Bad_Name", "ce-bad_name"),
        ("ce-bad-name", "ce-bad-name"),
        ("ce-" + "a" * 21, "ce-" + "a" * 21),
        ("ce-", "ce-"),
        ("ce-caf\u00e9", "ce-caf\u00e9"),
    ],
)
def test_binary_header_that_is_no_attribute_name_is_refused(header: str, shown: str) -> None:
    message = error_of({**ce_headers(), header: "x"})
    assert shown in message
    assert "does not name a CloudEvents attribute" in message


def test_binary_twenty_character_attribute_name_is_accepted() -> None:
    name = "a" * 20
    assert decode_one({**ce_headers(), f"ce-{name}": "x"}).extensions == {name: "x"}


@pytest.mark.parametrize("name", ["ce-data", "ce-datacontenttype"])
def test_binary_data_headers(name: str) -> None:
    if name == "ce-data":
        assert "body" in error_of({**ce_headers(), name: "x"})
    else:
        # Content-Type is the attribute in binary mode; a ce-datacontenttype header (which a
        # sender must not add) is no extension.
        event = decode_one(
            {**ce_headers(), name: "text/plain", "content-type": "application/json"}, b"1"
        )
        assert (event.datacontenttype, event.data, event.extensions) == (
            "application/json",
            1,
            {},
        )


def test_binary_bytes_header_pairs_as_asgi_gives_them() -> None:
    pairs = [
        (b"ce-specversion", b"1.0"),
        (b"CE-ID", b"1"),
        (b"ce-source", b"/s"),
        (b"ce-type", b"t"),
        (b"ce-subject", b"Euro%20%E2%82%AC"),
        (b"ce-raw", "café".encode()),  # unencoded UTF-8 breaks the rule but is unambiguous
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-note", "ré".encode("latin-1")),  # obs-text in a header that is not ours
    ]
    event = decode_one(pairs, "hé".encode())
    assert (event.id, event.subject, event.data) == ("1", "Euro €", "hé")
    assert event.extensions == {"raw": "café"}


def test_binary_bytes_ce_header_that_is_not_utf8_is_refused() -> None:
    pairs = [*((k.encode(), v.encode()) for k, v in ce_headers().items())]
    pairs.append((b"ce-bad", b"\xff\xfe"))
    message = error_of(pairs)
    assert "ce-bad" in message
    assert "UTF-8" in message


@pytest.mark.parametrize("second", ["ce-id", "CE-ID", "Ce-Id"])
def test_binary_ce_header_given_twice_is_refused(second: str) -> None:
    pairs = [*ce_headers().items(), (second, "2")]
    message = error_of(pairs)
    assert "ce-id" in message
    assert "twice" in message


def test_binary_other_header_given_twice_is_fine() -> None:
    pairs = [*ce_headers().items(), ("x-forwarded-for", "a"), ("x-forwarded-for", "b")]
    assert decode_one(pairs).id == "1"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/vnd.x+json; charset=utf-8", "text/json"]
)
def test_binary_invalid_json_body_is_refused(content_type: str) -> None:
    message = error_of(ce_headers(content_type=content_type), b"{not json")
    assert "JSON" in message
    assert "binary-mode" in message


@pytest.mark.parametrize(
    ("content_type", "body", "data"),
    [
        ("text/plain", "héllo".encode(), "héllo"),
        ("text/plain; charset=UTF-8", "€".encode(), "€"),
        ("text/plain; charset=iso-8859-1", b"caf\xe9", "café"),
        ('text/csv; charset="latin-1"', b"a,\xe9", "a,é"),
        ("Text/HTML;Charset=utf-16", "<p>é</p>".encode("utf-16"), "<p>é</p>"),
    ],
)
def test_binary_text_body_is_decoded_by_its_charset(
    content_type: str, body: bytes, data: str
) -> None:
    event = decode_one(ce_headers(content_type=content_type), body)
    assert event.data == data
    assert event.datacontenttype == content_type


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", b"\xff\xfe\xfd"), ("text/plain; charset=no-such-charset", b"x")],
)
def test_binary_text_body_that_cannot_be_decoded_is_refused(content_type: str, body: bytes) -> None:
    assert "text" in error_of(ce_headers(content_type=content_type), body)


@pytest.mark.parametrize(
    "content_type", ["application/xml", "image/png", "application/octet-stream", "x/y"]
)
def test_binary_other_content_is_bytes(content_type: str) -> None:
    event = decode_one(ce_headers(content_type=content_type), b"<a>\xff</a>")
    assert event.data == b"<a>\xff</a>"
    assert event.datacontenttype == content_type


def test_binary_json_body_without_content_type_is_json() -> None:
    # The JSON format reads a missing datacontenttype as application/json.
    event = decode_one(ce_headers(), b'{"a": 1}')
    assert event.data == {"a": 1}
    assert event.datacontenttype is None


def test_binary_other_body_without_content_type_is_octet_stream() -> None:
    # RFC 7231 3.1.1.5: a recipient MAY assume application/octet-stream.
    event = decode_one(ce_headers(), b"\xff{not json")
    assert event.data == b"\xff{not json"
    assert event.datacontenttype == "application/octet-stream"


def test_binary_empty_json_body_is_null_data() -> None:
    event = decode_one(ce_headers(content_type="application/json"), b"")
    assert event.data is None


def test_binary_missing_time_stays_none() -> None:
    assert decode_one(ce_headers()).time is None


@pytest.mark.parametrize(
    ("sent", "time"),
    [
        ("2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        (
            "2026-01-31T12:00:00.5+02:00",
            datetime(2026, 1, 31, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2))),
        ),
        ('"2026-01-31T12:00:00Z"', datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12%3A00%3A00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ],
)
def test_binary_time_is_parsed(sent: str, time: datetime) -> None:
    decoded = decode_one(ce_headers(ce_time=sent)).time
    assert decoded == time
    assert decoded is not None
    assert decoded.utcoffset() == time.utcoffset()


@pytest.mark.parametrize("sent", ["yesterday", "2026-01-31T12:00:00", "2026-01-31"])
def test_binary_bad_time_is_refused(sent: str) -> None:
    assert "time" in error_of(ce_headers(ce_time=sent))


def test_binary_decode_http_reports_the_mode() -> None:
    decoded = decode_http(ce_headers(), b"")
    assert decoded.mode == "binary"
    assert [entry.id for entry in decoded.entries if isinstance(entry, Event)] == ["1"]


# -- 3. structured mode --------------------------------------------------------------------


def structured(form: Any) -> bytes:
    return json.dumps(form).encode()


MINIMAL = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/cloudevents+json",
        "application/cloudevents+json; charset=utf-8",
        "Application/CloudEvents+JSON;Charset=UTF-8",
        "  APPLICATION/CLOUDEVENTS+JSON ; charset=utf-8",
    ],
)
def test_structured_content_type_with_params_and_any_case(content_type: str) -> None:
    decoded = decode_http({"Content-Type": content_type}, structured({**MINIMAL, "data": [1]}))
    assert decoded.mode == "structured"
    [event] = decoded.entries
    assert isinstance(event, Event)
    assert (event.id, event.data) == ("1", [1])


def test_structured_encoding() -> None:
    event = Event(
        id="1",
        source="/s",
        type="t",
        time=WHEN,
        subject=TRICKY,
        extensions={"n": 7, "flag": True, "s": TRICKY},
        data={"k": TRICKY},
    )
    headers, body = to_structured(event)
    assert headers == {"content-type": "application/cloudevents+json; charset=utf-8"}
    assert json.loads(body) == {
        "specversion": "1.0",
        "id": "1",
        "source": "/s",
        "type": "t",
        "time": "2026-03-01T12:30:45.123456Z",
        "subject": TRICKY,
        "n": 7,
        "flag": True,
        "s": TRICKY,
        "data": {"k": TRICKY},
    }
    decoded = decode_one(headers, body)
    assert decoded == event
    assert decoded.extensions == {"n": 7, "flag": True, "s": TRICKY}  # types kept


def test_structured_bytes_go_as_data_base64() -> None:
    event = Event(source="/s", type="t", data=b"\x00\xff")
    form = json.loads(to_structured(event).body)
    assert form["data_base64"] == base64.b64encode(b"\x00\xff").decode()
    assert "data" not in form
    assert decode_one(*to_structured(event)).data == b"\x00\xff"


def test_structured_missing_time_stays_none() -> None:
    assert decode_one({"content-type": STRUCTURED_CONTENT_TYPE}, structured(MINIMAL)).time is None


def test_structured_body_wins_over_ce_headers() -> None:
    headers = {**ce_headers(ce_id="from-header"), "content-type": STRUCTURED_CONTENT_TYPE}
    assert decode_one(headers, structured(MINIMAL)).id == "1"


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b'{"id": "1"'])
def test_structured_body_not_json(body: bytes) -> None:
    message = error_of({"content-type": STRUCTURED_CONTENT_TYPE}, body)
    assert message.startswith("structured-mode CloudEvent: the body is not valid JSON")


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"[]", "an array"),
        (b'"event"', "a string"),
        (b"1", "a number"),
        (b"null", "null"),
        (b"true", "a boolean"),
    ],
)
def test_structured_body_not_an_object(body: bytes, kind: str) -> None:
    message = error_of({"content-type": STRUCTURED_CONTENT_TYPE}, body)
    assert "structured-mode CloudEvent: expected a JSON object" in message
    assert message.endswith(f"got {kind}")


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({}, "'specversion', 'id', 'type', 'source' are required"),
        ({"specversion": "1.0", "id": "1", "type": "t"}, "'source' is required"),
        ({"specversion": "1.0", "source": "/s", "type": "t"}, "'id' is required"),
        ({"id": "1", "source": "/s", "type": "t"}, "'specversion' is required"),
    ],
)
def test_structured_missing_attributes(form: dict[str, Any], named: str) -> None:
    message = error_of({"content-type": STRUCTURED_CONTENT_TYPE}, structured(form))
    assert message.startswith("structured-mode CloudEvent: ")
    assert named in message


def test_structured_data_and_data_base64_both() -> None:
    body = structured({**MINIMAL, "data": 1, "data_base64": "AA=="})
    message = error_of({"content-type": STRUCTURED_CONTENT_TYPE}, body)
    assert "both 'data' and 'data_base64'" in message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"data_base64": "not base64!"}, "'data_base64' is not valid base64"),
        ({"specversion": "0.3"}, "specversion '0.3' is not supported"),
        ({"type": 7}, "attribute 'type'"),
        ({"time": "noon"}, "time 'noon'"),
        ({"Bad": 1}, "extension name 'Bad'"),
        ({"ext": 1.5}, "extension 'ext' must be a string, integer or boolean"),
    ],
)
def test_structured_invalid_attributes(change: dict[str, Any], named: str) -> None:
    message = error_of({"content-type": STRUCTURED_CONTENT_TYPE}, structured(MINIMAL | change))
    assert named in message


@pytest.mark.parametrize(
    "content_type",
    [
        "application/cloudevents+avro",
        "Application/CloudEvents+Avro; charset=utf-8",
        "application/cloudevents+protobuf",
        "application/cloudevents",
    ],
)
def test_structured_other_format_is_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedContentTypeError, match=re.escape(STRUCTURED_CONTENT_TYPE)):
        decode_http({"content-type": content_type}, b"\x00")


# -- 4. batched mode -----------------------------------------------------------------------


def test_batch_empty_is_valid() -> None:
    message = to_batch([])
    assert message == ({"content-type": "application/cloudevents-batch+json; charset=utf-8"}, b"[]")
    decoded = decode_http(*message)
    assert (decoded.mode, decoded.entries) == ("batch", [])
    assert from_http(*message) == []


def test_batch_round_trip() -> None:
    events = [
        Event(source="/s", type="t", data={"n": 1}),
        Event(source="/s", type="t", data=b"\x01", extensions={"x": 1}),
        Event(source="/s", type=TRICKY, subject=TRICKY).replace(time=None),
    ]
    message = to_batch(events)
    assert [item["type"] for item in json.loads(message.body)] == ["t", "t", TRICKY]
    assert from_http(*message) == events


@pytest.mark.parametrize(("body", "kind"), [(b"{}", "an object"), (b'"x"', "a string")])
def test_batch_not_an_array(body: bytes, kind: str) -> None:
    message = error_of({"content-type": BATCH_CONTENT_TYPE}, body)
    assert message == (f"batch of CloudEvents: the body must be a JSON array of events, got {kind}")


def test_batch_not_json() -> None:
    message = error_of({"content-type": BATCH_CONTENT_TYPE}, b"[{")
    assert message.startswith("batch of CloudEvents: the body is not valid JSON")


@pytest.mark.parametrize(
    "bad", [{"specversion": "1.0", "id": "2", "type": "t"}, "not an event", None, [MINIMAL]]
)
def test_batch_invalid_entry_does_not_hide_the_others(bad: Any) -> None:
    body = structured([MINIMAL, bad, {**MINIMAL, "id": "3"}])
    decoded = decode_http({"content-type": BATCH_CONTENT_TYPE}, body)
    assert decoded.mode == "batch"
    first, second, third = decoded.entries
    assert isinstance(first, Event)
    assert first.id == "1"
    assert isinstance(third, Event)
    assert third.id == "3"
    assert isinstance(second, InvalidEventError)
    assert str(second).startswith("batch entry #1: ")
    # from_http raises on the first invalid entry, which is that one.
    with pytest.raises(InvalidEventError, match="^batch entry #1: "):
        from_http({"content-type": BATCH_CONTENT_TYPE}, body)


def test_batch_from_http_raises_the_first_invalid_entry() -> None:
    body = structured([MINIMAL, {"id": "x"}, {"id": "y"}])
    with pytest.raises(InvalidEventError, match="^batch entry #1: "):
        from_http({"content-type": BATCH_CONTENT_TYPE}, body)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/cloudevents-batch+json",
        "Application/CloudEvents-Batch+JSON; charset=utf-8",
    ],
)
def test_batch_is_detected_before_the_structured_prefix(content_type: str) -> None:
    # "application/cloudevents" is a prefix of "application/cloudevents-batch": a receiver
    # that tests the structured prefix first would read the array as one event and fail.
    decoded = decode_http({"content-type": content_type}, structured([MINIMAL, MINIMAL]))
    assert decoded.mode == "batch"
    assert len(decoded.entries) == 2
    assert all(isinstance(entry, Event) for entry in decoded.entries)


def test_batch_in_another_format_is_unsupported() -> None:
    with pytest.raises(UnsupportedContentTypeError, match="batched") as caught:
        decode_http({"content-type": "application/cloudevents-batch+avro"}, b"\x00")
    assert BATCH_CONTENT_TYPE in str(caught.value)


# -- 5. no CloudEvent ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/json", "ce-id": "1", "ce-source": "/s", "ce-type": "t"},
        {},
    ],
)
def test_no_cloudevent_is_unsupported_and_names_the_three_forms(headers: dict[str, str]) -> None:
    with pytest.raises(UnsupportedContentTypeError) as caught:
        decode_http(headers, b"hello")
    message = str(caught.value)
    assert "binary mode (ce- headers)" in message
    assert STRUCTURED_CONTENT_TYPE in message
    assert BATCH_CONTENT_TYPE in message
    assert headers.get("content-type", "missing") in message
    assert isinstance(caught.value, InvalidEventError)  # one except clause catches all


# -- 6. round trips ------------------------------------------------------------------------

# Every code point but surrogates, with the characters the binding treats specially drawn often.
_char = st.characters(codec="utf-8") | st.sampled_from(
    [" ", '"', "%", "\\", "\t", "\x00", "\x7f", "€", "😀", "\U0010ffff", "é", "+", "="]
)
_text = st.text(_char, min_size=1, max_size=24) | st.sampled_from(
    ["%41", "%25", '"quoted"', "100%", " lead", "trail ", SPEC_TEXT, SPEC_ENCODED]
)
_names = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda name: (
        name
        not in {"id", "source", "type", "specversion", "subject", "time", "datacontenttype"}
        | {"dataschema", "data", "data_base64"}
    )
)
_ext_values = st.one_of(
    st.text(_char, max_size=16), st.integers(-(2**31), 2**31 - 1), st.booleans()
)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_char, max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(_char), inner, max_size=4),
    max_leaves=12,
)
_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_times = st.none() | st.datetimes(
    min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets
)
_json_types = st.sampled_from(
    [None, "application/json", "application/vnd.shop+json", "application/json; charset=utf-8"]
)


@st.composite
def events(draw: st.DrawFn, data: st.SearchStrategy[Any] = _json) -> Event:
    event = Event(
        id=draw(_text),
        source=draw(_text),
        type=draw(_text),
        subject=draw(st.none() | _text),
        dataschema=draw(st.none() | _text),
        datacontenttype=draw(_json_types),
        extensions=draw(st.dictionaries(_names, _ext_values, max_size=4)),
        data=draw(data),
    )
    return event.replace(time=draw(_times))


def header_string(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@given(events())
def test_round_trip_binary(event: Event) -> None:
    [decoded] = from_http(*to_binary(event))
    expected = event.to_dict()
    # Header values carry no types; Content-Type becomes datacontenttype (JSON when data has
    # no type; no type at all when there is no data either).
    expected.update({name: header_string(value) for name, value in event.extensions.items()})
    if event.datacontenttype is None and event.data is not None:
        expected["datacontenttype"] = "application/json"
    assert decoded.to_dict() == expected
    assert decoded.time == event.time


@given(events(data=st.binary(max_size=32)))
def test_round_trip_binary_bytes(event: Event) -> None:
    event.datacontenttype = None
    [decoded] = from_http(*to_binary(event))
    assert decoded.data == event.data
    assert decoded.datacontenttype == "application/octet-stream"


@given(events(data=st.text(_char, max_size=24)))
def test_round_trip_binary_text(event: Event) -> None:
    event.datacontenttype = "text/plain; charset=utf-8"
    [decoded] = from_http(*to_binary(event))
    # An empty text body is an empty string, not null.
    assert decoded.data == event.data


@given(events() | events(data=st.binary(max_size=32)))
def test_round_trip_structured(event: Event) -> None:
    [decoded] = from_http(*to_structured(event))
    assert decoded == event
    assert decoded.extensions == event.extensions
    assert {name: type(value) for name, value in decoded.extensions.items()} == {
        name: type(value) for name, value in event.extensions.items()
    }
    assert decoded.time == event.time


@given(st.lists(events() | events(data=st.binary(max_size=8)), max_size=4))
def test_round_trip_batch(batch: list[Event]) -> None:
    decoded = from_http(*to_batch(batch))
    assert decoded == batch
    assert [event.time for event in decoded] == [event.time for event in batch]


@given(st.text(_char, min_size=1, max_size=40))
def test_round_trip_header_encoding_is_conformant(text: str) -> None:
    headers, _ = to_binary(Event(source="/s", type="t", subject=text))
    encoded = headers["ce-subject"]
    # Exactly the binding's encoding: per UTF-8 byte, %XY upper-case, for space, '"', '%' and
    # everything outside U+0021-U+007E; everything else as it is.
    expected = "".join(
        c if c in UNENCODED else "".join(f"%{byte:02X}" for byte in c.encode()) for c in text
    )
    assert encoded == expected
    assert decode_one(headers).subject == text


# -- 7. interoperability with the cloudevents SDK -------------------------------------------
#
# Non-conformance seen in cloudevents 2.2 (each tested below as it is, our side unchanged):
# - to_binary writes a boolean extension as "True"/"False" (str()), not "true"/"false";
# - to_binary writes string data under a JSON datacontenttype unquoted (b"hello", not
#   b'"hello"'), and list or boolean data as Python's repr (b"[1, 'a']");
# - to_binary sends no Content-Type for an event without datacontenttype, where JSON data
#   was meant (the JSON format reads a missing datacontenttype as application/json; the
#   binding wants Content-Type: application/json then);
# - from_binary decodes with urllib's unquote: invalid UTF-8 becomes U+FFFD instead of an
#   error, a bad "%" is kept as is, and an RFC 7230 quoted string keeps its quotes;
# - from_binary (through CloudEvent()) invents time=now for an event received without one;
# - read_data returns bytes that happen to be UTF-8 as a str, whatever the Content-Type.
# The SDK does percent-encode '"' (its safe set is the binding's) and decodes once.

FORMAT = JSONFormat()
SDK_TIME = datetime(2026, 3, 1, 12, 30, 45, 123000, tzinfo=timezone(timedelta(hours=-3)))


def sdk_event(data: Any = None, **attributes: Any) -> CloudEvent:
    base: dict[str, Any] = {
        "id": TRICKY,
        "source": "/shop floor/50%/€",
        "type": 'order "paid"',
        "subject": SPEC_TEXT,
        "dataschema": "https://example.com/a b",
        "time": SDK_TIME,
        "tenant": TRICKY,
        "region": "eu west %20",
        "attempt": 7,
    }
    base.update(attributes)
    return CloudEvent({k: v for k, v in base.items() if v is not None}, data)


def assert_same_attributes(ours: Event, theirs: CloudEvent, *, typed: bool) -> None:
    """Every attribute and extension the same (``typed=False``: compared as header strings)."""
    attributes = theirs.get_attributes()
    assert ours.id == attributes["id"]
    assert ours.source == attributes["source"]
    assert ours.type == attributes["type"]
    assert ours.specversion == attributes["specversion"] == "1.0"
    assert ours.subject == attributes.get("subject")
    assert ours.dataschema == attributes.get("dataschema")
    assert ours.datacontenttype == attributes.get("datacontenttype")
    assert ours.time == attributes.get("time")
    if ours.time is not None:
        assert ours.time.utcoffset() == attributes["time"].utcoffset()
    core = {"id", "source", "type", "specversion", "subject", "dataschema"}
    core |= {"datacontenttype", "time"}
    extensions = {k: v for k, v in attributes.items() if k not in core}
    if typed:
        assert ours.extensions == extensions
    else:
        assert {k: header_string(v) for k, v in ours.extensions.items()} == {
            k: header_string(v) for k, v in extensions.items()
        }


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ({"k": TRICKY, "n": [1, 2.5, None, True]}, "application/json"),
        ({"k": 1}, "application/vnd.shop+json; charset=utf-8"),
        (TRICKY, "text/plain; charset=utf-8"),
        (b"\x00\xff\xfe binary", "application/octet-stream"),
        (None, None),
    ],
)
def test_sdk_binary_decodes_with_us(data: Any, content_type: str | None) -> None:
    theirs = sdk_event(data, datacontenttype=content_type)
    message = sdk_http.to_binary(theirs, FORMAT)
    assert message.headers["ce-type"] == "order%20%22paid%22"  # the SDK encodes '"' too
    ours = decode_one(message.headers, message.body)
    assert_same_attributes(ours, theirs, typed=False)
    assert ours.data == data


@pytest.mark.parametrize(
    "data",
    [
        {"k": TRICKY, "n": [1, 2.5, None, True]},
        [1, "a", {"b": None}],
        TRICKY,
        7,
        b"\x00\xff binary",
        None,
    ],
)
@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_sdk_structured_decodes_with_us(data: Any, content_type: str | None) -> None:
    theirs = sdk_event(data, datacontenttype=content_type, flag=True, off=False)
    message = sdk_http.to_structured(theirs, FORMAT)
    ours = decode_one(message.headers, message.body)
    assert_same_attributes(ours, theirs, typed=True)
    assert ours.extensions["flag"] is True
    assert ours.extensions["attempt"] == 7
    assert ours.data == data


@given(
    _text,
    _text,
    _text,
    st.none() | _text,
    st.dictionaries(_names, st.text(_char, max_size=16) | st.integers(-(2**31), 2**31 - 1)),
    st.dictionaries(st.text(_char, max_size=8), st.text(_char, max_size=8), max_size=3),
)
def test_sdk_events_decode_with_us(
    id: str, source: str, type: str, subject: str | None, ext: dict[str, Any], data: Any
) -> None:
    attributes = {"id": id, "source": source, "type": type, "subject": subject, **ext}
    attributes["datacontenttype"] = "application/json"
    theirs = CloudEvent({k: v for k, v in attributes.items() if v is not None}, data)
    binary = sdk_http.to_binary(theirs, FORMAT)
    ours = decode_one(binary.headers, binary.body)
    assert_same_attributes(ours, theirs, typed=False)
    assert ours.data == data
    structured_ = sdk_http.to_structured(theirs, FORMAT)
    ours = decode_one(structured_.headers, structured_.body)
    assert_same_attributes(ours, theirs, typed=True)
    assert ours.data == data


def test_sdk_binary_boolean_extension_is_not_canonical() -> None:
    # The SDK sends str(True); the binding's canonical form is "true". We read what was sent.
    message = sdk_http.to_binary(sdk_event(flag=True), FORMAT)
    assert message.headers["ce-flag"] == "True"
    assert decode_one(message.headers, message.body).extensions["flag"] == "True"


@pytest.mark.parametrize(
    ("data", "sent"),
    [("hello", b"hello"), ([1, "a"], b"[1, 'a']"), (True, b"True")],
)
def test_sdk_binary_json_data_that_is_no_json_is_refused(data: Any, sent: bytes) -> None:
    # The SDK writes these under application/json as text or Python's repr, not as JSON; we
    # refuse the body rather than guess.
    message = sdk_http.to_binary(sdk_event(data, datacontenttype="application/json"), FORMAT)
    assert message.body == sent
    assert "not valid JSON" in error_of(message.headers, message.body)


def test_sdk_binary_json_data_without_datacontenttype_is_read_as_json() -> None:
    # The SDK sends no Content-Type for JSON data without a datacontenttype; we read a body
    # that parses as JSON as the JSON the format implies, and keep the type absent.
    theirs = sdk_event({"a": [1, TRICKY]})
    message = sdk_http.to_binary(theirs, FORMAT)
    assert "content-type" not in message.headers
    ours = decode_one(message.headers, message.body)
    assert_same_attributes(ours, theirs, typed=False)
    assert ours.datacontenttype is None
    assert ours.data == {"a": [1, TRICKY]}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ({"k": TRICKY, "n": [1, 2.5, None, True]}, None),
        ([1, "a", {"b": None}], None),
        (TRICKY, None),  # a JSON string: quoted in the body, the SDK reads it back
        (-7, "application/json"),
        (TRICKY, "text/plain; charset=utf-8"),
        (b"\x00\xff\xfe binary", None),  # not UTF-8: the SDK keeps it as bytes
    ],
)
def test_our_binary_decodes_with_the_sdk(data: Any, content_type: str | None) -> None:
    ours = Event(
        id=TRICKY,
        source="/shop floor/50%/€",
        type='order "paid"',
        subject=SPEC_TEXT,
        dataschema="https://example.com/a b",
        time=SDK_TIME,
        datacontenttype=content_type,
        extensions={"tenant": TRICKY, "attempt": 7, "flag": True, "off": False},
        data=data,
    )
    headers, body = to_binary(ours)
    message = sdk_http.HTTPMessage(headers, body)
    for theirs in (sdk_http.from_binary(message, FORMAT), sdk_http.from_http(message, FORMAT)):
        attributes = theirs.get_attributes()
        assert attributes["datacontenttype"] == headers["content-type"]
        assert {k: attributes[k] for k in ("id", "source", "type", "subject", "dataschema")} == {
            "id": TRICKY,
            "source": "/shop floor/50%/€",
            "type": 'order "paid"',
            "subject": SPEC_TEXT,
            "dataschema": "https://example.com/a b",
        }
        assert attributes["time"] == SDK_TIME
        assert attributes["time"].utcoffset() == SDK_TIME.utcoffset()
        assert {k: attributes[k] for k in ("tenant", "attempt", "flag", "off")} == {
            "tenant": TRICKY,
            "attempt": "7",
            "flag": "true",
            "off": "false",
        }
        assert theirs.get_data() == data


def test_our_binary_bytes_that_are_utf8_come_back_from_the_sdk_as_text() -> None:
    # The SDK's read_data turns any UTF-8 body into str, even application/octet-stream.
    headers, body = to_binary(Event(source="/s", type="t", data=b"abc"))
    theirs = sdk_http.from_binary(sdk_http.HTTPMessage(headers, body), FORMAT)
    assert theirs.get_datacontenttype() == "application/octet-stream"
    assert theirs.get_data() == "abc"


def test_our_binary_without_time_gets_one_invented_by_the_sdk() -> None:
    headers, body = to_binary(Event(source="/s", type="t").replace(time=None))
    assert "ce-time" not in headers
    assert decode_one(headers, body).time is None  # we keep none
    theirs = sdk_http.from_binary(sdk_http.HTTPMessage(headers, body), FORMAT)
    assert theirs.get_time() is not None  # the SDK's CloudEvent() sets now


@pytest.mark.parametrize(
    "data",
    [{"k": TRICKY}, [1, "a", None], TRICKY, 7, 2.5, True, b"\x00\xff", b"abc", None],
)
def test_our_structured_decodes_with_the_sdk(data: Any) -> None:
    ours = Event(
        id=TRICKY,
        source="/shop floor/50%/€",
        type='order "paid"',
        subject=SPEC_TEXT,
        time=SDK_TIME,
        extensions={"tenant": TRICKY, "attempt": 7, "flag": True},
        data=data,
    )
    headers, body = to_structured(ours)
    message = sdk_http.HTTPMessage(headers, body)
    for theirs in (
        sdk_http.from_structured(message, FORMAT),
        sdk_http.from_http(message, FORMAT),
    ):
        assert_same_attributes(ours, theirs, typed=True)
        assert theirs.get_data() == data


@given(events())
def test_our_events_decode_with_the_sdk(ours: Event) -> None:
    ours.datacontenttype = "application/json"
    if ours.time is None:
        ours.time = WHEN  # the SDK would invent one
    headers, body = to_binary(ours)
    theirs = sdk_http.from_binary(sdk_http.HTTPMessage(headers, body), FORMAT)
    assert_same_attributes(ours, theirs, typed=False)
    attributes = theirs.get_attributes()
    assert all(isinstance(attributes[name], str) for name in ours.extensions)
    if ours.data is not None:  # an empty body is null to both
        assert theirs.get_data() == ours.data
    structured_ = to_structured(ours)
    theirs = sdk_http.from_structured(sdk_http.HTTPMessage(*structured_), FORMAT)
    assert_same_attributes(ours, theirs, typed=True)
    assert theirs.get_data() == ours.data


def test_sdk_decoding_is_lenient_where_ours_is_not() -> None:
    # The same non-conformant headers: the SDK accepts them, we refuse them with a reason.
    for subject, sdk_reads in [("%C0%A0", "\ufffd\ufffd"), ("50%", "50%")]:
        headers = ce_headers(ce_subject=subject)
        theirs = sdk_http.from_binary(sdk_http.HTTPMessage(headers, b""), FORMAT)
        assert theirs.get_subject() == sdk_reads
        assert "ce-subject" in error_of(headers)
    # An RFC 7230 quoted string: the SDK keeps the quotes, we take them off.
    headers = ce_headers(ce_subject='"a%20b"')
    theirs = sdk_http.from_binary(sdk_http.HTTPMessage(headers, b""), FORMAT)
    assert theirs.get_subject() == '"a b"'
    assert decode_one(headers).subject == "a b"
