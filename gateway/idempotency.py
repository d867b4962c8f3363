"""`Idempotency-Key` on `/v1` POST and PATCH: replay, refuse, or run and keep the answer.

The key is held by a lock of the request's own transaction (`crm.idempotency`),
the handler runs in a savepoint inside it, and the answer is stored in it
before the commit: the writes and the answer land together, and a crash at any
point leaves nothing behind that could block the retry.

A refusal (4xx) is an answer too: its writes are rolled back to the savepoint,
the answer is kept, and a retry gets it again. A server error keeps nothing, so
the retry runs.

**Secrets are never stored.** A route names the fields of its answer that hold a
secret with `opt=secret_fields("key")`; they are removed from the stored body,
so a replay answers without them (the first answer alone carries them).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from crm import db
from crm.errors import Conflict, IdempotencyKeyReused, ValidationFailed
from crm.idempotency import service as idempotency
from crm.policy import Actor
from gateway.transaction import ASGIApp, Held, Message, Scope, replaying, run_in_transaction

METHODS = frozenset({"POST", "PATCH"})
# What a replay repeats of the first answer, besides its status and body.
REPLAYED_HEADERS = ("content-type", "location", "etag")
SECRET_FIELDS = "secret_fields"


def secret_fields(*names: str) -> dict[str, Any]:
    """A route's `opt` naming the top-level fields of its answer that hold a secret."""
    return {SECRET_FIELDS: names}


class _ServerError(Exception):
    """Rolls back the whole transaction, keeping nothing, for a 5xx answer."""

    def __init__(self, held: Held) -> None:
        super().__init__()
        self.held = held


async def run_idempotent(
    app: ASGIApp,
    scope: Scope,
    body: bytes,
    conn: db.Connection,
    actor: Actor,
    key: str,
) -> tuple[Held, bool]:
    """The answer to an idempotent request, and whether it committed anything."""
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.one("Idempotency-Key", "must be 1 to 255 characters")
    assert actor.api_key_id is not None
    fingerprint = hashlib.sha256(
        b"\n".join([scope["method"].encode(), scope["path"].encode(), scope["query_string"], body])
    ).digest()
    ident = (actor.company_id, actor.api_key_id, key)
    try:
        with db.bound(conn):
            async with conn.transaction():
                claim = await idempotency.begin(*ident, fingerprint)
                if claim.outcome is idempotency.Outcome.MISMATCH:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used with another request (method, path or body)."
                    )
                if claim.outcome is idempotency.Outcome.IN_FLIGHT:
                    raise Conflict(
                        "A request with this Idempotency-Key is still running; retry shortly."
                    )
                if claim.outcome is idempotency.Outcome.REPLAY:
                    return _replay(claim), False
                held = await run_in_transaction(app, scope, replaying(body), conn)
                if held.status >= 500:
                    raise _ServerError(held)
                headers, stored = _answer(scope, held)
                await idempotency.store(*ident, fingerprint, held.status, headers, stored)
    except _ServerError as error:
        return error.held, False
    return held, held.status < 400


def _replay(claim: idempotency.Claim) -> Held:
    headers = [(k.encode(), v.encode("latin-1")) for k, v in (claim.headers or {}).items()]
    headers.append((b"idempotent-replayed", b"true"))
    return Held(
        [
            {"type": "http.response.start", "status": claim.status, "headers": headers},
            {"type": "http.response.body", "body": claim.body or b""},
        ]
    )


def _answer(scope: Scope, held: Held) -> tuple[dict[str, str], bytes]:
    """The headers worth replaying and the body of a held response, secrets removed."""
    start: Message = held.messages[0]
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1")
        for k, v in start.get("headers", ())
        if k.decode("latin-1").lower() in REPLAYED_HEADERS
    }
    body = b"".join(
        m.get("body", b"") for m in held.messages[1:] if m["type"] == "http.response.body"
    )
    handler = scope.get("route_handler")
    secrets = handler.opt.get(SECRET_FIELDS, ()) if handler is not None else ()
    if secrets and body:
        document = msgspec.json.decode(body)
        if isinstance(document, dict):
            for name in secrets:
                document.pop(name, None)
            body = msgspec.json.encode(document)
    return headers, body
