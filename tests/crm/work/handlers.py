"""Handlers for workers run as processes by the tests (`crm worker --import` this module)."""

from __future__ import annotations

import asyncio

from crm.work.registry import handler
from crm.work.schemas import Job
from tests.crm.work.conftest import record_effect


@handler("test.proc.slow", effect="database")
async def slow_effect(job: Job) -> None:
    """Write the effect, then take `sleep` seconds before the transaction commits."""
    await record_effect(job)
    await asyncio.sleep(float(job.payload.get("sleep", 0)))
