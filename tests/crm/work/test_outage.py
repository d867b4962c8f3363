"""A worker through a database outage: it waits, then carries on by itself."""

from __future__ import annotations

import asyncio

import asyncpg

from crm import db
from crm.work import service
from crm.work.registry import handler
from crm.work.worker import Worker, WorkerOptions
from tests.crm.work.conftest import effects, eventually, in_state, record_effect
from tests.faults import proxy_for, through


async def test_a_worker_carries_on_after_the_database_comes_back(
    pool: asyncpg.Pool, database_url: str, prefix: str
) -> None:
    handler(f"{prefix}.effect", effect="database")(record_effect)
    with proxy_for(database_url, 5432) as proxy:
        url = through(proxy, database_url)
        worker_pool = await db.open_pool(url, size=4)
        worker = Worker(worker_pool, url, WorkerOptions(kinds=(f"{prefix}.*",), poll_seconds=0.5))
        task = asyncio.create_task(worker.run())
        try:
            async with db.transaction(pool):
                before = await service.enqueue(f"{prefix}.effect", {})
            await eventually(lambda: in_state(pool, before.id, "succeeded"))
            await eventually(lambda: asyncio.sleep(0, worker.listening))

            proxy.stop()
            await asyncio.sleep(1.5)
            assert not worker.listening
            async with db.transaction(pool):
                during = await service.enqueue(f"{prefix}.effect", {})
            await asyncio.sleep(1)
            assert await in_state(pool, during.id, "pending")

            proxy.start()
            await eventually(lambda: in_state(pool, during.id, "succeeded"), within=20)
            await eventually(lambda: asyncio.sleep(0, worker.listening), within=20)
            assert not task.done()
        finally:
            worker.stop()
            await asyncio.wait_for(task, 30)
            await db.close_pool(worker_pool)
    assert await effects(pool, before.id) == 1
    assert await effects(pool, during.id) == 1
