"""The idempotency store: the first completed answer to a request, kept 24 hours.

A request sent with an idempotency key runs inside one transaction that first
*begins* the key: it takes the key's transaction-scoped lock (a duplicate that
finds it taken is told the first is still running) and looks for a stored
answer. The request's writes and its answer (`store`) then commit together or
not at all. Nothing marks a key as running but the lock, so nothing outlives
the transaction: when the process crashes, is killed or loses the database,
PostgreSQL ends the transaction and the next retry runs at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import msgspec

from crm import db
from crm.idempotency import queries


class Outcome(Enum):
    NEW = "new"  # this request holds the key: run it
    REPLAY = "replay"  # answered before: send the stored answer
    MISMATCH = "mismatch"  # the key was used for another request
    IN_FLIGHT = "in_flight"  # the first request is still running


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Outcome
    status: int | None = None
    headers: dict[str, str] | None = None
    body: bytes | None = None


async def begin(company_id: str, api_key_id: str, key: str, fingerprint: bytes) -> Claim:
    """Hold the key for the current transaction, or say why not. Call inside a transaction."""
    conn = db.connection()
    if not await queries.try_lock(conn, company_id, api_key_id, key):
        return Claim(Outcome.IN_FLIGHT)
    row = await queries.find_answer(conn, company_id, api_key_id, key)
    if row is None:
        return Claim(Outcome.NEW)
    if bytes(row["fingerprint"]) != fingerprint:
        return Claim(Outcome.MISMATCH)
    headers: dict[str, str] = msgspec.json.decode(row["headers"]) if row["headers"] else {}
    return Claim(Outcome.REPLAY, status=row["status"], headers=headers, body=bytes(row["body"]))


async def store(
    company_id: str,
    api_key_id: str,
    key: str,
    fingerprint: bytes,
    status: int,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """Keep the answer to the key held by `begin`, in the same transaction."""
    await queries.store_answer(
        db.connection(),
        company_id,
        api_key_id,
        key,
        fingerprint,
        status,
        msgspec.json.encode(headers).decode(),
        body,
    )


async def purge_expired() -> int:
    """Delete answers older than 24 hours; returns how many."""
    return await queries.purge_expired(db.connection())
