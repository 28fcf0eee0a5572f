"""Standard Webhooks 1.0.0 signing and verification, checked against the independent
``standardwebhooks`` package both ways, and every rejection with its message."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError

from eventbridge_sdk._errors import (
    ConfigurationError,
    EventBridgeError,
    WebhookVerificationError,
)
from eventbridge_sdk.http._signing import (
    WebhookSigner,
    generate_webhook_secret,
    verify_webhook,
)

# The example of the specification (and of the reference libraries' tests).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
NOW = 1_700_000_000
BODY = b'{"type":"order.created","data":{"id":42}}'


def signed(
    secret: str | bytes | list[str | bytes] = SECRET,
    msg_id: str = "msg_1",
    body: bytes = BODY,
    timestamp: int = NOW,
) -> dict[str, str]:
    return WebhookSigner(secret).headers(msg_id, body, timestamp=timestamp)


def reference_sign(secret: str | bytes, msg_id: str, timestamp: int, body: bytes | str) -> str:
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body)


# --- the specification's example ---------------------------------------------------------------


def test_spec_example_signature() -> None:
    signer = WebhookSigner(SPEC_SECRET)
    assert signer.signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert reference_sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_spec_example_verifies() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify_webhook(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID


def test_headers_carry_the_three_values() -> None:
    headers = WebhookSigner(SPEC_SECRET).headers(SPEC_ID, SPEC_BODY, timestamp=SPEC_TIMESTAMP)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_headers_timestamp_defaults_to_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_650_000_000.9)
    headers = WebhookSigner(SECRET).headers("msg_1", BODY)
    assert headers["webhook-timestamp"] == "1650000000"
    assert headers["webhook-signature"] == reference_sign(SECRET, "msg_1", 1_650_000_000, BODY)


# --- interoperability with the standardwebhooks package -----------------------------------------


def test_our_signature_verifies_with_standardwebhooks() -> None:
    secret = generate_webhook_secret()
    payload = {"type": "order.created", "data": {"id": 42, "name": "Zoë"}}
    body = json.dumps(payload).encode()
    headers = WebhookSigner(secret).headers("msg_2b7H5s0Kp", body)  # signed now
    assert Webhook(secret).verify(body, headers) == payload


def test_our_signature_of_non_utf8_bytes_verifies_with_standardwebhooks() -> None:
    secret = generate_webhook_secret(24)
    body = bytes(range(256))
    headers = WebhookSigner(secret).headers("msg_bin", body)
    assert Webhook(secret).verify(body, headers, json_parse=False) is None


def test_standardwebhooks_signature_verifies_with_us() -> None:
    secret = generate_webhook_secret(64)
    timestamp = int(time.time())
    signature = reference_sign(secret, "msg_ref", timestamp, BODY)
    headers = {
        "webhook-id": "msg_ref",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    assert verify_webhook(secret, headers, BODY) == "msg_ref"  # against the real clock


def test_standardwebhooks_rejects_our_signature_under_another_secret() -> None:
    headers = WebhookSigner(SECRET).headers("msg_1", BODY)
    with pytest.raises(ReferenceVerificationError, match="No matching signature"):
        Webhook(OTHER_SECRET).verify(BODY, headers, json_parse=False)


@given(
    key=st.binary(min_size=24, max_size=64),
    msg_id=st.text(
        st.characters(blacklist_categories=("Cs", "Z", "Cc"), blacklist_characters="."),
        min_size=1,
        max_size=40,
    ),
    timestamp=st.integers(min_value=0, max_value=2**33),
    body=st.binary(max_size=300),
)
def test_any_key_id_and_body_agree_with_standardwebhooks(
    key: bytes, msg_id: str, timestamp: int, body: bytes
) -> None:
    signature = WebhookSigner(key).signature(msg_id, timestamp, body)
    assert signature == reference_sign(key, msg_id, timestamp, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    assert verify_webhook(key, headers, body, now=timestamp) == msg_id


# --- rotation ------------------------------------------------------------------------------------


def test_rotation_signs_once_per_secret_and_both_receivers_accept() -> None:
    old, new = generate_webhook_secret(), generate_webhook_secret()
    headers = WebhookSigner([old, new]).headers("msg_rot", BODY)
    items = headers["webhook-signature"].split(" ")
    assert items == [
        reference_sign(old, "msg_rot", int(headers["webhook-timestamp"]), BODY),
        reference_sign(new, "msg_rot", int(headers["webhook-timestamp"]), BODY),
    ]
    assert Webhook(old).verify(BODY, headers, json_parse=False) is None
    assert Webhook(new).verify(BODY, headers, json_parse=False) is None
    assert verify_webhook(old, headers, BODY) == "msg_rot"
    assert verify_webhook(new, headers, BODY) == "msg_rot"
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(generate_webhook_secret(), headers, BODY)


@pytest.mark.parametrize("sender", ["old", "new"])
def test_a_receiver_with_two_secrets_accepts_either(sender: str) -> None:
    secrets = {"old": SECRET, "new": OTHER_SECRET}
    headers = signed(secrets[sender])
    assert verify_webhook([SECRET, OTHER_SECRET], headers, BODY, now=NOW) == "msg_1"


# --- secrets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [24, 32, 64])
def test_generated_secret_has_prefix_and_size(size: int) -> None:
    secret = generate_webhook_secret(size)
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :], validate=True)) == size
    assert generate_webhook_secret(size) != secret


@pytest.mark.parametrize("size", [0, 16, 23, 65])
def test_generated_secret_size_out_of_range(size: int) -> None:
    with pytest.raises(ConfigurationError, match=rf"24 to 64 random bytes, got size={size}"):
        generate_webhook_secret(size)


def test_secret_forms_with_the_same_key_sign_alike() -> None:
    bare = base64.b64encode(KEY).decode()
    signatures = {
        WebhookSigner(secret).signature("msg_1", NOW, BODY) for secret in (SECRET, bare, KEY)
    }
    assert signatures == {reference_sign(KEY, "msg_1", NOW, BODY)}


def test_prefix_is_stripped_only_at_the_start() -> None:
    with pytest.raises(ConfigurationError, match="not valid base64"):
        WebhookSigner("whsec_" + SECRET)  # the inner 'whsec_' is not base64


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("whsec_not base64!", r"the webhook secret is not valid base64; expected 'whsec_'"),
        ("whsec_" + base64.b64encode(KEY).decode() + "\n", r"leading or trailing whitespace"),
        ("whsec_" + base64.urlsafe_b64encode(b"\xfb" * 30).decode(), r"URL-safe base64"),
        ("whsec_" + base64.b64encode(KEY[:31]).decode().rstrip("="), r"not valid base64"),
        ("whsec_é" + base64.b64encode(KEY).decode(), r"not valid base64"),
        ("whsec_" + base64.b64encode(KEY[:23]).decode(), r"too short: its key has 23 bytes"),
        (base64.b64encode(KEY[:16]).decode(), r"too short: its key has 16 bytes, at least 24"),
        (KEY[:23], r"too short: its key has 23 bytes"),
        ("", r"too short: its key has 0 bytes"),
        ("whsec_", r"too short: its key has 0 bytes"),
    ],
)
def test_bad_secret_is_rejected_without_being_shown(secret: str | bytes, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        WebhookSigner(secret)
    text = str(caught.value)
    assert "expected 'whsec_'" in text
    body = secret[len("whsec_") :] if isinstance(secret, str) else repr(secret)
    if len(body) > 4:
        assert body.strip() not in text
    with pytest.raises(ConfigurationError, match=message):
        verify_webhook(secret, signed(), BODY, now=NOW)


def test_bad_secret_in_a_rotation_is_named_by_position() -> None:
    with pytest.raises(ConfigurationError, match=r"webhook secret #2 of 2 is too short"):
        WebhookSigner([SECRET, b"short"])


def test_no_secret_at_all() -> None:
    with pytest.raises(ConfigurationError, match="pass at least one secret"):
        WebhookSigner([])


def test_configuration_error_is_an_eventbridge_error() -> None:
    with pytest.raises(EventBridgeError):
        WebhookSigner(b"")


def test_repr_does_not_show_the_secret() -> None:
    text = repr(WebhookSigner([SECRET, OTHER_SECRET]))
    assert text == "<WebhookSigner with 2 secret(s)>"


# --- what the signer refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg_id", "message"),
    [
        ("", "must not be empty"),
        ("msg.1", "must not contain '.' or whitespace"),
        ("msg 1", "must not contain '.' or whitespace"),
        ("msg\t1", "must not contain '.' or whitespace"),
        ("msg_1\n", "must not contain '.' or whitespace"),
    ],
)
def test_signer_rejects_bad_ids(msg_id: str, message: str) -> None:
    signer = WebhookSigner(SECRET)
    with pytest.raises(ValueError, match=message):
        signer.headers(msg_id, BODY)
    with pytest.raises(ValueError, match=message):
        signer.signature(msg_id, NOW, BODY)


def test_signer_wants_the_body_bytes() -> None:
    with pytest.raises(TypeError, match="body must be the bytes sent, got str"):
        WebhookSigner(SECRET).signature("msg_1", NOW, BODY.decode())  # type: ignore[arg-type]


@pytest.mark.parametrize("timestamp", [1.5, "1700000000", True])
def test_signer_wants_an_integer_timestamp(timestamp: object) -> None:
    with pytest.raises(TypeError, match="timestamp must be an int"):
        WebhookSigner(SECRET).signature("msg_1", timestamp, BODY)  # type: ignore[arg-type]


# --- header forms --------------------------------------------------------------------------------


def test_header_names_are_case_insensitive() -> None:
    headers = {name.title(): value for name, value in signed().items()}
    assert set(headers) == {"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}
    assert verify_webhook(SECRET, headers, BODY, now=NOW) == "msg_1"


def test_headers_as_byte_pairs_like_an_asgi_scope() -> None:
    pairs = [(b"content-type", b"application/json")]
    pairs += [(name.upper().encode(), value.encode()) for name, value in signed().items()]
    assert verify_webhook(SECRET, pairs, BODY, now=NOW) == "msg_1"


def test_signature_header_repeated_is_combined() -> None:
    headers = signed()
    pairs = [
        ("webhook-id", headers["webhook-id"]),
        ("webhook-timestamp", headers["webhook-timestamp"]),
        ("webhook-signature", "v1,AAAA"),
        ("webhook-signature", headers["webhook-signature"]),
    ]
    assert verify_webhook(SECRET, pairs, BODY, now=NOW) == "msg_1"


def test_conflicting_repeated_id_is_rejected() -> None:
    pairs = [*signed().items(), ("Webhook-Id", "msg_2")]
    with pytest.raises(WebhookVerificationError, match="webhook-id header appears more than once"):
        verify_webhook(SECRET, pairs, BODY, now=NOW)


def test_header_value_that_is_not_utf8() -> None:
    pairs = [(name.encode(), value.encode()) for name, value in signed().items()]
    pairs[0] = (b"webhook-id", b"msg_\xff")
    with pytest.raises(WebhookVerificationError, match="webhook-id header is not valid UTF-8"):
        verify_webhook(SECRET, pairs, BODY, now=NOW)


# --- rejections ----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(missing: str) -> None:
    headers = signed()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=rf"the {missing} header is missing"):
        verify_webhook(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize("empty", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_empty_header_counts_as_missing(empty: str) -> None:
    headers = signed() | {empty: "  "}
    with pytest.raises(WebhookVerificationError, match=rf"the {empty} header is missing or empty"):
        verify_webhook(SECRET, headers, BODY, now=NOW)


@pytest.mark.parametrize(
    "timestamp",
    [
        "soon",
        "1700000000.0",
        "-1700000000",
        "1e9",
        "0x1F",
        "1_700",
        "\u0661\u0667\u0660\u0660",  # Arabic-Indic digits, which int() would take
    ],
)
def test_timestamp_that_is_not_an_integer(timestamp: str) -> None:
    headers = signed() | {"webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError, match="must be an integer number of Unix seconds"):
        verify_webhook(SECRET, headers, BODY, now=NOW)


def test_timestamp_too_old_says_by_how_much() -> None:
    with pytest.raises(
        WebhookVerificationError,
        match=r"too old: 312 s before now, 12 s beyond the tolerance of 300 s",
    ):
        verify_webhook(SECRET, signed(), BODY, now=NOW + 312)


def test_timestamp_too_new_says_by_how_much() -> None:
    with pytest.raises(
        WebhookVerificationError,
        match=r"too new: 301 s after now, 1 s beyond the tolerance of 300 s",
    ):
        verify_webhook(SECRET, signed(), BODY, now=NOW - 301)


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamp_within_tolerance_is_accepted(offset: int) -> None:
    assert verify_webhook(SECRET, signed(), BODY, now=NOW + offset) == "msg_1"


def test_custom_tolerance() -> None:
    assert verify_webhook(SECRET, signed(), BODY, now=NOW + 3000, tolerance=3600) == "msg_1"
    with pytest.raises(WebhookVerificationError, match="beyond the tolerance of 10 s"):
        verify_webhook(SECRET, signed(), BODY, now=NOW + 11, tolerance=10)


def test_stale_timestamp_checked_against_the_real_clock() -> None:
    headers = signed(timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(SECRET, headers, BODY)


def test_wrong_secret() -> None:
    with pytest.raises(
        WebhookVerificationError,
        match=r"no signature matches the webhook \(1 v1 signature\(s\) checked against 1 secret",
    ):
        verify_webhook(OTHER_SECRET, signed(), BODY, now=NOW)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", b'{"type":"order.created","data":{"id":43}}'),
        ("body", BODY + b" "),
        ("body", b'{"type": "order.created", "data": {"id": 42}}'),  # re-serialised
        ("webhook-id", "msg_2"),
        ("webhook-timestamp", str(NOW + 1)),
        ("webhook-timestamp", f"0{NOW}"),  # the same number, other text
    ],
)
def test_tampering_fails(field: str, value: str | bytes) -> None:
    headers = signed()
    body = BODY
    if field == "body":
        assert isinstance(value, bytes)
        body = value
    else:
        assert isinstance(value, str)
        headers[field] = value
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(SECRET, headers, body, now=NOW)


def test_id_with_a_dot_is_rejected_even_if_signed() -> None:
    # Signed by hand: the signer itself refuses such an id.
    signature = reference_sign(SECRET, "msg.1", NOW, BODY)
    headers = {"webhook-id": "msg.1", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    with pytest.raises(WebhookVerificationError, match=r"webhook-id header must not contain '\.'"):
        verify_webhook(SECRET, headers, BODY, now=NOW)


def test_unknown_versions_are_skipped() -> None:
    headers = signed()
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"v1a,{good[3:]} v2,abc {good}"
    assert verify_webhook(SECRET, headers, BODY, now=NOW) == "msg_1"


def test_only_unknown_versions_do_not_verify() -> None:
    headers = signed()
    # The right digest under another version label must not count.
    headers["webhook-signature"] = "v1a," + headers["webhook-signature"][3:]
    with pytest.raises(
        WebhookVerificationError,
        match=r"0 v1 signature\(s\) checked .*skipped items of unknown versions 'v1a'",
    ):
        verify_webhook(SECRET, headers, BODY, now=NOW)


def test_malformed_items_are_skipped_when_another_verifies() -> None:
    headers = signed()
    headers["webhook-signature"] = "garbage " + headers["webhook-signature"] + " v1"
    assert verify_webhook(SECRET, headers, BODY, now=NOW) == "msg_1"


def test_only_malformed_items_do_not_verify() -> None:
    headers = signed()
    headers["webhook-signature"] = headers["webhook-signature"].replace(",", "")
    with pytest.raises(
        WebhookVerificationError,
        match=r"no signature matches .*1 malformed item\(s\) without a ','",
    ):
        verify_webhook(SECRET, headers, BODY, now=NOW)


def test_verification_error_is_an_eventbridge_value_error() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(OTHER_SECRET, signed(), BODY, now=NOW)
    assert isinstance(caught.value, EventBridgeError)
    assert isinstance(caught.value, ValueError)


# --- unicode bodies ------------------------------------------------------------------------------


UNICODE_BODY = '{"name":"Zoë","city":"Zürich","note":"✓ 😀 日本"}'


def test_str_body_is_verified_as_utf8() -> None:
    headers = signed(body=UNICODE_BODY.encode())
    assert verify_webhook(SECRET, headers, UNICODE_BODY, now=NOW) == "msg_1"
    assert verify_webhook(SECRET, headers, UNICODE_BODY.encode(), now=NOW) == "msg_1"


def test_unicode_body_agrees_with_standardwebhooks_both_ways() -> None:
    timestamp = int(time.time())
    ours = signed(body=UNICODE_BODY.encode(), timestamp=timestamp)
    assert ours["webhook-signature"] == reference_sign(SECRET, "msg_1", timestamp, UNICODE_BODY)
    assert Webhook(SECRET).verify(UNICODE_BODY, ours) == json.loads(UNICODE_BODY)


def test_other_encoding_of_the_same_text_fails() -> None:
    headers = signed(body=UNICODE_BODY.encode())
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(SECRET, headers, UNICODE_BODY.encode("utf-16"), now=NOW)
