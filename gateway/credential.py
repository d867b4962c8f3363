"""Who is calling: the client's address, and the API key or admin token it presents.

**Addresses.** The client address is the socket's peer. `X-Forwarded-For` is
believed only when that peer is one of `CRM_TRUSTED_PROXIES`: the address is
then the right-most entry not itself a trusted proxy (each proxy appends the
address it saw; whatever a client writes itself stands further left).

**Failures are limited, credentials are not.** A presented credential is
verified first; only a failure counts against the address
(`CRM_AUTH_FAILURE_LIMIT`), and one over the limit answers 429 instead of 401.
A valid API key is always served, whatever its address did before: its 256
random bits cannot be guessed, the limit only keeps failures cheap.
"""

from __future__ import annotations

import hmac
import ipaddress

from crm import db
from crm.api_keys.service import Credential
from crm.errors import RateLimited, Unauthenticated
from gateway.keys import KeyCache
from gateway.ratelimit import RateLimiter
from gateway.transaction import Scope, header

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(scope: Scope, proxies: tuple[Network, ...]) -> str:
    """The address a request comes from, believing proxy headers only from `proxies`."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops: list[str] = [
        hop.strip()
        for key, value in scope["headers"]
        if key == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def bearer(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    value = header(scope, b"authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def refuse(
    limiter: RateLimiter, address: str, error: Unauthenticated, extra: list[tuple[bytes, bytes]]
) -> RateLimited | Unauthenticated:
    """Count a failed authentication; the error to answer (429 once over the limit)."""
    decision = await limiter.fail_address(address)
    extra[:] = decision.headers()
    if decision.allowed:
        return error
    return RateLimited(
        "Too many failed authentications from this address; retry later.",
        violated_policies=[decision.policy],
        retry_after=max(decision.reset, 1),
    )


async def api_key_credential(
    keys: KeyCache,
    limiter: RateLimiter,
    scope: Scope,
    address: str,
    conn: db.Connection,
    extra: list[tuple[bytes, bytes]],
) -> Credential:
    """The credential of the request's API key; 401 (429 when failing too often)."""
    key = bearer(scope)
    cached = await keys.cached(key) if key else None
    if cached is not None:
        return cached
    try:
        if key is None:
            raise Unauthenticated(
                "Use the Bearer scheme: 'Authorization: Bearer <key>'."
                if header(scope, b"authorization")
                else "Send an API key: 'Authorization: Bearer <key>'."
            )
        return await keys.authenticate(key, conn)
    except Unauthenticated as error:
        raise await refuse(limiter, address, error, extra) from None


async def check_admin_token(token: str, limiter: RateLimiter, scope: Scope, address: str) -> None:
    """Pass when the request carries the admin token; 401 (429 when failing too often)."""
    presented = bearer(scope) or ""
    # Compared as bytes: a header is any octets, and compare_digest refuses
    # non-ASCII text.
    if hmac.compare_digest(presented.encode("latin-1"), token.encode("utf-8")):
        return
    extra: list[tuple[bytes, bytes]] = []
    raise await refuse(
        limiter, address, Unauthenticated("The admin token is missing or wrong."), extra
    )
