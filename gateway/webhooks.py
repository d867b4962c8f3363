"""Payment webhook signatures, verified on the raw bytes before anything is parsed.

Two schemes, any configured secret matching is enough (so a secret can be
rotated without downtime), 300 seconds of tolerance either way:

1. Stripe-compatible: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=...]`,
   `v1` = hex HMAC-SHA256 keyed with the secret's UTF-8 bytes over `<t>.<body>`.
2. Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`
   (`v1,<base64>` entries); secrets of the form `whsec_<base64 key>`. Verified
   by the `standardwebhooks` library.

Every comparison is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crm.errors import InvalidSignature

TOLERANCE_SECONDS = 300
# Unix seconds are ASCII digits; ten of them last until the year 2286. Anything
# longer or in another script (`int` reads Arabic-Indic or superscript digits, and
# refuses over 4300 of them) is not a timestamp of ours.
MAX_TIMESTAMP_DIGITS = 12


def _unix_seconds(text: str | None) -> int | None:
    """`text` as Unix seconds when it is 1 to 12 ASCII digits; else None."""
    if text is None or not 0 < len(text) <= MAX_TIMESTAMP_DIGITS:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def verify(
    body: bytes, headers: Mapping[str, str], secrets: Sequence[str], now: float | None = None
) -> None:
    """Return when `body` carries a valid signature by one of `secrets`; else 400."""
    now = time.time() if now is None else now
    stripe = headers.get("stripe-signature")
    if stripe is not None:
        _verify_stripe(body, stripe, secrets, now)
    elif headers.get("webhook-signature") is not None:
        _verify_standard(body, headers, secrets)
    else:
        raise InvalidSignature(
            "No signature: send Stripe-Signature, or webhook-id, webhook-timestamp and "
            "webhook-signature."
        )


def _verify_stripe(body: bytes, header: str, secrets: Sequence[str], now: float) -> None:
    timestamp: str | None = None
    signatures: list[bytes] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            try:
                signatures.append(bytes.fromhex(value))
            except ValueError:
                continue
    seconds = _unix_seconds(timestamp)
    if timestamp is None or seconds is None or not signatures:
        raise InvalidSignature("Stripe-Signature needs t=<unix seconds> and at least one v1.")
    if abs(now - seconds) > TOLERANCE_SECONDS:
        raise InvalidSignature("The signature's timestamp is outside the 300-second tolerance.")
    signed = timestamp.encode() + b"." + body
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
        # Every candidate is compared, matched or not: no early exit on a secret.
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return
    raise InvalidSignature("No signature matches a configured secret.")


def _verify_standard(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    wanted = {
        name: headers.get(name, "")
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    missing = [name for name, value in wanted.items() if not value]
    if missing:
        raise InvalidSignature(f"Standard Webhooks: missing {', '.join(missing)}.")
    # The library reads the timestamp with `float`, which takes `1.7e9`, ` 17...`
    # and other scripts' digits: the header is held to Unix seconds here first.
    if _unix_seconds(wanted["webhook-timestamp"]) is None:
        raise InvalidSignature("webhook-timestamp must be Unix seconds (ASCII digits).")
    for secret in secrets:
        try:
            webhook = Webhook(secret)
        except Exception:  # noqa: S112 - not a `whsec_<base64>` secret: it cannot sign this scheme
            continue
        try:
            webhook.verify(body, wanted, json_parse=False)
            return
        except WebhookVerificationError as exc:
            if "No matching signature" not in str(exc):
                # Missing headers or a timestamp out of tolerance: no secret will do.
                raise InvalidSignature(f"Standard Webhooks: {exc}.") from None
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidSignature("The webhook-signature header is malformed.") from None
    raise InvalidSignature("No signature matches a configured secret.")
