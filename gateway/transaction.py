"""One transaction per request, committed at the boundary before the response leaves.

The response is held back until the transaction's fate is known: a success
(status < 400) commits first and is sent after; an error response rolls back,
so a failed request leaves the database as it was. A commit that fails turns
into an error response instead of a success that did not happen.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from crm import auth_changes, db
from gateway.problems import handle_exception


class TransactionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        state = scope["litestar_app"].state
        try:
            with auth_changes.collecting() as changes:
                async with db.transaction(state.pool) as tx:
                    await self.app(scope, receive, hold)
                    status: Any = held[0].get("status", 500) if held else 500
                    if status >= 400:
                        tx.rollback_only()
            if status < 400:
                # Committed: this process forgets what the change made stale before it
                # answers (other processes hear the notification).
                await state.gateway.keys.committed(changes)
        except Exception as exc:
            # The app answered, but the commit failed (or the pool was unreachable):
            # what was held must not be sent.
            held = []
            request: Request[Any, Any, Any] = Request(scope, receive)
            response = handle_exception(request, exc)
            await response.to_asgi_response(None, request)(scope, receive, send)
            return
        for message in held:
            await send(message)
