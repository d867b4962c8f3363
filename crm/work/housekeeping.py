"""Periodic upkeep that every deployment runs on its workers."""

from __future__ import annotations

import logging
from datetime import timedelta

from crm.idempotency import service as idempotency
from crm.work import service

log = logging.getLogger("crm.work")


@service.periodic("idempotency.purge", every=timedelta(hours=1))
async def purge_idempotency_answers() -> None:
    """Delete stored idempotent answers older than 24 hours."""
    gone = await idempotency.purge_expired()
    if gone:
        log.info("purged %s expired idempotency answer(s)", gone)


@service.periodic("work.purge", every=timedelta(hours=1))
async def purge_finished_jobs() -> None:
    """Delete jobs that succeeded or were cancelled over a week ago."""
    gone = await service.purge_finished()
    if gone:
        log.info("purged %s finished job(s)", gone)
