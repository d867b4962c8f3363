"""Enqueueing work, and what operators do with it: inspect, retry, cancel.

`enqueue` runs on the caller's transaction (`crm.db.connection()`): the job
commits with the business write that causes it, or not at all. The worker
(`crm.work.worker`) does the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from crm import db
from crm.errors import Conflict, NotFound
from crm.ids import new_id, parse_id
from crm.work import queries, registry
from crm.work.schemas import FINISHED, Job, JobCount

DEFAULT_MAX_ATTEMPTS = 25
# Jobs that succeeded or were cancelled are kept this long (for inspection, and
# so that their keys keep refusing duplicates), then purged by the worker.
KEEP_FINISHED_DAYS = 7


async def enqueue(
    kind: str,
    payload: Any,
    *,
    key: str | None = None,
    run_at: datetime | None = None,
    company_id: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Enqueue a job of `kind` in the current transaction; run it at `run_at` (default: now).

    With a `key` that a job kept already has, nothing is inserted and that job
    is returned: the same work is never enqueued twice. A job due within a few
    seconds wakes idle workers when the transaction commits.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    conn = db.connection()
    encoded = msgspec.json.encode(payload).decode()
    job = await queries.insert(
        conn,
        job_id=new_id(),
        kind=kind,
        payload=encoded,
        key=key,
        run_at=run_at,
        company_id=company_id,
        max_attempts=max_attempts,
    )
    if job is not None:
        return job
    assert key is not None  # only a key can clash
    existing = await queries.get_by_key(conn, key)
    if existing is None:  # purged between the two statements: enqueue it afresh
        return await enqueue(
            kind, payload, key=key, run_at=run_at, company_id=company_id, max_attempts=max_attempts
        )
    return existing


async def get_job(job_id: str) -> Job:
    canonical = parse_id(job_id)
    job = None if canonical is None else await queries.get(db.connection(), canonical)
    if job is None:
        raise NotFound(f"No job has id {job_id}.")
    return job


async def get_job_by_key(key: str) -> Job | None:
    return await queries.get_by_key(db.connection(), key)


async def cancel_job(job_id: str) -> Job:
    """Cancel a pending or running job: it never runs (again).

    A running external-effect attempt is stopped at its next lease extension
    and its outcome is not recorded; a running database-effect attempt holds its
    row, so the cancel waits for it and finds it finished.
    """
    job = await get_job(job_id)
    cancelled = await queries.cancel(db.connection(), job.id)
    if cancelled is None:
        current = await get_job(job_id)
        raise Conflict(
            f"Job {job_id} is {current.state.value}: only pending or running jobs can be cancelled."
        )
    return cancelled


async def cancel_by_key(key: str) -> Job | None:
    """Cancel the pending or running job with `key` (a timer that is no longer wanted)."""
    return await queries.cancel_by_key(db.connection(), key)


async def retry_job(job_id: str) -> Job:
    """Run a failed or cancelled job again, now, with its attempts counted afresh."""
    job = await get_job(job_id)
    if job.state not in FINISHED or job.state.value == "succeeded":
        raise Conflict(
            f"Job {job_id} is {job.state.value}: only failed or cancelled jobs can be retried."
        )
    retried = await queries.retry(db.connection(), job.id)
    if retried is None:
        current = await get_job(job_id)
        raise Conflict(
            f"Job {job_id} is {current.state.value}: only failed or cancelled jobs can be retried."
        )
    return retried


async def count_jobs() -> list[JobCount]:
    """How many jobs of each kind are in each state."""
    return await queries.counts(db.connection())


async def list_failed(*, limit: int = 50) -> list[Job]:
    """The failed jobs with their errors, the most recent failure first."""
    return await queries.list_failed(db.connection(), limit)


async def purge_finished(*, keep_days: int = KEEP_FINISHED_DAYS, batch: int = 10_000) -> int:
    """Delete jobs that succeeded or were cancelled over `keep_days` ago; returns how many."""
    total = 0
    while True:
        gone = int(await queries.purge_finished(db.connection(), keep_days, batch))
        total += gone
        if gone < batch:
            return total


PeriodicFunction = Callable[[], Awaitable[None]]


def periodic(kind: str, *, every: timedelta) -> Callable[[PeriodicFunction], PeriodicFunction]:
    """Register a database-effect handler that runs once per period, on every deployment.

    Each run is a job keyed by its period (`kind@2026-11-28T14:00:00+00:00`) that
    enqueues the next period's in the same transaction, so however many workers
    start, each period runs once; `ensure_periodic` starts the chain.
    """
    seconds = every.total_seconds()

    def register(function: PeriodicFunction) -> PeriodicFunction:
        async def run(job: Job) -> None:
            await function()
            slot = datetime.fromisoformat(job.payload["slot"])
            await _enqueue_slot(kind, slot + every)

        registry.handler(kind, effect="database")(run)
        _periodic[kind] = seconds
        return function

    return register


_periodic: dict[str, float] = {}


def _slot(seconds: float, now: datetime) -> datetime:
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


async def _enqueue_slot(kind: str, slot: datetime) -> Job:
    return await enqueue(
        kind, {"slot": slot.isoformat()}, key=f"{kind}@{slot.isoformat()}", run_at=slot
    )


async def ensure_periodic(kinds: list[str]) -> None:
    """Enqueue the current period's run of each periodic kind in `kinds` (once per key)."""
    now = datetime.now(UTC)
    for kind in kinds:
        if kind in _periodic:
            await _enqueue_slot(kind, _slot(_periodic[kind], now))
