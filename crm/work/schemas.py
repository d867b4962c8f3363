"""The records of the work engine."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec


class JobState(StrEnum):
    PENDING = "pending"  # waiting for its run_at (a timer) or for a free worker
    RUNNING = "running"  # claimed by a worker, under a lease
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # gave up: permanent error, attempts exhausted, or no handler
    CANCELLED = "cancelled"


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class Job(msgspec.Struct, frozen=True):
    """One job as stored. While `running`, `run_at` is the end of its lease."""

    id: str
    kind: str
    payload: Any
    company_id: str | None
    key: str | None
    state: JobState
    run_at: datetime
    attempts: int
    max_attempts: int
    lease_until: datetime | None
    locked_by: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobCount(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    state: JobState
    count: int
