"""`crm serve` runs background jobs in its own process, unless `--no-worker`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from crm.ids import new_id
from tests.conftest import SECRET_KEY
from tests.servers import clean_env, free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(database_url: str, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "crm serve was not ready in 60 s"
            time.sleep(0.1)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


async def state_of(database_url: str, key: str) -> str | None:
    conn = await asyncpg.connect(database_url)
    try:
        state: str | None = await conn.fetchval("SELECT state FROM jobs WHERE key = $1", key)
        return state
    finally:
        await conn.close()


async def enqueue_purge(database_url: str, key: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
        await conn.execute(
            """INSERT INTO jobs (id, kind, payload, key, state, run_at, attempts, max_attempts,
                                created_at, updated_at)
               VALUES ($1, 'idempotency.purge', $2::jsonb, $3, 'pending', now(), 0, 3,
                       now(), now())""",
            new_id(),
            f'{{"slot": "{slot}"}}',
            key,
        )
    finally:
        await conn.close()


async def test_serve_runs_jobs_in_its_own_process(database_url: str, tmp_path: Path) -> None:
    key = f"test.serve.{new_id()}"
    await enqueue_purge(database_url, key)
    with serving(database_url, tmp_path / "serve.log"):
        for _ in range(200):
            if await state_of(database_url, key) == "succeeded":
                break
            await asyncio.sleep(0.05)
    assert await state_of(database_url, key) == "succeeded"
    assert (
        "Background jobs: 4 at once in each server process" in (tmp_path / "serve.log").read_text()
    )


async def test_serve_with_no_worker_runs_no_jobs(database_url: str, tmp_path: Path) -> None:
    key = f"test.serve.{new_id()}"
    with serving(database_url, tmp_path / "serve.log", "--no-worker"):
        await enqueue_purge(database_url, key)
        await asyncio.sleep(2)
        assert await state_of(database_url, key) == "pending"
    assert (
        "Background jobs: none here (--no-worker): run `crm worker`"
        in (tmp_path / "serve.log").read_text()
    )
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE jobs SET state = 'cancelled' WHERE key = $1", key)
    finally:
        await conn.close()
