"""Real `crm worker` processes: killed with SIGKILL mid-job, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from crm import db
from crm.work import service
from tests.conftest import SECRET_KEY
from tests.crm.work.conftest import effects, eventually, job_row
from tests.servers import clean_env

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def worker_process(database_url: str, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "worker",
                "--import",
                "tests.crm.work.handlers",
                "--kinds",
                "test.proc.*",
                *args,
            ],
            cwd=ROOT,
            env=clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def enqueue_slow(pool: asyncpg.Pool, count: int, sleep: float) -> list[str]:
    async with db.transaction(pool):
        return [
            (await service.enqueue("test.proc.slow", {"sleep": sleep})).id for _ in range(count)
        ]


async def states(pool: asyncpg.Pool, ids: list[str]) -> list[str]:
    return [(await job_row(pool, job_id))["state"] for job_id in ids]


async def test_a_job_of_a_killed_worker_is_taken_over_and_its_effect_applied_once(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    ids = await enqueue_slow(pool, 6, sleep=3)
    log = tmp_path / "workers.log"
    with worker_process(database_url, log, "--lease", "2", "--concurrency", "8") as first:

        async def all_running() -> bool:
            return await states(pool, ids) == ["running"] * 6

        await eventually(all_running, within=60)
        await asyncio.sleep(0.5)  # inside the handlers: effects written, not committed
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with worker_process(database_url, log, "--lease", "2") as second:

        async def all_done() -> bool:
            return await states(pool, ids) == ["succeeded"] * 6

        await eventually(all_done, within=60)
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    for job_id in ids:
        assert await effects(pool, job_id) == 1
        assert (await job_row(pool, job_id))["attempts"] == 2


async def test_sigterm_lets_the_running_job_finish_then_exits(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with worker_process(database_url, log) as worker:
        await asyncio.sleep(0)
        [job_id] = await enqueue_slow(pool, 1, sleep=1.5)

        async def running() -> bool:
            return (await job_row(pool, job_id))["state"] == "running"

        await eventually(running, within=60)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    row = await job_row(pool, job_id)
    assert (row["state"], row["attempts"]) == ("succeeded", 1)
    assert await effects(pool, job_id) == 1
    assert "Stopping: finishing running jobs" in log.read_text()
