"""`crm worker`: run background work (email, webhooks, sequence steps, purges) until stopped.

Any number of workers, on any hosts, share the work through PostgreSQL: each
claims due jobs with `FOR UPDATE SKIP LOCKED`. SIGTERM or Ctrl-C stops the
claiming, lets running jobs finish within the grace period, and releases the
rest for another worker; a second signal stops at once (unfinished jobs are then
released at once).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal

from cli.common import STOP_SIGNALS, database, fail, migrate, settings_from_env
from crm.work.runner import close_worker, load_handlers, open_worker
from crm.work.worker import WorkerOptions

KIND_PATTERN = re.compile(r"[A-Za-z0-9_.*-]{1,200}")
DEFAULT_CONCURRENCY = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"jobs run at once by this process, 1-256 (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["*"],
        metavar="PATTERN",
        help="take only jobs of these kinds; * matches any text, e.g. --kinds 'email.*' "
        "(default: every kind)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl-C, how long running jobs may take to finish before they "
        "are released to other workers (default 20)",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long an attempt is held before another worker takes it over, should this "
        "one die; extended while a job runs (default 30)",
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="also import MODULE, which registers handlers of its own (repeatable)",
    )


def options_from(args: argparse.Namespace) -> WorkerOptions:
    if not 1 <= args.concurrency <= 256:
        fail(f"--concurrency must be 1 to 256, got {args.concurrency}", 2)
    for pattern in args.kinds:
        if not KIND_PATTERN.fullmatch(pattern):
            fail(f"--kinds takes patterns of letters, digits, . _ - and *, got {pattern!r}", 2)
    if not 0 <= args.grace <= 3600:
        fail(f"--grace must be 0 to 3600 seconds, got {args.grace}", 2)
    if not 1 <= args.lease <= 3600:
        fail(f"--lease must be 1 to 3600 seconds, got {args.lease}", 2)
    return WorkerOptions(
        concurrency=args.concurrency,
        kinds=tuple(args.kinds),
        grace_seconds=args.grace,
        lease_seconds=args.lease,
    )


def cmd_worker(args: argparse.Namespace) -> None:
    options = options_from(args)
    try:
        load_handlers(args.imports)
    except ImportError as exc:
        fail(f"--import: {exc}", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with database(settings_from_env()) as ready:
        assert ready.database_url is not None
        migrate(ready.database_url)
        asyncio.run(_work(ready.database_url, options))
    print("Stopped.")


async def _work(dsn: str, options: WorkerOptions) -> None:
    worker = await open_worker(dsn, options)
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            print("Stopping: finishing running jobs (signal again to stop at once).", flush=True)
            worker.stop()
        else:
            worker.abort()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal)
    print(
        f"Worker {worker.name} running {options.concurrency} job(s) at once; "
        f"kinds: {', '.join(worker.kinds) or 'none'}. Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        await worker.run()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
            signal.signal(
                sig, signal.SIG_DFL if sig == signal.SIGTERM else signal.default_int_handler
            )
        await close_worker(worker)
