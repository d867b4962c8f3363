"""The worker in this process: claiming, effects, retries, cancellation, unknown kinds, wake-ups."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg

from crm import db
from crm.work import registry, service
from crm.work.registry import Failed, RetryLater, handler
from crm.work.schemas import Job
from tests.crm.work.conftest import (
    effects,
    eventually,
    in_state,
    job_row,
    record_effect,
    running,
)


async def enqueue(pool: asyncpg.Pool, kind: str, payload: object = None, **options: object) -> Job:
    async with db.transaction(pool):
        return await service.enqueue(kind, payload or {}, **options)  # type: ignore[arg-type]


async def test_a_database_effect_commits_with_the_job_succeeded(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    jobs = [await enqueue(pool, f"{prefix}.effect") for _ in range(20)]
    async with running(pool, database_url, prefix, concurrency=4):
        for job in jobs:
            await eventually(partial(in_state, pool, job.id, "succeeded"))
    for job in jobs:
        assert await effects(pool, job.id) == 1
        row = await job_row(pool, job.id)
        assert (row["attempts"], row["lease_until"], row["last_error"]) == (1, None, None)
        assert row["finished_at"] is not None


async def test_two_workers_never_run_a_job_twice(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    jobs = [await enqueue(pool, f"{prefix}.effect") for _ in range(200)]
    async with (
        running(pool, database_url, prefix, concurrency=4) as one,
        running(pool, database_url, prefix, concurrency=4) as two,
    ):
        for job in jobs:
            await eventually(partial(in_state, pool, job.id, "succeeded"), within=60)
    async with db.acquired(pool) as conn:
        counts = await conn.fetch(
            "SELECT job_id, count(*) AS n FROM work_test.effects WHERE kind = $1 GROUP BY job_id",
            f"{prefix}.effect",
        )
    assert len(counts) == 200
    assert {row["n"] for row in counts} == {1}
    assert one.completed + two.completed == 200
    assert one.completed > 0
    assert two.completed > 0


async def test_a_failing_handler_is_retried_with_backoff_then_fails_with_its_error(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    times: list[datetime] = []

    @handler(f"{prefix}.broken", effect="database")
    async def broken(job: Job) -> None:
        times.append(datetime.now(UTC))
        await record_effect(job)  # rolled back with the attempt
        raise ValueError(f"attempt {job.attempts} broke")

    job = await enqueue(pool, f"{prefix}.broken", max_attempts=4)
    async with running(
        pool, database_url, prefix, backoff_base_seconds=0.2, backoff_min_seconds=0.1
    ):
        await eventually(lambda: in_state(pool, job.id, "failed"))
    row = await job_row(pool, job.id)
    assert row["attempts"] == 4
    assert row["last_error"] == "ValueError: attempt 4 broke"
    assert len(times) == 4
    assert all(b - a >= timedelta(seconds=0.1) for a, b in itertools.pairwise(times))
    assert await effects(pool, job.id) == 0


async def test_retry_later_is_honoured(pool: asyncpg.Pool, database_url: str, prefix: str) -> None:
    times: list[datetime] = []

    @handler(f"{prefix}.deferred", effect="external")
    async def deferred(job: Job) -> None:
        times.append(datetime.now(UTC))
        if job.attempts == 1:
            raise RetryLater(1.5, "451 4.7.1 try again later")

    job = await enqueue(pool, f"{prefix}.deferred")
    async with running(pool, database_url, prefix, poll_seconds=0.2):
        await eventually(lambda: asyncio.sleep(0, len(times) == 1))
        await eventually(lambda: in_state(pool, job.id, "pending"))
        row = await job_row(pool, job.id)
        assert row["last_error"] == "451 4.7.1 try again later"
        assert row["run_at"] - times[0] >= timedelta(seconds=1.4)
        await eventually(lambda: in_state(pool, job.id, "succeeded"))
    assert len(times) == 2
    assert times[1] - times[0] >= timedelta(seconds=1.5)
    row = await job_row(pool, job.id)
    assert (row["attempts"], row["last_error"]) == (2, None)


async def test_failed_gives_up_at_once(pool: asyncpg.Pool, database_url: str, prefix: str) -> None:
    @handler(f"{prefix}.bounce", effect="external")
    async def bounce(job: Job) -> None:
        raise Failed("550 5.1.1 no such user")

    job = await enqueue(pool, f"{prefix}.bounce", max_attempts=10)
    async with running(pool, database_url, prefix):
        await eventually(lambda: in_state(pool, job.id, "failed"))
    row = await job_row(pool, job.id)
    assert (row["attempts"], row["last_error"]) == (1, "550 5.1.1 no such user")


async def test_a_cancelled_pending_job_never_runs(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    job = await enqueue(pool, f"{prefix}.effect", run_at=datetime.now(UTC) + timedelta(seconds=1))
    async with db.transaction(pool):
        cancelled = await service.cancel_job(job.id)
    assert cancelled.state.value == "cancelled"
    async with running(pool, database_url, prefix, poll_seconds=0.1):
        await asyncio.sleep(2)
    assert await in_state(pool, job.id, "cancelled")
    assert await effects(pool, job.id) == 0


async def test_a_cancelled_running_job_gets_no_further_attempt(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    started = asyncio.Event()
    stopped: list[bool] = []

    @handler(f"{prefix}.slow", effect="external")
    async def slow(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.append(True)
            raise
        raise RuntimeError("not cancelled")

    job = await enqueue(pool, f"{prefix}.slow", max_attempts=5)
    async with running(pool, database_url, prefix, lease_seconds=0.6, poll_seconds=0.1):
        await asyncio.wait_for(started.wait(), 10)
        async with db.transaction(pool):
            await service.cancel_job(job.id)
        await eventually(lambda: asyncio.sleep(0, bool(stopped)))
        await asyncio.sleep(1.5)  # well past the lease: nobody takes it again
    row = await job_row(pool, job.id)
    assert (row["state"], row["attempts"]) == ("cancelled", 1)


async def test_a_job_whose_kind_has_no_handler_fails_loudly(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.kept", effect="database")(record_effect)
    job = await enqueue(pool, f"{prefix}.renamed")
    async with running(pool, database_url, prefix, unknown_kind_grace_seconds=0, sweep_seconds=0.1):
        await eventually(lambda: in_state(pool, job.id, "failed"))
    row = await job_row(pool, job.id)
    assert row["last_error"] == f"no handler for kind {prefix}.renamed in this deployment"
    assert row["attempts"] == 0


async def test_an_unknown_kind_waits_out_the_grace_of_a_rolling_deploy(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.kept", effect="database")(record_effect)
    job = await enqueue(pool, f"{prefix}.newer")
    async with running(pool, database_url, prefix, unknown_kind_grace_seconds=60, sweep_seconds=0):
        await asyncio.sleep(1)
    assert await in_state(pool, job.id, "pending")
    async with db.transaction(pool):
        await service.cancel_job(job.id)


async def test_timers_in_the_future_are_not_claimed_early(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    later = await enqueue(pool, f"{prefix}.effect", run_at=datetime.now(UTC) + timedelta(days=3))
    timer = await enqueue(pool, f"{prefix}.effect", run_at=soon)
    async with running(pool, database_url, prefix, poll_seconds=5):
        await eventually(lambda: in_state(pool, timer.id, "succeeded"), within=10)
        ran_at = (await job_row(pool, timer.id))["finished_at"]
    assert ran_at >= soon
    # The worker slept until the timer's due time, not its next 5-second poll.
    assert ran_at - soon < timedelta(seconds=2.5)
    assert await in_state(pool, later.id, "pending")
    assert await effects(pool, later.id) == 0
    async with db.transaction(pool):
        await service.cancel_job(later.id)


async def test_notify_wakes_an_idle_worker_within_a_fraction_of_a_second(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    async with running(pool, database_url, prefix, poll_seconds=30) as worker:
        await eventually(lambda: asyncio.sleep(0, worker.listening))
        await asyncio.sleep(0.3)  # asleep now, for up to 30 s
        job = await enqueue(pool, f"{prefix}.effect")
        took = await eventually(lambda: in_state(pool, job.id, "succeeded"), step=0.005)
    assert took < 0.5


async def test_polling_takes_over_when_the_listener_is_gone(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    async with running(pool, database_url, prefix, poll_seconds=0.5, listen=False) as worker:
        assert not worker.listening
        job = await enqueue(pool, f"{prefix}.effect")
        took = await eventually(lambda: in_state(pool, job.id, "succeeded"))
    assert took < 3


async def test_a_killed_listener_connection_is_replaced(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    async with running(pool, database_url, prefix, poll_seconds=0.5) as worker:
        await eventually(lambda: asyncio.sleep(0, worker.listening))
        async with db.acquired(pool) as conn:
            killed = await conn.fetchval(
                """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE application_name = 'crm-worker-listen' AND datname = current_database()"""
            )
        assert killed >= 1
        job = await enqueue(pool, f"{prefix}.effect")
        await eventually(lambda: in_state(pool, job.id, "succeeded"))
        await eventually(lambda: asyncio.sleep(0, worker.listening))


async def test_stopping_finishes_running_jobs_within_the_grace(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    @handler(f"{prefix}.short", effect="database")
    async def short(job: Job) -> None:
        await asyncio.sleep(0.5)
        await record_effect(job)

    job = await enqueue(pool, f"{prefix}.short")
    async with running(pool, database_url, prefix, grace_seconds=5):
        await eventually(lambda: in_state(pool, job.id, "running"))
    assert await in_state(pool, job.id, "succeeded")
    assert await effects(pool, job.id) == 1


async def test_stopping_releases_what_outlasts_the_grace(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    @handler(f"{prefix}.long", effect="database")
    async def long(job: Job) -> None:
        await record_effect(job)
        await asyncio.sleep(30)

    job = await enqueue(pool, f"{prefix}.long")
    async with running(pool, database_url, prefix, grace_seconds=0.3):
        await eventually(lambda: in_state(pool, job.id, "running"))
    row = await job_row(pool, job.id)
    assert (row["state"], row["attempts"], row["locked_by"]) == ("pending", 0, None)
    assert await effects(pool, job.id) == 0  # rolled back with the attempt
    async with db.transaction(pool):
        await service.cancel_job(job.id)


async def test_an_abandoned_attempt_is_taken_over_after_its_lease(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    job = await enqueue(pool, f"{prefix}.effect")
    # A worker that claimed the job and vanished: running, lease ended.
    async with db.acquired(pool) as conn:
        await conn.execute(
            """UPDATE jobs SET state = 'running', attempts = 1, locked_by = 'gone',
                              lease_until = now() - interval '1 second',
                              run_at = now() - interval '1 second' WHERE id = $1""",
            job.id,
        )
    async with running(pool, database_url, prefix):
        await eventually(lambda: in_state(pool, job.id, "succeeded"))
    row = await job_row(pool, job.id)
    assert row["attempts"] == 2
    assert await effects(pool, job.id) == 1


async def test_an_operator_retry_runs_a_failed_job_again(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    calls: list[int] = []

    @handler(f"{prefix}.flaky", effect="external")
    async def flaky(job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) == 1:
            raise Failed("the receiver was down")

    job = await enqueue(pool, f"{prefix}.flaky")
    async with running(pool, database_url, prefix) as _:
        await eventually(lambda: in_state(pool, job.id, "failed"))
        async with db.transaction(pool):
            retried = await service.retry_job(job.id)
        assert (retried.state.value, retried.attempts) == ("pending", 0)
        await eventually(lambda: in_state(pool, job.id, "succeeded"))
    assert calls == [1, 1]


async def test_periodic_work_runs_once_per_period_and_schedules_the_next(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    runs: list[int] = []

    @service.periodic(f"{prefix}.hourly", every=timedelta(hours=1))
    async def hourly() -> None:
        runs.append(1)

    async with running(pool, database_url, prefix), running(pool, database_url, prefix):
        slot = datetime.fromtimestamp(datetime.now(UTC).timestamp() // 3600 * 3600, UTC)
        key = f"{prefix}.hourly@{slot.isoformat()}"

        async def first_run_done() -> bool:
            async with db.transaction(pool):
                first = await service.get_job_by_key(key)
            return first is not None and first.state.value == "succeeded"

        await eventually(first_run_done)
    next_key = f"{prefix}.hourly@{(slot + timedelta(hours=1)).isoformat()}"
    async with db.transaction(pool):
        following = await service.get_job_by_key(next_key)
        assert following is not None
        assert following.state.value == "pending"
        assert following.run_at == slot + timedelta(hours=1)
        await service.cancel_job(following.id)
    assert runs == [1]
    registry.unregister(f"{prefix}.hourly")
