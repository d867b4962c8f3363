"""`crm jobs` and `crm worker` as an operator runs them."""

from __future__ import annotations

import json

import pytest

from crm import db
from crm.ids import new_id
from crm.work import service
from tests.cli.test_main import crm
from tests.conftest import SECRET_KEY
from tests.servers import clean_env


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY)


async def make_jobs(database_url: str, kind: str) -> tuple[str, str]:
    """A pending job and a failed one of `kind`; returns their ids."""
    pool = await db.open_pool(database_url, size=1)
    try:
        async with db.transaction(pool) as tx:
            pending = await service.enqueue(kind, {"n": 1})
            failed = await service.enqueue(kind, {"n": 2})
            await tx.connection.execute(
                """UPDATE jobs SET state = 'failed', attempts = 3, finished_at = now(),
                                  last_error = 'SMTPResponseException: 554 rejected'
                   WHERE id = $1""",
                failed.id,
            )
        return pending.id, failed.id
    finally:
        await db.close_pool(pool)


async def test_jobs_counts_by_kind_and_state_and_lists_failures(
    database_url: str, env: dict[str, str]
) -> None:
    kind = f"test.cli.{new_id()[-8:]}"
    _pending, failed = await make_jobs(database_url, kind)
    result = crm("jobs", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    mine = {(c["state"], c["count"]) for c in summary["counts"] if c["kind"] == kind}
    assert mine == {("pending", 1), ("failed", 1)}
    [listed] = [j for j in summary["failed"] if j["id"] == failed]
    assert (listed["kind"], listed["attempts"]) == (kind, 3)
    assert listed["last_error"] == "SMTPResponseException: 554 rejected"
    text = crm("jobs", env=env).stdout
    assert f"{failed}  {kind}  after 3 attempt(s): SMTPResponseException: 554 rejected" in text
    assert text.splitlines()[0].split() == [
        "kind",
        "pending",
        "running",
        "succeeded",
        "failed",
        "cancelled",
    ]


async def test_jobs_retry_and_cancel_act_on_one_job(database_url: str, env: dict[str, str]) -> None:
    kind = f"test.cli.{new_id()[-8:]}"
    pending, failed = await make_jobs(database_url, kind)
    retried = crm("jobs", "retry", failed, env=env)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout == f"Job {failed} ({kind}) will run again now.\n"
    shown = json.loads(crm("jobs", "show", failed, "--json", env=env).stdout)
    assert (shown["state"], shown["attempts"]) == ("pending", 0)
    for job_id in (pending, failed):
        cancelled = crm("jobs", "cancel", job_id, "--json", env=env)
        assert cancelled.returncode == 0, cancelled.stderr
        assert json.loads(cancelled.stdout)["state"] == "cancelled"
    again = crm("jobs", "cancel", pending, env=env)
    assert again.returncode == 1
    assert again.stderr == (
        f"crm: Job {pending} is cancelled: only pending or running jobs can be cancelled.\n"
    )
    unknown = crm("jobs", "retry", "not-an-id", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr == "crm: No job has id not-an-id.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "--concurrency must be 1 to 256, got 0"),
        (
            ["--kinds", "email send"],
            "--kinds takes patterns of letters, digits, . _ - and *, got 'email send'",
        ),
        (["--lease", "0.5"], "--lease must be 1 to 3600 seconds, got 0.5"),
        (["--import", "no_such_module_here"], "--import: No module named 'no_such_module_here'"),
    ],
)
def test_worker_refuses_bad_options_in_one_line(args: list[str], message: str) -> None:
    result = crm("worker", *args, env=clean_env())
    assert result.returncode == 2
    assert result.stderr == f"crm: {message}\n"
