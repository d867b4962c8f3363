"""`crm jobs`: what the workers have to do, what failed and why; retry or cancel a job."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from cli.common import database, fail, settings_from_env
from crm.errors import CRMError
from crm.pagination import MAX_LIMIT
from crm.work.schemas import JobState

T = TypeVar("T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON, for scripts")
    parser.add_argument(
        "--limit",
        type=int,
        default=20,
        help=f"how many failed jobs to list, most recent first (1-{MAX_LIMIT}, default 20)",
    )
    actions = parser.add_subparsers(
        dest="action", metavar="ACTION", help="retry, cancel or show one job (default: the summary)"
    )
    retry = actions.add_parser(
        "retry",
        help="run a failed or cancelled job again now",
        description="Run a failed or cancelled job again now, its attempts counted afresh.",
    )
    retry.add_argument("id", metavar="ID", help="the job's id")
    retry.add_argument("--json", action="store_true", help="print the job as JSON")
    cancel = actions.add_parser(
        "cancel",
        help="cancel a pending or running job",
        description="Cancel a pending or running job: it never runs again. A running "
        "job's current attempt is stopped at its next lease extension, and its outcome "
        "is not recorded.",
    )
    cancel.add_argument("id", metavar="ID", help="the job's id")
    cancel.add_argument("--json", action="store_true", help="print the job as JSON")
    show = actions.add_parser("show", help="one job in full", description="Show one job.")
    show.add_argument("id", metavar="ID", help="the job's id")
    show.add_argument("--json", action="store_true", help="print the job as JSON")


def cmd_jobs(args: argparse.Namespace) -> None:
    from crm.work import service

    if args.action is None:
        if not 1 <= args.limit <= MAX_LIMIT:
            fail(f"--limit must be 1 to {MAX_LIMIT}, got {args.limit}", 2)
        counts, failed = _run(lambda: _summary(args.limit))
        if args.json:
            print(msgspec.json.encode({"counts": counts, "failed": failed}).decode())
            return
        _print_summary(counts, failed)
        return
    action: Callable[[str], Awaitable[Any]] = {
        "retry": service.retry_job,
        "cancel": service.cancel_job,
        "show": service.get_job,
    }[args.action]
    job = _run(lambda: action(args.id))
    if args.json:
        print(msgspec.json.encode(job).decode())
        return
    if args.action == "show":
        for name in msgspec.structs.fields(job):
            print(f"{name.name + ':':14}{getattr(job, name.name)}")
        return
    said = {"retry": "will run again now", "cancel": "is cancelled"}[args.action]
    print(f"Job {job.id} ({job.kind}) {said}.")


async def _summary(limit: int) -> tuple[Any, Any]:
    from crm.work import service

    return await service.count_jobs(), await service.list_failed(limit=limit)


def _print_summary(counts: Any, failed: Any) -> None:
    if not counts:
        print("No jobs.")
        return
    states = [s.value for s in JobState]
    table: dict[str, dict[str, int]] = {}
    for c in counts:
        table.setdefault(c.kind, {})[c.state.value] = c.count
    width = max(len("kind"), *(len(k) for k in table))
    print(f"{'kind':{width}}  " + "  ".join(f"{s:>9}" for s in states))
    for kind, row in table.items():
        print(f"{kind:{width}}  " + "  ".join(f"{row.get(s, 0):>9}" for s in states))
    if failed:
        print("\nFailed, most recent first:")
        for job in failed:
            print(
                f"{job.finished_at:%Y-%m-%d %H:%M:%S}  {job.id}  {job.kind}  "
                f"after {job.attempts} attempt(s): {job.last_error}"
            )


def _run(call: Callable[[], Awaitable[T]]) -> T:
    with database(settings_from_env()) as ready:
        assert ready.database_url is not None
        return asyncio.run(_in_transaction(ready.database_url, call))


async def _in_transaction(url: str, call: Callable[[], Awaitable[T]]) -> T:
    from crm import db

    pool = await db.open_pool(url, size=1)
    try:
        async with db.transaction(pool):
            return await call()
    except CRMError as exc:
        fail(exc.detail)
    finally:
        await db.close_pool(pool)
