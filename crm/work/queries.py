"""The work engine's named queries: its only SQL.

Every change a worker makes to a job it runs is guarded by `(id, state =
'running', locked_by, attempts)`: a worker whose lease was taken over, or whose
job was cancelled, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from crm import db
from crm.sql import Columns
from crm.work.schemas import Job, JobCount, JobState

# Enqueue NOTIFYs this channel for jobs due within `NOTIFY_AHEAD_SECONDS`, with
# "<kind> <due epoch seconds>": idle workers wake then, not at their next poll.
CHANNEL = "crm_work"
NOTIFY_AHEAD_SECONDS = 5

JOB = Columns(
    Job,
    "j",
    computed={
        "payload": (("payload",), msgspec.json.decode),
        "state": (("state",), JobState),
    },
)

# A guard on the attempt a worker holds: $1 id, $2 worker, $3 attempt.
_HELD = "id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3"


async def insert(
    conn: db.Connection,
    *,
    job_id: str,
    kind: str,
    payload: str,
    key: str | None,
    run_at: datetime | None,
    company_id: str | None,
    max_attempts: int,
) -> Job | None:
    """Insert a pending job (None when its key exists), notifying workers if it is due soon."""
    row = await conn.fetchrow(
        f"""WITH j AS (
                INSERT INTO jobs (id, kind, payload, company_id, key, state, run_at, attempts,
                                  max_attempts, created_at, updated_at)
                VALUES ($1, $2, $3::jsonb, $4, $5, 'pending', COALESCE($6, now()), 0, $7,
                        now(), now())
                ON CONFLICT (key) DO NOTHING
                RETURNING *)
            SELECT {JOB.sql},
                   CASE WHEN j.run_at <= now() + interval '{NOTIFY_AHEAD_SECONDS} seconds'
                        THEN pg_notify('{CHANNEL}',
                                       j.kind || ' ' || extract(epoch FROM j.run_at)::text)
                   END
            FROM j""",
        job_id,
        kind,
        payload,
        company_id,
        key,
        run_at,
        max_attempts,
    )
    return None if row is None else JOB.build(row)


async def get(conn: db.Connection, job_id: str) -> Job | None:
    row = await conn.fetchrow(f"SELECT {JOB.sql} FROM jobs j WHERE j.id = $1", job_id)
    return None if row is None else JOB.build(row)


async def get_by_key(conn: db.Connection, key: str) -> Job | None:
    row = await conn.fetchrow(f"SELECT {JOB.sql} FROM jobs j WHERE j.key = $1", key)
    return None if row is None else JOB.build(row)


async def claim(
    conn: db.Connection, worker: str, kinds: Sequence[str], limit: int, lease_seconds: float
) -> list[Job]:
    """Take up to `limit` due jobs of `kinds`: pending ones whose time has come, and
    running ones whose lease ended (their worker died). Oldest due first.

    One statement, so one round trip and no transaction held: the rows are
    locked `SKIP LOCKED` (another worker's claim passes them by), marked
    running under this worker's lease, their attempt counted, and committed.
    """
    rows = await conn.fetch(
        f"""WITH due AS (
                SELECT id FROM jobs
                WHERE state IN ('pending', 'running') AND run_at <= now() AND kind = ANY($2)
                ORDER BY run_at
                LIMIT $3
                FOR UPDATE SKIP LOCKED),
            j AS (
                UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1,
                                locked_by = $1,
                                lease_until = now() + $4 * interval '1 second',
                                run_at = now() + $4 * interval '1 second',
                                updated_at = now()
                FROM due WHERE jobs.id = due.id
                RETURNING jobs.*)
            SELECT {JOB.sql} FROM j""",
        worker,
        list(kinds),
        limit,
        lease_seconds,
    )
    return [JOB.build(row) for row in rows]


async def next_due(conn: db.Connection) -> datetime | None:
    """When the next pending timer (or lease) falls due: one probe of the due index."""
    value: datetime | None = await conn.fetchval(
        """SELECT run_at FROM jobs
           WHERE state IN ('pending', 'running') AND run_at > now()
           ORDER BY run_at LIMIT 1"""
    )
    return value


async def lock_held(conn: db.Connection, job_id: str, worker: str, attempt: int) -> bool:
    """Lock the job's row for this transaction, if this worker still holds this attempt."""
    found = await conn.fetchval(
        f"SELECT 1 FROM jobs WHERE {_HELD} FOR UPDATE", job_id, worker, attempt
    )
    return found is not None


async def extend_lease(
    conn: db.Connection, job_id: str, worker: str, attempt: int, lease_seconds: float
) -> bool:
    """Push the lease on; False when the job is no longer this worker's (cancelled, taken)."""
    found = await conn.fetchval(
        f"""UPDATE jobs SET lease_until = now() + $4 * interval '1 second',
                            run_at = now() + $4 * interval '1 second', updated_at = now()
            WHERE {_HELD} RETURNING 1""",
        job_id,
        worker,
        attempt,
        lease_seconds,
    )
    return found is not None


async def succeed(conn: db.Connection, job_id: str, worker: str, attempt: int) -> bool:
    found = await conn.fetchval(
        f"""UPDATE jobs SET state = 'succeeded', lease_until = NULL, last_error = NULL,
                            finished_at = now(), updated_at = now()
            WHERE {_HELD} RETURNING 1""",
        job_id,
        worker,
        attempt,
    )
    return found is not None


async def retry_later(
    conn: db.Connection, job_id: str, worker: str, attempt: int, seconds: float, error: str
) -> bool:
    found = await conn.fetchval(
        f"""UPDATE jobs SET state = 'pending', run_at = now() + $4 * interval '1 second',
                            lease_until = NULL, last_error = $5, updated_at = now()
            WHERE {_HELD} RETURNING 1""",
        job_id,
        worker,
        attempt,
        seconds,
        error,
    )
    return found is not None


async def fail(conn: db.Connection, job_id: str, worker: str, attempt: int, error: str) -> bool:
    found = await conn.fetchval(
        f"""UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = $4,
                            finished_at = now(), updated_at = now()
            WHERE {_HELD} RETURNING 1""",
        job_id,
        worker,
        attempt,
        error,
    )
    return found is not None


async def release(conn: db.Connection, job_id: str, worker: str, attempt: int) -> bool:
    """Give back an attempt that did not run to its end (shutdown): due now, not counted."""
    found = await conn.fetchval(
        f"""UPDATE jobs SET state = 'pending', attempts = attempts - 1, run_at = now(),
                            lease_until = NULL, locked_by = NULL, updated_at = now()
            WHERE {_HELD} RETURNING 1""",
        job_id,
        worker,
        attempt,
    )
    return found is not None


async def fail_unhandled(
    conn: db.Connection,
    known: Sequence[str],
    patterns: Sequence[str],
    grace_seconds: float,
    limit: int = 100,
) -> list[tuple[str, str]]:
    """Fail due jobs of kinds matching `patterns` (SQL LIKE) that no handler here knows.

    Only once they have been due `grace_seconds`: during a rolling deploy a
    worker of the other version takes them first. Returns (id, kind) of each.
    """
    rows = await conn.fetch(
        """UPDATE jobs SET state = 'failed', lease_until = NULL, finished_at = now(),
                           updated_at = now(),
                           last_error = 'no handler for kind ' || kind || ' in this deployment'
           WHERE id IN (
               SELECT id FROM jobs
               WHERE state IN ('pending', 'running')
                 AND run_at <= now() - $3 * interval '1 second'
                 AND kind LIKE ANY($2) AND NOT kind = ANY($1)
               ORDER BY run_at LIMIT $4
               FOR UPDATE SKIP LOCKED)
           RETURNING id, kind""",
        list(known),
        list(patterns),
        grace_seconds,
        limit,
    )
    return [(row["id"], row["kind"]) for row in rows]


async def cancel(conn: db.Connection, job_id: str) -> Job | None:
    """Cancel a pending or running job; None when it is not (or no longer) either."""
    row = await conn.fetchrow(
        f"""WITH j AS (
                UPDATE jobs SET state = 'cancelled', lease_until = NULL, finished_at = now(),
                                updated_at = now()
                WHERE id = $1 AND state IN ('pending', 'running') RETURNING *)
            SELECT {JOB.sql} FROM j""",
        job_id,
    )
    return None if row is None else JOB.build(row)


async def cancel_by_key(conn: db.Connection, key: str) -> Job | None:
    row = await conn.fetchrow(
        f"""WITH j AS (
                UPDATE jobs SET state = 'cancelled', lease_until = NULL, finished_at = now(),
                                updated_at = now()
                WHERE key = $1 AND state IN ('pending', 'running') RETURNING *)
            SELECT {JOB.sql} FROM j""",
        key,
    )
    return None if row is None else JOB.build(row)


async def retry(conn: db.Connection, job_id: str) -> Job | None:
    """Run a failed or cancelled job again now, with its attempts counted afresh."""
    row = await conn.fetchrow(
        f"""WITH j AS (
                UPDATE jobs SET state = 'pending', run_at = now(), attempts = 0,
                                lease_until = NULL, locked_by = NULL, finished_at = NULL,
                                updated_at = now()
                WHERE id = $1 AND state IN ('failed', 'cancelled') RETURNING *)
            SELECT {JOB.sql}, pg_notify('{CHANNEL}',
                                        j.kind || ' ' || extract(epoch FROM j.run_at)::text)
            FROM j""",
        job_id,
    )
    return None if row is None else JOB.build(row)


async def counts(conn: db.Connection) -> list[JobCount]:
    rows = await conn.fetch(
        "SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state"
    )
    return [JobCount(kind=r[0], state=JobState(r[1]), count=r[2]) for r in rows]


async def list_failed(conn: db.Connection, limit: int) -> list[Job]:
    """Failed jobs, the most recent failure first."""
    rows = await conn.fetch(
        f"""SELECT {JOB.sql} FROM jobs j WHERE j.state = 'failed'
            ORDER BY j.finished_at DESC LIMIT $1""",
        limit,
    )
    return [JOB.build(row) for row in rows]


async def purge_finished(conn: db.Connection, keep_days: int, limit: int) -> Any:
    """Delete up to `limit` jobs that succeeded or were cancelled over `keep_days` ago."""
    return await conn.fetchval(
        """WITH gone AS (
               DELETE FROM jobs WHERE id IN (
                   SELECT id FROM jobs
                   WHERE state IN ('succeeded', 'cancelled')
                     AND finished_at < now() - $1 * interval '1 day'
                   LIMIT $2)
               RETURNING 1)
           SELECT count(*) FROM gone""",
        keep_days,
        limit,
    )
