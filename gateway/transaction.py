"""One transaction per request, committed at the boundary before the response leaves.

Every route that writes goes through here: `/v1` by way of `gateway.pipeline`,
the operator API and the payment webhook by `TransactionMiddleware`.

- **The body first.** The whole body is read, at most `MAX_BODY_BYTES` within
  `BODY_SECONDS`, before a pooled connection is taken: a client trickling its
  body holds a socket, never a database connection.
- **The response is held** until the transaction's fate is known: a success
  (status < 400) commits first and is sent after; an error response rolls back,
  so a failed request leaves the database as it was. A commit that fails turns
  into an error response instead of a success that did not happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import types

from crm import auth_changes, db
from crm.errors import PayloadTooLarge
from gateway.problems import RequestTimeout, send_problem

# ASGI types as plain dicts and callables: these middlewares build and inspect
# messages directly, which the framework's TypedDict unions make needlessly hard.
Message = dict[str, Any]
Scope = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024
# A megabyte arrives in well under this on any link a client should use; a body
# slower than that is refused rather than waited for.
BODY_SECONDS = 20.0


class Disconnected(Exception):
    """The client went away before its body arrived: nothing to run, no one to answer."""


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(scope: Scope, receive: Receive) -> bytes:
    """The whole request body: 413 over 1 MiB, 408 when it takes over `BODY_SECONDS`."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge("The request body is over 1 MiB.")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(BODY_SECONDS):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise Disconnected
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise PayloadTooLarge("The request body is over 1 MiB.")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {BODY_SECONDS:g} seconds."
        ) from None
    return b"".join(chunks)


def replaying(body: bytes) -> Receive:
    """A `receive` that hands the handler the body already read."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


@dataclass
class Held:
    """A response kept back while its transaction is decided."""

    messages: list[Message] = field(default_factory=list)

    async def append(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"]) if self.messages else 500

    async def send(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


class _Rollback(Exception):
    """Raised inside the transaction to roll back an error response's writes."""


async def run_in_transaction(
    app: ASGIApp, scope: Scope, receive: Receive, conn: db.Connection
) -> Held:
    """Run the handler in a transaction that commits only a success; the response is held.

    Inside a transaction already open on `conn` this is a savepoint: the caller
    decides the outer commit (the idempotency store writes the answer there).
    """
    held = Held()
    with db.bound(conn):
        try:
            async with conn.transaction():
                await app(scope, receive, held.append)
                if held.status >= 400:
                    raise _Rollback
        except _Rollback:
            pass
    return held


class TransactionMiddleware:
    """The request transaction for routes outside `/v1` (operator API, webhooks)."""

    def __init__(self, app: types.ASGIApp) -> None:
        self.app: ASGIApp = app  # type: ignore[assignment]

    async def __call__(self, scope: types.Scope, receive: types.Receive, send: types.Send) -> None:
        await self._call(scope, receive, send)  # type: ignore[arg-type]

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["litestar_app"].state
        try:
            body = await read_body(scope, receive)
            with auth_changes.collecting() as changes:
                async with db.acquired(state.pool) as conn:
                    held = await run_in_transaction(self.app, scope, replaying(body), conn)
            if held.status < 400:
                # Committed: this process forgets what the change made stale before it
                # answers (other processes hear the notification).
                await state.gateway.keys.committed(changes)
        except Disconnected:
            return
        except Exception as exc:
            # Nothing held may be sent: the body was refused, the pool was
            # unreachable, or the commit failed.
            await send_problem(scope, receive, send, exc)
            return
        await held.send(send)
