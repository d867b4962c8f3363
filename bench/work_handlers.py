"""The benchmark's handlers, loaded by its `crm worker` processes (`--import bench.work_handlers`)."""

from __future__ import annotations

from crm import db
from crm.work.registry import handler
from crm.work.schemas import Job


@handler("bench.effect", effect="database")
async def record(job: Job) -> None:
    """One row per run, committed with the job's completion."""
    await db.connection().execute("INSERT INTO bench_work_effects (job_id) VALUES ($1)", job.id)
