"""The front door of `/v1`: key, rate limit, idempotency, one transaction, then the handler.

In order, for every request:

1. **Authenticate** the `Authorization: Bearer` key (malformed keys are refused
   before any database work; verified keys come from `gateway.keys.KeyCache`).
   A client address with too many failures gets 429 before its key is looked up.
2. **Rate-limit** the company by its plan; every answer carries `RateLimit-Policy`
   and `RateLimit`, a 429 adds `Retry-After`.
3. **Idempotency**: a POST or PATCH with `Idempotency-Key` claims the key, or
   replays the stored answer, or is refused (422 reuse, 409 in flight).
4. **Run** the handler on one connection: reads without a transaction (each is a
   single statement), writes in one transaction committed before the response
   leaves; an error response rolls back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from crm import auth_changes, db
from crm.errors import (
    Conflict,
    CRMError,
    IdempotencyKeyReused,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from crm.idempotency import service as idempotency
from crm.settings import Settings
from gateway.keys import KeyCache
from gateway.problems import MEDIA_TYPE, problem_body, translate
from gateway.ratelimit import Decision, RateLimiter
from gateway.request_id import request_id

log = logging.getLogger("gateway")

# ASGI types as plain dicts and callables: this module builds and inspects
# messages directly, which the framework's TypedDict unions make needlessly hard.
Message = dict[str, Any]
Scope = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
# What a replay repeats of the first answer, besides its status and body.
REPLAYED_HEADERS = ("content-type", "location", "etag")


@dataclass
class Gateway:
    """What the front door needs, created with the app's lifespan."""

    settings: Settings
    pool: Any
    keys: KeyCache
    limiter: RateLimiter


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class GatewayMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gateway: Gateway = scope["litestar_app"].state.gateway
        extra: list[tuple[bytes, bytes]] = []

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            await self._handle(gateway, scope, receive, send_with_limits, extra)
        except CRMError as error:
            await _send_problem(scope, send_with_limits, error)
        except Exception as exc:
            problem = translate(exc)
            if problem.status >= 500 and problem.status != 503:
                log.exception("unhandled error (request %s)", request_id(scope), exc_info=exc)
            await _send_problem(scope, send_with_limits, problem)

    async def _handle(
        self,
        gateway: Gateway,
        scope: Scope,
        receive: Receive,
        send: Send,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        async with gateway.pool.acquire(timeout=10) as conn:
            credential = await _authenticate(gateway, scope, conn, extra)
            actor = credential.actor
            decision = await gateway.limiter.hit_company(
                actor.company_id, credential.plan, credential.subscription_status
            )
            extra[:] = decision.headers()
            if not decision.allowed:
                raise RateLimited(
                    "Over the company's rate limit; retry after the time in Retry-After.",
                    violated_policies=[decision.policy],
                    retry_after=max(decision.reset, 1),
                )
            scope.setdefault("state", {})["actor"] = actor

            method = scope["method"]
            idempotency_key = _header(scope, b"idempotency-key")
            if idempotency_key is not None and method in IDEMPOTENT_METHODS:
                with auth_changes.collecting() as changes:
                    held = await _run_idempotent(
                        self.app, scope, receive, conn, actor, idempotency_key
                    )
                await gateway.keys.committed(changes)
                await _send_all(send, held)
            elif method in WRITE_METHODS:
                with auth_changes.collecting() as changes:
                    _, held = await _run_in_transaction(self.app, scope, receive, conn)
                await gateway.keys.committed(changes)
                await _send_all(send, held)
            else:
                with db.bound(conn):
                    await self.app(scope, receive, send)


async def _authenticate(
    gateway: Gateway, scope: Scope, conn: Any, extra: list[tuple[bytes, bytes]]
) -> Any:
    header = _header(scope, b"authorization")
    key = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            key = value.strip()
    cached = gateway.keys.cached(key) if key else None
    if cached is not None:
        return cached
    client = scope.get("client")
    address = client[0] if client else "unknown"
    allowed = await gateway.limiter.check_address(address)
    if not allowed.allowed:
        extra[:] = allowed.headers()
        raise RateLimited(
            "Too many failed authentications from this address; retry later.",
            violated_policies=[allowed.policy],
            retry_after=max(allowed.reset, 1),
        )
    try:
        if key is None:
            raise Unauthenticated(
                "Send an API key: 'Authorization: Bearer <key>'."
                if not header
                else "Use the Bearer scheme: 'Authorization: Bearer <key>'."
            )
        return await gateway.keys.authenticate(key, conn)
    except Unauthenticated:
        failed: Decision = await gateway.limiter.fail_address(address)
        extra[:] = failed.headers()
        raise


async def _read_body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge("The request body is over 1 MiB.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _run_in_transaction(
    app: ASGIApp, scope: Scope, receive: Receive, conn: Any, on_success: Any = None
) -> tuple[int, list[Message]]:
    """Run the handler in a transaction that commits only a success; the response is held.

    `on_success(status, held)` runs inside the transaction, before the commit.
    """
    held: list[Message] = []

    async def hold(message: Message) -> None:
        held.append(message)

    with db.bound(conn):
        try:
            async with conn.transaction():
                await app(scope, receive, hold)
                status = int(held[0]["status"]) if held else 500
                if status >= 400:
                    raise _Rollback
                if on_success is not None:
                    await on_success(status, held)
        except _Rollback:
            pass
    return status, held


class _Rollback(Exception):
    """Raised inside the transaction to roll back an error response's writes."""


async def _send_all(send: Send, held: list[Message]) -> None:
    for message in held:
        await send(message)


async def _run_idempotent(
    app: ASGIApp, scope: Scope, receive: Receive, conn: Any, actor: Any, key: str
) -> list[Message]:
    """The answer to an idempotent request: replayed, refused, or run and stored."""
    if not 1 <= len(key) <= 255:
        raise ValidationFailed.one("Idempotency-Key", "must be 1 to 255 characters")
    body = await _read_body(receive)
    query = scope.get("query_string", b"")
    fingerprint = hashlib.sha256(
        b"\n".join([scope["method"].encode(), scope["path"].encode(), query, body])
    ).digest()
    ident = (actor.company_id, actor.api_key_id, key)
    with db.bound(conn):
        claim = await idempotency.claim(*ident, fingerprint)
    if claim.outcome is idempotency.Outcome.MISMATCH:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with another request (method, path or body)."
        )
    if claim.outcome is idempotency.Outcome.IN_FLIGHT:
        raise Conflict("A request with this Idempotency-Key is still running; retry shortly.")
    if claim.outcome is idempotency.Outcome.REPLAY:
        headers = [(k.encode(), v.encode("latin-1")) for k, v in (claim.headers or {}).items()]
        headers.append((b"idempotent-replayed", b"true"))
        return [
            {"type": "http.response.start", "status": claim.status, "headers": headers},
            {"type": "http.response.body", "body": claim.body or b""},
        ]

    async def store(status: int, held: list[Message]) -> None:
        await idempotency.complete(*ident, status, *_answer(held))

    try:
        status, held = await _run_in_transaction(
            app, scope, _replaying(body), conn, on_success=store
        )
    except BaseException:
        with db.bound(conn):
            await idempotency.release(*ident)
        raise
    if status >= 400:
        # A refusal is an answer too: a retry gets it again. A server error is
        # not: the key is released so the retry runs.
        with db.bound(conn):
            if status >= 500:
                await idempotency.release(*ident)
            else:
                await idempotency.complete(*ident, status, *_answer(held))
    return held


def _answer(held: list[Message]) -> tuple[dict[str, str], bytes]:
    """The headers worth replaying and the body of a held response."""
    start = held[0]
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1")
        for k, v in start.get("headers", ())
        if k.decode("latin-1").lower() in REPLAYED_HEADERS
    }
    body = b"".join(m.get("body", b"") for m in held[1:] if m["type"] == "http.response.body")
    return headers, body


async def _send_problem(scope: Scope, send: Send, error: CRMError) -> None:
    headers = [(b"content-type", MEDIA_TYPE.encode())]
    if isinstance(error, RateLimited):
        headers.append((b"retry-after", str(error.retry_after).encode()))
    body = msgspec.json.encode(problem_body(error, request_id(scope)))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
