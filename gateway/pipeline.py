"""The front door of `/v1`: body, key, rate limit, idempotency, one transaction, the handler.

In order, for every request:

1. **Read the body** whole, bounded in size and time, before any database work
   (`gateway.transaction.read_body`).
2. **Authenticate** the `Authorization: Bearer` key (`gateway.credential`):
   malformed keys are refused before any database work, verified keys come from
   `gateway.keys.KeyCache`; failures are limited per client address.
3. **Rate-limit** the company by its plan; every answer carries `RateLimit-Policy`
   and `RateLimit`, a 429 adds `Retry-After`.
4. **Idempotency** (`gateway.idempotency`): a POST or PATCH with
   `Idempotency-Key` replays the stored answer, is refused (422 reuse, 409 in
   flight), or runs and keeps its answer in its own transaction.
5. **Run** the handler on one connection: reads without a transaction (each is a
   single statement), writes in one transaction committed before the response
   leaves (`gateway.transaction`); an error response rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from crm import auth_changes, db
from crm.errors import RateLimited
from crm.settings import Settings
from gateway import credential
from gateway.idempotency import METHODS as IDEMPOTENT_METHODS
from gateway.idempotency import run_idempotent
from gateway.keys import KeyCache
from gateway.problems import send_problem
from gateway.ratelimit import RateLimiter
from gateway.transaction import (
    ASGIApp,
    Disconnected,
    Held,
    Message,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    replaying,
    run_in_transaction,
)

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class Gateway:
    """What the front door needs, created with the app's lifespan."""

    settings: Settings
    pool: asyncpg.Pool
    keys: KeyCache
    limiter: RateLimiter
    proxies: tuple[credential.Network, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.proxies = self.settings.proxy_networks()

    def client_address(self, scope: Scope) -> str:
        return credential.client_address(scope, self.proxies)


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
            held = await self._handle(gateway, scope, receive, send_with_limits, extra)
        except Disconnected:
            return
        except Exception as exc:
            await send_problem(scope, receive, send_with_limits, exc)
            return
        await held.send(send_with_limits)

    async def _handle(
        self,
        gateway: Gateway,
        scope: Scope,
        receive: Receive,
        send: Send,
        extra: list[tuple[bytes, bytes]],
    ) -> Held:
        """The request's answer, held until its connection is back in the pool."""
        body = await read_body(scope, receive)
        address = gateway.client_address(scope)
        async with db.acquired(gateway.pool) as conn:
            found = await credential.api_key_credential(
                gateway.keys, gateway.limiter, scope, address, conn, extra
            )
            decision = await gateway.limiter.hit_company(
                found.actor.company_id, found.plan, found.subscription_status
            )
            extra[:] = decision.headers()
            if not decision.allowed:
                raise RateLimited(
                    "Over the company's rate limit; retry after the time in Retry-After.",
                    violated_policies=[decision.policy],
                    retry_after=max(decision.reset, 1),
                )
            scope.setdefault("state", {})["actor"] = found.actor

            method = scope["method"]
            idempotency_key = header(scope, b"idempotency-key")
            if method not in WRITE_METHODS:
                # Held too, and sent once the connection is back in the pool: a
                # client slow to read its answer must not hold a connection.
                held = Held()
                with db.bound(conn):
                    await self.app(scope, replaying(body), held.append)
                return held
            with auth_changes.collecting() as changes:
                if idempotency_key is not None and method in IDEMPOTENT_METHODS:
                    held, committed = await run_idempotent(
                        self.app, scope, body, conn, found.actor, idempotency_key
                    )
                else:
                    held = await run_in_transaction(self.app, scope, replaying(body), conn)
                    committed = held.status < 400
        if committed:
            await gateway.keys.committed(changes)
        return held
