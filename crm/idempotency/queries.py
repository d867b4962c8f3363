"""The idempotency store's named queries: its only SQL."""

from __future__ import annotations

from asyncpg import Record

from crm.db import Connection
from crm.ids import new_id

KEEP_FOR = "24 hours"


async def try_lock(conn: Connection, company_id: str, api_key_id: str, key: str) -> bool:
    """Take the key's lock for the rest of the transaction; False when another holds it.

    Transaction-scoped: it goes with the transaction, whether that commits, rolls
    back, or dies with its connection (a crash, a kill, an outage).
    """
    taken = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended("
        "'crm.idempotency:' || $1::text || ':' || $2::text || ':' || $3::text, 0))",
        company_id,
        api_key_id,
        key,
    )
    return bool(taken)


async def find_answer(
    conn: Connection, company_id: str, api_key_id: str, key: str
) -> Record | None:
    """The stored answer to a key, when one younger than `KEEP_FOR` exists."""
    row: Record | None = await conn.fetchrow(
        f"""SELECT fingerprint, status, headers, body FROM idempotency_keys
            WHERE company_id = $1 AND api_key_id = $2 AND key = $3
              AND status IS NOT NULL AND created_at >= now() - interval '{KEEP_FOR}'""",
        company_id,
        api_key_id,
        key,
    )
    return row


async def store_answer(
    conn: Connection,
    company_id: str,
    api_key_id: str,
    key: str,
    fingerprint: bytes,
    status: int,
    headers: str,
    body: bytes,
) -> None:
    """Keep an answer, replacing an expired one (or a claim left by an older version)."""
    await conn.execute(
        """INSERT INTO idempotency_keys (id, company_id, api_key_id, key, fingerprint, status,
                                         headers, body, created_at, completed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), now())
           ON CONFLICT (company_id, api_key_id, key) DO UPDATE
               SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
                   headers = EXCLUDED.headers, body = EXCLUDED.body,
                   created_at = EXCLUDED.created_at, completed_at = EXCLUDED.completed_at""",
        new_id(),
        company_id,
        api_key_id,
        key,
        fingerprint,
        status,
        headers,
        body,
    )


async def purge_expired(conn: Connection) -> int:
    """Delete answers older than `KEEP_FOR`; returns how many."""
    count: int = await conn.fetchval(
        f"""WITH gone AS (DELETE FROM idempotency_keys
                          WHERE created_at < now() - interval '{KEEP_FOR}' RETURNING 1)
            SELECT count(*) FROM gone"""
    )
    return count
