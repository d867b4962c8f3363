"""The idempotency store: the first completed answer to a request, kept 24 hours.

A request sent with an idempotency key first *claims* the key in a statement of
its own (committed at once, so a concurrent duplicate sees it), runs, then
*completes* it: a success in the same transaction as the request's writes, so
the stored answer and the writes land together or not at all; a refusal (4xx)
after its rollback. A request that fails with a server error *releases* the key
so a retry can run. A claim left running for `STALE_AFTER` by a process that
died is taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec

from crm import db
from crm.ids import new_id

KEEP_FOR = "24 hours"
STALE_AFTER = "5 minutes"


class Outcome(Enum):
    NEW = "new"  # this request owns the key: run it
    REPLAY = "replay"  # answered before: send the stored answer
    MISMATCH = "mismatch"  # the key was used for another request
    IN_FLIGHT = "in_flight"  # the first request is still running


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Outcome
    status: int | None = None
    headers: dict[str, str] | None = None
    body: bytes | None = None


async def claim(company_id: str, api_key_id: str, key: str, fingerprint: bytes) -> Claim:
    conn = db.connection()
    taken = await conn.fetchval(
        f"""INSERT INTO idempotency_keys (id, company_id, api_key_id, key, fingerprint, created_at)
            VALUES ($1, $2, $3, $4, $5, now())
            ON CONFLICT (company_id, api_key_id, key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, created_at = now(), status = NULL,
                    headers = NULL, body = NULL, completed_at = NULL
                WHERE idempotency_keys.created_at < now() - interval '{KEEP_FOR}'
                   OR (idempotency_keys.status IS NULL
                       AND idempotency_keys.created_at < now() - interval '{STALE_AFTER}')
            RETURNING TRUE""",
        new_id(),
        company_id,
        api_key_id,
        key,
        fingerprint,
    )
    if taken:
        return Claim(Outcome.NEW)
    row = await conn.fetchrow(
        """SELECT fingerprint, status, headers, body FROM idempotency_keys
           WHERE company_id = $1 AND api_key_id = $2 AND key = $3""",
        company_id,
        api_key_id,
        key,
    )
    if row is None:  # released between our two statements: try once more
        return await claim(company_id, api_key_id, key, fingerprint)
    if bytes(row["fingerprint"]) != fingerprint:
        return Claim(Outcome.MISMATCH)
    if row["status"] is None:
        return Claim(Outcome.IN_FLIGHT)
    headers: dict[str, str] = msgspec.json.decode(row["headers"]) if row["headers"] else {}
    return Claim(Outcome.REPLAY, status=row["status"], headers=headers, body=bytes(row["body"]))


async def complete(
    company_id: str, api_key_id: str, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    await db.connection().execute(
        """UPDATE idempotency_keys
           SET status = $4, headers = $5, body = $6, completed_at = now()
           WHERE company_id = $1 AND api_key_id = $2 AND key = $3""",
        company_id,
        api_key_id,
        key,
        status,
        msgspec.json.encode(headers).decode(),
        body,
    )


async def release(company_id: str, api_key_id: str, key: str) -> None:
    await db.connection().execute(
        """DELETE FROM idempotency_keys
           WHERE company_id = $1 AND api_key_id = $2 AND key = $3 AND status IS NULL""",
        company_id,
        api_key_id,
        key,
    )


async def purge_expired() -> Any:
    """Delete answers older than 24 hours; returns how many."""
    return await db.connection().fetchval(
        f"""WITH gone AS (DELETE FROM idempotency_keys
                          WHERE created_at < now() - interval '{KEEP_FOR}' RETURNING 1)
            SELECT count(*) FROM gone"""
    )
