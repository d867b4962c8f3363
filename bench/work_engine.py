"""The work engine: throughput, the due query under a million timers, an idle worker's load.

    ./dev bench work_engine [--jobs 20000] [--workers 1 2 4] [--concurrency 8]
                            [--timers 1000000] [--idle-seconds 60]
                            [--parts throughput due idle]

1. Jobs per second through enqueue, claim and complete: `--workers` real
   `crm worker` processes take `--jobs` database-effect jobs (one row written
   per job, in the job's transaction). Twice: enqueued in transactions of 500
   while the workers run (first enqueue to last completion), then as a backlog
   enqueued first (first completion to last, timed by the database). Every
   job's effect is then counted (each exactly once).
2. The claim's due query with `--timers` pending timers due in the next 90
   days and 100 jobs due now: median and p99 of the query alone and of the
   whole claim of 8 (rolled back, so every run sees the same table), and the
   plan.
3. An idle worker's load, with nothing due: transactions per second committed
   in the database (pg_stat_database) over `--idle-seconds` with one `crm
   worker` process, then the statements a worker in this process sends,
   counted on its own connections.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from bench.common import ROOT, SECRET_KEY, fresh_database, postgres_server
from crm import db
from crm.work import queries, service
from crm.work.registry import handler
from crm.work.schemas import Job
from crm.work.worker import Worker, WorkerOptions


# The workers import this module (`--import bench.work_engine`) for this handler.
@handler("bench.effect", effect="database")
async def record(job: Job) -> None:
    """One row per run, committed with the job's completion."""
    await db.connection().execute("INSERT INTO bench_work_effects (job_id) VALUES ($1)", job.id)


PARTS = ("throughput", "due", "idle")

DUE_SQL = """SELECT id FROM jobs
             WHERE state IN ('pending', 'running') AND run_at <= now() AND kind = ANY($1)
             ORDER BY run_at LIMIT 8 FOR UPDATE SKIP LOCKED"""


@contextmanager
def workers(url: str, count: int, concurrency: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {"CRM_DATABASE_URL": url, "CRM_SECRET_KEY": SECRET_KEY, "PATH": "/usr/bin:/bin"}
    command = [
        sys.executable,
        "-m",
        "cli.main",
        "worker",
        "--import",
        "bench.work_engine",
        "--kinds",
        "bench.*",
        "--concurrency",
        str(concurrency),
    ]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


async def listening(conn: db.Connection, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = await conn.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'crm-worker-listen'"""
        )
        if n >= count:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the workers did not start listening in 60 s")


async def enqueue_jobs(pool: asyncpg.Pool, jobs: int) -> float:
    """Enqueue `jobs` in transactions of 500; returns the seconds it took."""
    start = time.perf_counter()
    for first in range(0, jobs, 500):
        async with db.transaction(pool):
            for _ in range(min(500, jobs - first)):
                await service.enqueue("bench.effect", {})
    return time.perf_counter() - start


async def throughput(url: str, jobs: int, processes: int, concurrency: int) -> None:
    pool = await db.open_pool(url, size=2)
    reset = (
        "CREATE TABLE IF NOT EXISTS bench_work_effects (job_id uuid NOT NULL);"
        "TRUNCATE bench_work_effects; DELETE FROM jobs WHERE kind = 'bench.effect'"
    )
    check = "SELECT count(*) = count(DISTINCT job_id) AND count(*) = $1 FROM bench_work_effects"
    try:
        async with db.acquired(pool) as conn:
            # Enqueued while the workers run: the figure a steady flow of work sees.
            await conn.execute(reset)
            with workers(url, processes, concurrency):
                await listening(conn, processes)
                start = time.perf_counter()
                await enqueue_jobs(pool, jobs)
                await finished(conn, jobs)
                took = time.perf_counter() - start
            once = await conn.fetchval(check, jobs)
            # A backlog drained: enqueued first, then claimed and completed (timed by the
            # database, from the first completion to the last).
            await conn.execute(reset)
            alone = await enqueue_jobs(pool, jobs)
            with workers(url, processes, concurrency):
                await finished(conn, jobs)
            drain = await conn.fetchval(
                """SELECT extract(epoch FROM max(finished_at) - min(finished_at))
                   FROM jobs WHERE kind = 'bench.effect'"""
            )
            once = once and await conn.fetchval(check, jobs)
    finally:
        await db.close_pool(pool)
    print(
        f"  {processes} worker process(es) x {concurrency}: "
        f"{jobs / took:6.0f} jobs/s enqueued while they run ({took:.1f} s), "
        f"{jobs / float(drain):6.0f} jobs/s draining a backlog; "
        f"enqueue alone {jobs / alone:6.0f} jobs/s; each effect once: {'yes' if once else 'NO'}"
    )


async def finished(conn: db.Connection, jobs: int) -> None:
    while True:
        done = await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE kind = 'bench.effect' AND state = 'succeeded'"
        )
        if done >= jobs:
            return
        await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def due_query(url: str, timers: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM jobs")
        await conn.execute(
            """INSERT INTO jobs (id, kind, payload, key, state, run_at, attempts, max_attempts,
                                 created_at, updated_at)
               SELECT gen_random_uuid(), 'bench.timer', '{}', 'timer-' || n, 'pending',
                      now() + interval '1 minute' + random() * interval '90 days', 0, 25,
                      now(), now()
               FROM generate_series(1, $1) AS n""",
            timers,
        )
        await conn.execute(
            """INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts,
                                 created_at, updated_at)
               SELECT gen_random_uuid(), 'bench.timer', '{}', 'pending',
                      now() - n * interval '1 second', 0, 25, now(), now()
               FROM generate_series(1, 100) AS n"""
        )
        await conn.execute("VACUUM ANALYZE jobs")
        kinds = ["bench.timer"]
        selects, claims = [], []
        for _ in range(1000):
            async with conn.transaction():
                start = time.perf_counter()
                await conn.fetch(DUE_SQL, kinds)
                selects.append(time.perf_counter() - start)
            tx = conn.transaction()
            await tx.start()
            start = time.perf_counter()
            claimed = await queries.claim(conn, "bench", kinds, 8, 30.0)
            claims.append(time.perf_counter() - start)
            await tx.rollback()
            assert len(claimed) == 8
        plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + DUE_SQL, kinds)
    finally:
        await conn.close()
    print(f"  {timers:,} pending timers in the future, 100 jobs due now:")
    for name, values in (("due query (select)", selects), ("claim of 8 (update)", claims)):
        print(
            f"    {name}: median {statistics.median(values) * 1000:.3f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.3f} ms (1,000 runs)"
        )
    print("    plan of the due query:")
    for row in plan:
        print(f"      {row[0]}")


async def idle_load(url: str, seconds: float) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DELETE FROM jobs")

        async def transactions() -> int:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            value: int = await conn.fetchval(
                """SELECT xact_commit + xact_rollback FROM pg_stat_database
                   WHERE datname = current_database()"""
            )
            return value

        with workers(url, 1, 8):
            await listening(conn, 1)
            await asyncio.sleep(12)  # past start-up, and one flush of the statistics
            before = await transactions()
            await asyncio.sleep(seconds)
            # Backends report their counts at most every 10 s when idle.
            await asyncio.sleep(11)
            after = await transactions()
    finally:
        await conn.close()
    # Our own reads: the statistics snapshot clears and the two counts.
    ours = 4
    print(
        f"  one idle worker: {(after - before - ours) / (seconds + 11):.2f} transactions/s "
        f"in its database over {seconds + 11:.0f} s (each a single statement)"
    )


async def idle_statements(url: str, seconds: float) -> None:
    """Statements an idle worker sends, counted on its own connections (this process)."""
    sent: list[str] = []

    async def init(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: sent.append(record.query))

    # Released as the worker's own pool releases them: no reset query.
    pool = await asyncpg.create_pool(url, min_size=0, max_size=4, init=init, reset=db.keep_session)
    worker = Worker(pool, url, WorkerOptions(kinds=("bench.*",)))
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(2)  # started, listening
        before = len(sent)
        await asyncio.sleep(seconds)
        counted = len(sent) - before
    finally:
        worker.stop()
        await task
        await pool.close()
    print(
        f"  one idle worker (poll {worker.options.poll_seconds:.0f} s): {counted} statements "
        f"in {seconds:.0f} s = {counted / seconds:.2f}/s, counted on its connections"
    )


async def main(args: argparse.Namespace) -> None:
    with postgres_server() as server_url:
        async with fresh_database(server_url) as url:
            if "throughput" in args.parts:
                print("Jobs through enqueue, claim and complete (database effect):")
                for count in args.workers:
                    await throughput(url, args.jobs, count, args.concurrency)
            if "due" in args.parts:
                print("The due query:")
                await due_query(url, args.timers)
            if "idle" in args.parts:
                print("An idle worker:")
                await idle_load(url, args.idle_seconds)
                await idle_statements(url, args.idle_seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timers", type=int, default=1_000_000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which measurements"
    )
    asyncio.run(main(parser.parse_args()))
