"""Payment webhook signatures, checked on the verifier itself (HTTP is covered by the routes).

Stripe-compatible signatures are made here with `hmac`, as Stripe documents them;
Standard Webhooks signatures by the `standardwebhooks` library, as a sender would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from crm.errors import InvalidSignature
from gateway.webhooks import TOLERANCE_SECONDS, verify

BODY = b'{"id":"evt_1","type":"customer.subscription.updated","data":{"object":{}}}'
NOW = 1_800_000_000
STRIPE_SECRET = "whsec_stripe_current_0123456789"
STRIPE_OLD_SECRET = "whsec_stripe_previous_9876543210"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-unit-key-32b!!").decode()
STANDARD_OLD_SECRET = "whsec_" + base64.b64encode(b"an-older-standard-webhooks-key!!").decode()


def stripe_v1(secret: str, timestamp: int, body: bytes = BODY) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def stripe_header(timestamp: int, *signatures: str) -> dict[str, str]:
    parts = [f"t={timestamp}", *(f"v1={s}" for s in signatures)]
    return {"stripe-signature": ",".join(parts)}


def refusal(
    headers: dict[str, str], secrets: list[str], body: bytes = BODY, now: float | None = NOW
) -> str:
    with pytest.raises(InvalidSignature) as caught:
        verify(body, headers, secrets, now=now)
    assert (caught.value.status, caught.value.code) == (400, "invalid_signature")
    return caught.value.detail


def standard_headers(
    secret: str, *, body: bytes = BODY, at: datetime | None = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


# Stripe-compatible ----------------------------------------------------------------------------


def test_stripe_a_signature_by_the_secret_is_accepted() -> None:
    verify(BODY, stripe_header(NOW, stripe_v1(STRIPE_SECRET, NOW)), [STRIPE_SECRET], now=NOW)


def test_stripe_any_one_of_several_v1_entries_may_match() -> None:
    headers = stripe_header(
        NOW, "00" * 32, stripe_v1(STRIPE_OLD_SECRET, NOW), stripe_v1(STRIPE_SECRET, NOW)
    )
    verify(BODY, headers, [STRIPE_SECRET], now=NOW)


def test_stripe_entries_of_other_schemes_are_ignored() -> None:
    header = f"t={NOW},v0={'ab' * 32},v1={stripe_v1(STRIPE_SECRET, NOW)},v2=zz"
    verify(BODY, {"stripe-signature": header}, [STRIPE_SECRET], now=NOW)


def test_stripe_spaces_around_entries_are_allowed() -> None:
    header = f"t={NOW}, v1={stripe_v1(STRIPE_SECRET, NOW)}"
    verify(BODY, {"stripe-signature": header}, [STRIPE_SECRET], now=NOW)


@pytest.mark.parametrize("signer", [STRIPE_SECRET, STRIPE_OLD_SECRET], ids=["new", "old"])
def test_stripe_during_a_rotation_either_secret_is_accepted(signer: str) -> None:
    headers = stripe_header(NOW, stripe_v1(signer, NOW))
    verify(BODY, headers, [STRIPE_SECRET, STRIPE_OLD_SECRET], now=NOW)


def test_stripe_after_a_rotation_the_retired_secret_is_refused() -> None:
    headers = stripe_header(NOW, stripe_v1(STRIPE_OLD_SECRET, NOW))
    assert refusal(headers, [STRIPE_SECRET]) == "No signature matches a configured secret."


def test_stripe_a_standard_webhooks_secret_beside_it_does_not_stop_a_match() -> None:
    headers = stripe_header(NOW, stripe_v1(STRIPE_SECRET, NOW))
    verify(BODY, headers, [STANDARD_SECRET, STRIPE_SECRET], now=NOW)


@pytest.mark.parametrize(
    "offset", [-TOLERANCE_SECONDS, TOLERANCE_SECONDS, 0], ids=["300s-old", "300s-ahead", "now"]
)
def test_stripe_a_timestamp_within_300_seconds_either_way_is_accepted(offset: int) -> None:
    signed_at = NOW + offset
    headers = stripe_header(signed_at, stripe_v1(STRIPE_SECRET, signed_at))
    verify(BODY, headers, [STRIPE_SECRET], now=NOW)


@pytest.mark.parametrize(
    "offset",
    [-TOLERANCE_SECONDS - 1, TOLERANCE_SECONDS + 1, -86_400],
    ids=["301s-old", "301s-ahead", "a-day-old"],
)
def test_stripe_a_timestamp_beyond_300_seconds_either_way_is_refused(offset: int) -> None:
    signed_at = NOW + offset
    headers = stripe_header(signed_at, stripe_v1(STRIPE_SECRET, signed_at))
    assert refusal(headers, [STRIPE_SECRET]) == (
        "The signature's timestamp is outside the 300-second tolerance."
    )


def test_stripe_the_tolerance_is_checked_against_a_fractional_clock() -> None:
    headers = stripe_header(NOW, stripe_v1(STRIPE_SECRET, NOW))
    verify(BODY, headers, [STRIPE_SECRET], now=NOW + TOLERANCE_SECONDS)
    assert refusal(headers, [STRIPE_SECRET], now=NOW + TOLERANCE_SECONDS + 0.5) == (
        "The signature's timestamp is outside the 300-second tolerance."
    )


def test_stripe_the_clock_defaults_to_now() -> None:
    signed_at = int(time.time())
    verify(BODY, stripe_header(signed_at, stripe_v1(STRIPE_SECRET, signed_at)), [STRIPE_SECRET])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BODY.replace(b"evt_1", b"evt_2"), id="changed-byte"),
        pytest.param(BODY + b"\n", id="trailing-newline"),
        pytest.param(b"", id="empty"),
    ],
)
def test_stripe_a_tampered_body_is_refused(body: bytes) -> None:
    headers = stripe_header(NOW, stripe_v1(STRIPE_SECRET, NOW))
    assert refusal(headers, [STRIPE_SECRET], body=body) == (
        "No signature matches a configured secret."
    )


def test_stripe_a_signature_moved_to_another_timestamp_is_refused() -> None:
    headers = stripe_header(NOW + 1, stripe_v1(STRIPE_SECRET, NOW))
    assert refusal(headers, [STRIPE_SECRET]) == "No signature matches a configured secret."


def test_stripe_an_uppercase_hex_signature_is_the_same_bytes() -> None:
    headers = stripe_header(NOW, stripe_v1(STRIPE_SECRET, NOW).upper())
    verify(BODY, headers, [STRIPE_SECRET], now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param(f"v1={'ab' * 32}", id="no-timestamp"),
        pytest.param(f"t={NOW}", id="no-v1"),
        pytest.param(f"t=soon,v1={'ab' * 32}", id="timestamp-not-digits"),
        pytest.param(f"t=-{NOW},v1={'ab' * 32}", id="negative-timestamp"),
        pytest.param(f"t={NOW},v1=not-hex", id="v1-not-hex"),
        pytest.param(f"t={NOW},v1=abc", id="v1-odd-length-hex"),
        pytest.param(f"t={NOW};v1={'ab' * 32}", id="wrong-separator"),
        pytest.param("garbage", id="garbage"),
    ],
)
def test_stripe_a_malformed_header_is_refused(header: str) -> None:
    assert refusal({"stripe-signature": header}, [STRIPE_SECRET]) == (
        "Stripe-Signature needs t=<unix seconds> and at least one v1."
    )


def test_stripe_a_malformed_v1_beside_a_good_one_is_skipped() -> None:
    header = f"t={NOW},v1=not-hex,v1={stripe_v1(STRIPE_SECRET, NOW)}"
    verify(BODY, {"stripe-signature": header}, [STRIPE_SECRET], now=NOW)


def test_stripe_no_configured_secret_accepts_nothing() -> None:
    headers = stripe_header(NOW, stripe_v1(STRIPE_SECRET, NOW))
    assert refusal(headers, []) == "No signature matches a configured secret."


def test_stripe_takes_precedence_when_both_schemes_are_sent() -> None:
    # A valid Standard Webhooks signature does not rescue a bad Stripe one.
    headers = {**standard_headers(STANDARD_SECRET), **stripe_header(NOW, "ab" * 32)}
    assert refusal(headers, [STRIPE_SECRET, STANDARD_SECRET]) == (
        "No signature matches a configured secret."
    )


# Standard Webhooks --------------------------------------------------------------------------


def test_standard_a_signature_by_the_library_is_accepted() -> None:
    verify(BODY, standard_headers(STANDARD_SECRET), [STANDARD_SECRET])


@pytest.mark.parametrize("signer", [STANDARD_SECRET, STANDARD_OLD_SECRET], ids=["new", "old"])
def test_standard_during_a_rotation_either_secret_is_accepted(signer: str) -> None:
    verify(BODY, standard_headers(signer), [STANDARD_SECRET, STANDARD_OLD_SECRET])


def test_standard_after_a_rotation_the_retired_secret_is_refused() -> None:
    assert refusal(standard_headers(STANDARD_OLD_SECRET), [STANDARD_SECRET], now=None) == (
        "No signature matches a configured secret."
    )


def test_standard_a_stripe_secret_beside_it_does_not_stop_a_match() -> None:
    verify(BODY, standard_headers(STANDARD_SECRET), [STRIPE_SECRET, STANDARD_SECRET])


def test_standard_any_one_of_several_signatures_may_match() -> None:
    headers = standard_headers(STANDARD_SECRET)
    other = standard_headers(STANDARD_OLD_SECRET)["webhook-signature"]
    headers["webhook-signature"] = f"{other} v2,abcd {headers['webhook-signature']}"
    verify(BODY, headers, [STANDARD_SECRET])


@pytest.mark.parametrize(
    "offset", [-TOLERANCE_SECONDS + 5, TOLERANCE_SECONDS - 5], ids=["295s-old", "295s-ahead"]
)
def test_standard_a_timestamp_within_300_seconds_either_way_is_accepted(offset: int) -> None:
    # The library reads its own clock: a few seconds inside the edge absorb the test's run time.
    at = datetime.now(UTC) + timedelta(seconds=offset)
    verify(BODY, standard_headers(STANDARD_SECRET, at=at), [STANDARD_SECRET])


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-TOLERANCE_SECONDS - 5, "Message timestamp too old"),
        (TOLERANCE_SECONDS + 5, "Message timestamp too new"),
    ],
    ids=["305s-old", "305s-ahead"],
)
def test_standard_a_timestamp_beyond_300_seconds_either_way_is_refused(
    offset: int, reason: str
) -> None:
    at = datetime.now(UTC) + timedelta(seconds=offset)
    headers = standard_headers(STANDARD_SECRET, at=at)
    assert refusal(headers, [STANDARD_SECRET], now=None) == f"Standard Webhooks: {reason}."


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BODY.replace(b"evt_1", b"evt_2"), id="changed-byte"),
        pytest.param(BODY + b"\n", id="trailing-newline"),
    ],
)
def test_standard_a_tampered_body_is_refused(body: bytes) -> None:
    headers = standard_headers(STANDARD_SECRET)
    assert refusal(headers, [STANDARD_SECRET], body=body, now=None) == (
        "No signature matches a configured secret."
    )


def test_standard_a_signature_moved_to_another_message_id_is_refused() -> None:
    headers = {**standard_headers(STANDARD_SECRET), "webhook-id": "msg_2"}
    assert refusal(headers, [STANDARD_SECRET], now=None) == (
        "No signature matches a configured secret."
    )


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp"])
def test_standard_a_missing_header_is_refused(missing: str) -> None:
    headers = standard_headers(STANDARD_SECRET)
    del headers[missing]
    assert refusal(headers, [STANDARD_SECRET], now=None) == f"Standard Webhooks: missing {missing}."


def test_standard_a_timestamp_that_is_not_a_number_is_refused() -> None:
    headers = {**standard_headers(STANDARD_SECRET), "webhook-timestamp": "soon"}
    assert refusal(headers, [STANDARD_SECRET], now=None) == (
        "webhook-timestamp must be Unix seconds (ASCII digits)."
    )


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("garbage", id="no-version"),
        pytest.param("v1,not*base64", id="not-base64"),
        pytest.param("v1,a,b", id="too-many-commas"),
    ],
)
def test_standard_a_malformed_signature_header_is_refused(signature: str) -> None:
    headers = {**standard_headers(STANDARD_SECRET), "webhook-signature": signature}
    assert refusal(headers, [STANDARD_SECRET], now=None) == (
        "The webhook-signature header is malformed."
    )


def test_standard_no_configured_secret_accepts_nothing() -> None:
    assert refusal(standard_headers(STANDARD_SECRET), [], now=None) == (
        "No signature matches a configured secret."
    )


# Neither ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"webhook-id": "msg_1", "webhook-timestamp": str(NOW)}, id="no-signature"),
        pytest.param({"x-signature": "abc"}, id="other-header"),
    ],
)
def test_a_request_without_a_signature_header_is_refused(headers: dict[str, str]) -> None:
    assert refusal(headers, [STRIPE_SECRET, STANDARD_SECRET]) == (
        "No signature: send Stripe-Signature, or webhook-id, webhook-timestamp and "
        "webhook-signature."
    )
