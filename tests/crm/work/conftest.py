"""The work engine's tests: a pool of their own, an effects table, kinds of their own.

Each test registers handlers under kinds no other test uses (`test.<random>.*`)
and runs workers that take only those, so leftover jobs of another test are
never claimed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
import pytest

from crm import db
from crm.ids import new_id
from crm.work import registry
from crm.work.schemas import Job
from crm.work.worker import Worker, WorkerOptions

EFFECTS_SQL = """
CREATE SCHEMA IF NOT EXISTS work_test;
CREATE TABLE IF NOT EXISTS work_test.effects (
    n bigserial PRIMARY KEY, job_id uuid NOT NULL, kind text NOT NULL, attempt int NOT NULL
);
"""


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.open_pool(database_url, size=20)
    async with db.acquired(pool) as conn:
        await conn.execute(EFFECTS_SQL)
    yield pool
    await db.close_pool(pool)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A kinds prefix of this test's own; its handlers are forgotten afterwards."""
    name = f"test.{new_id()[-12:]}"
    yield name
    for kind in registry.kinds_matching([f"{name}.*"]):
        registry.unregister(kind)


async def record_effect(job: Job) -> None:
    """A database effect: one row per run, in the transaction of the run."""
    await db.connection().execute(
        "INSERT INTO work_test.effects (job_id, kind, attempt) VALUES ($1, $2, $3)",
        job.id,
        job.kind,
        job.attempts,
    )


async def effects(pool: asyncpg.Pool, job_id: str) -> int:
    async with db.acquired(pool) as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM work_test.effects WHERE job_id = $1", job_id
        )
        return count


async def job_row(pool: asyncpg.Pool, job_id: str) -> asyncpg.Record:
    async with db.acquired(pool) as conn:
        row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        assert row is not None
        return row


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 10.0, step: float = 0.02
) -> float:
    """Wait until `check()` is true; return how long it took."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > within:
            raise AssertionError(f"not so after {within} s")
        await asyncio.sleep(step)
    return time.monotonic() - start


async def in_state(pool: asyncpg.Pool, job_id: str, *states: str) -> bool:
    return (await job_row(pool, job_id))["state"] in states


@asynccontextmanager
async def running(
    pool: asyncpg.Pool, database_url: str, prefix: str, **options: Any
) -> AsyncIterator[Worker]:
    """A worker taking this test's kinds, running in the test's loop until the block ends."""
    options.setdefault("poll_seconds", 0.5)
    options.setdefault("backoff_base_seconds", 0.05)
    options.setdefault("backoff_min_seconds", 0.01)
    options.setdefault("grace_seconds", 5.0)
    worker = Worker(pool, database_url, WorkerOptions(kinds=(f"{prefix}.*",), **options))
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
