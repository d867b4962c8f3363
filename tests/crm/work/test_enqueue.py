"""Enqueueing: in the caller's transaction, once per key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from crm import db
from crm.errors import NotFound
from crm.work import service
from crm.work.schemas import JobState


async def test_a_job_enqueued_in_a_rolled_back_transaction_does_not_exist(
    pool: asyncpg.Pool, prefix: str
) -> None:
    async with db.transaction(pool) as tx:
        job = await service.enqueue(f"{prefix}.x", {"n": 1})
        tx.rollback_only()
    async with db.transaction(pool):
        assert await service.get_job_by_key(f"{prefix}.none") is None
        with pytest.raises(NotFound):
            await service.get_job(job.id)


async def test_a_job_commits_with_the_write_that_causes_it(pool: asyncpg.Pool, prefix: str) -> None:
    async with db.transaction(pool):
        job = await service.enqueue(f"{prefix}.x", {"to": ["a@example.com"], "n": 2})
    async with db.transaction(pool):
        stored = await service.get_job(job.id)
    assert stored.state is JobState.PENDING
    assert stored.payload == {"to": ["a@example.com"], "n": 2}
    assert stored.attempts == 0
    assert stored.max_attempts == service.DEFAULT_MAX_ATTEMPTS


async def test_a_second_enqueue_with_the_same_key_returns_the_first_job(
    pool: asyncpg.Pool, prefix: str
) -> None:
    key = f"{prefix}:welcome:contact-1"
    async with db.transaction(pool):
        first = await service.enqueue(f"{prefix}.x", {"n": 1}, key=key)
    async with db.transaction(pool):
        second = await service.enqueue(f"{prefix}.x", {"n": 2}, key=key)
    assert second.id == first.id
    assert second.payload == {"n": 1}
    async with db.acquired(pool) as conn:
        assert await conn.fetchval("SELECT count(*) FROM jobs WHERE key = $1", key) == 1


async def test_a_timer_keeps_its_due_time(pool: asyncpg.Pool, prefix: str) -> None:
    due = datetime.now(UTC) + timedelta(days=3)
    async with db.transaction(pool):
        job = await service.enqueue(f"{prefix}.x", {}, run_at=due, company_id=None, max_attempts=3)
    assert job.run_at == due
    assert job.max_attempts == 3


async def test_max_attempts_below_one_is_refused(pool: asyncpg.Pool, prefix: str) -> None:
    async with db.transaction(pool):
        with pytest.raises(ValueError, match="at least 1"):
            await service.enqueue(f"{prefix}.x", {}, max_attempts=0)
