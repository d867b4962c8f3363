"""Running a worker in a process: load the handlers, open its pool, run until stopped."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from crm import db
from crm.work.registry import HANDLER_MODULES
from crm.work.worker import Worker, WorkerOptions

# Beyond one connection per concurrent job: the claim, lease extensions, outcomes.
SPARE_CONNECTIONS = 2
# A handler's statements may take longer than a request's.
STATEMENT_SECONDS = 60.0


def load_handlers(extra: Iterable[str] = ()) -> None:
    """Import the modules that register handlers: the application's, then `extra`."""
    for module in (*HANDLER_MODULES, *extra):
        importlib.import_module(module)


async def open_worker(dsn: str, options: WorkerOptions) -> Worker:
    """A worker with a pool of its own (requests never wait for a job's connection)."""
    pool = await db.open_pool(
        dsn, size=options.concurrency + SPARE_CONNECTIONS, statement_seconds=STATEMENT_SECONDS
    )
    return Worker(pool, dsn, options)


async def close_worker(worker: Worker) -> None:
    await db.close_pool(worker.pool)
