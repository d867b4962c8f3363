"""The worker: claims due jobs, runs their handlers, records what happened.

One worker per process, running up to `concurrency` jobs at once as asyncio
tasks. It claims only as many jobs as it has free slots, so nothing it holds
waits unstarted. It sleeps until the earliest of: a NOTIFY from `enqueue` (a
job due now, or within a few seconds), the next known due time, a slot freed,
or `poll_seconds`, so an idle worker asks the database two cheap questions per
poll and a busy one claims again as soon as a slot frees. Without its LISTEN
connection (the database restarted) it keeps working by polling, and
reconnects the listener at each poll.

Stopping (`stop()`, SIGTERM) ends the claiming; jobs running are given
`grace_seconds` to finish, then cancelled and released: pending again, due at
once, their attempt not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from crm import db
from crm.errors import ServiceUnavailable
from crm.ids import new_id
from crm.work import queries, registry, service
from crm.work.registry import Effect, Failed, RetryLater
from crm.work.schemas import Job

log = logging.getLogger("crm.work")

# The database is away: the worker waits and tries again.
_UNAVAILABLE: tuple[type[BaseException], ...] = (*db.UNAVAILABLE_ERRORS, ServiceUnavailable)
_LISTEN_ERRORS: tuple[type[BaseException], ...] = (*_UNAVAILABLE, asyncpg.PostgresError)

# A kept error is bounded: a handler's exception may carry a whole response.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 8
    # Which kinds to take: `*` matches any text (`email.*`).
    kinds: tuple[str, ...] = ("*",)
    # How long an attempt is held before another worker may take it over; an
    # external-effect attempt extends it every third of this while it runs.
    lease_seconds: float = 30.0
    # The longest an idle worker sleeps without asking whether work is due.
    poll_seconds: float = 5.0
    # Stopping waits this long for running jobs before releasing them.
    grace_seconds: float = 20.0
    # Retries back off exponentially from `backoff_base_seconds`, capped, with
    # full jitter (a uniform draw between 0 and the bound), at least `backoff_min_seconds`.
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 3600.0
    backoff_min_seconds: float = 0.5
    # A due job of a kind no handler here knows is failed loudly once it has been
    # due this long (in a rolling deploy, a worker of the other version takes it first).
    unknown_kind_grace_seconds: float = 600.0
    # How often that check runs.
    sweep_seconds: float = 60.0
    listen: bool = True
    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
    )


def backoff(attempt: int, options: WorkerOptions) -> float:
    """Seconds before retry number `attempt` (1 after the first failure): full jitter."""
    bound = min(options.backoff_max_seconds, options.backoff_base_seconds * 2 ** (attempt - 1))
    return max(options.backoff_min_seconds, random.uniform(0, bound))


def _error_text(exc: BaseException) -> str:
    text = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    return text[:MAX_ERROR_CHARS]


class Worker:
    def __init__(self, pool: asyncpg.Pool, dsn: str, options: WorkerOptions | None = None) -> None:
        self.pool = pool
        self.dsn = dsn
        self.options = options or WorkerOptions()
        self.name = self.options.name
        self.kinds = registry.kinds_matching(self.options.kinds)
        self.patterns = [registry.like_pattern(p) for p in self.options.kinds]
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._listener_tried = 0.0
        self._next_wake: float | None = None  # loop time of a due job announced by NOTIFY
        self._last_sweep = -1e9
        # What the worker did, for logs and tests.
        self.completed = 0

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    def stop(self) -> None:
        """Stop claiming; `run` returns once running jobs finish or are released."""
        self._stopping.set()
        self._wake.set()

    def abort(self) -> None:
        """Stop now: running jobs are cancelled and released to other workers."""
        self.stop()
        for task in list(self._running.values()):
            task.cancel()

    async def run(self) -> None:
        if not self.kinds:
            log.warning("worker %s: no handler matches %s", self.name, list(self.options.kinds))
        log.info("worker %s takes %s", self.name, ", ".join(self.kinds) or "nothing")
        try:
            while not self._stopping.is_set():
                try:
                    timeout = await self._step()
                except Exception:  # a bug or an unexpected answer: say so, keep the worker alive
                    log.exception("worker %s: claiming failed", self.name)
                    timeout = self.options.poll_seconds
                if timeout is None or self._stopping.is_set():
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            await self._drain()
            await self._close_listener()

    # Claiming

    async def _step(self) -> float | None:
        """Claim what is due into the free slots; how long to sleep after (None: not at all)."""
        await self._ensure_listener()
        await self._sweep_unhandled()
        self._wake.clear()
        free = self.options.concurrency - len(self._running)
        claimed = await self._claim(free) if free > 0 else []
        for job in claimed:
            self._start(job)
        if free > 0 and len(claimed) == free:
            return None  # more may be due: claim again (it waits for a slot to free)
        return await self._sleep_time(idle=free > len(claimed))

    async def _claim(self, limit: int) -> list[Job]:
        if not self.kinds:
            return []
        try:
            async with db.acquired(self.pool) as conn:
                return await queries.claim(
                    conn, self.name, self.kinds, limit, self.options.lease_seconds
                )
        except _UNAVAILABLE as exc:
            log.warning("worker %s: cannot claim (%s)", self.name, _error_text(exc))
            return []

    async def _sleep_time(self, *, idle: bool) -> float:
        loop = asyncio.get_running_loop()
        timeout = self.options.poll_seconds
        if idle:
            try:
                async with db.acquired(self.pool) as conn:
                    due = await queries.next_due(conn)
            except _UNAVAILABLE:
                due = None
            if due is not None:
                timeout = min(timeout, (due - datetime.now(UTC)).total_seconds())
        if self._next_wake is not None:
            timeout = min(timeout, self._next_wake - loop.time())
            self._next_wake = None
        return max(0.0, timeout)

    async def _ensure_periodic(self) -> None:
        try:
            async with db.transaction(self.pool):
                await service.ensure_periodic(self.kinds)
        except _UNAVAILABLE as exc:
            log.warning("worker %s: cannot schedule periodic jobs (%s)", self.name, exc)

    async def _sweep_unhandled(self) -> None:
        """Every `sweep_seconds`: fail, loudly, due jobs of kinds this worker takes but has
        no handler for; make sure each periodic kind has its current period's run."""
        now = time.monotonic()
        if now - self._last_sweep < self.options.sweep_seconds:
            return
        self._last_sweep = now
        # A periodic chain broken by a failed run starts again with the current period.
        await self._ensure_periodic()
        try:
            async with db.acquired(self.pool) as conn:
                failed = await queries.fail_unhandled(
                    conn, self.kinds, self.patterns, self.options.unknown_kind_grace_seconds
                )
        except _UNAVAILABLE as exc:
            log.warning("worker %s: cannot check for unknown kinds (%s)", self.name, exc)
            return
        for job_id, kind in failed:
            log.error("job %s failed: no handler for kind %s in this deployment", job_id, kind)

    # Listening

    async def _ensure_listener(self) -> None:
        if not self.options.listen or self.listening:
            return
        now = time.monotonic()
        if now - self._listener_tried < self.options.poll_seconds:
            return
        self._listener_tried = now
        await self._close_listener()
        try:
            conn = await asyncpg.connect(
                self.dsn,
                timeout=db.CONNECT_SECONDS,
                server_settings={"application_name": "crm-worker-listen"},
            )
            await conn.add_listener(queries.CHANNEL, self._notified)
        except _LISTEN_ERRORS as exc:
            log.warning("worker %s: not listening, polling (%s)", self.name, _error_text(exc))
            return
        conn.add_termination_listener(lambda _conn: self._wake.set())
        self._listener = conn

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        kind, _, epoch = str(payload).partition(" ")
        if kind not in self.kinds:
            return
        try:
            delay = float(epoch) - time.time()
        except ValueError:
            delay = 0.0
        if delay <= 0:
            self._wake.set()
            return
        at = asyncio.get_running_loop().time() + delay
        if self._next_wake is None or at < self._next_wake:
            self._next_wake = at
        self._wake.set()  # to shorten the current sleep to the announced due time

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.close(), db.CLOSE_SECONDS)
            if not listener.is_closed():
                listener.terminate()

    # Running

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._run(job), name=f"job {job.kind} {job.id}")
        self._running[job.id] = task

        def done(_task: asyncio.Task[None]) -> None:
            self._running.pop(job.id, None)
            self._wake.set()

        task.add_done_callback(done)

    async def _run(self, job: Job) -> None:
        handler = registry.get(job.kind)
        try:
            if handler is None:
                await self._record(
                    job, Failed(f"no handler for kind {job.kind} in this deployment")
                )
            elif job.attempts > job.max_attempts:
                await self._record(
                    job, Failed("its worker was lost during the last attempt (lease expired)")
                )
            elif handler.effect is Effect.DATABASE:
                await self._run_in_transaction(job, handler)
            else:
                await self._run_outside(job, handler)
        except asyncio.CancelledError:
            await self._release(job)
            raise
        except Exception:  # a fault of the engine itself (the database away): the lease expires
            log.exception("worker %s: job %s %s", self.name, job.kind, job.id)

    async def _run_in_transaction(self, job: Job, handler: registry.Handler) -> None:
        try:
            async with db.transaction(self.pool) as tx:
                conn = tx.connection
                if not await queries.lock_held(conn, job.id, self.name, job.attempts):
                    return  # cancelled, or taken over after our lease ended
                await handler.function(job)
                await queries.succeed(conn, job.id, self.name, job.attempts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._record(job, exc)
            return
        self.completed += 1

    async def _run_outside(self, job: Job, handler: registry.Handler) -> None:
        call: asyncio.Task[None] = asyncio.create_task(handler.function(job))
        try:
            while True:
                done, _ = await asyncio.wait({call}, timeout=self.options.lease_seconds / 3)
                if done:
                    break
                if not await self._extend(job):
                    call.cancel()
                    with contextlib.suppress(BaseException):
                        await call
                    log.info("job %s %s: cancelled or taken over while running", job.kind, job.id)
                    return
        except asyncio.CancelledError:
            call.cancel()
            with contextlib.suppress(BaseException):
                await call
            raise
        exc = call.exception()
        if exc is not None:
            await self._record(job, exc)
            return
        async with db.acquired(self.pool) as conn:
            await queries.succeed(conn, job.id, self.name, job.attempts)
        self.completed += 1

    async def _extend(self, job: Job) -> bool:
        try:
            async with db.acquired(self.pool) as conn:
                return await queries.extend_lease(
                    conn, job.id, self.name, job.attempts, self.options.lease_seconds
                )
        except _UNAVAILABLE:
            return True  # keep going: the outcome is recorded if the database returns

    async def _record(self, job: Job, exc: BaseException) -> None:
        """Record a failed attempt: retry later, or `failed` with the error kept."""
        async with db.acquired(self.pool) as conn:
            if isinstance(exc, RetryLater) and job.attempts < job.max_attempts:
                await queries.retry_later(
                    conn, job.id, self.name, job.attempts, exc.seconds, exc.error[:MAX_ERROR_CHARS]
                )
                return
            if isinstance(exc, (Failed, RetryLater)):
                error = exc.error[:MAX_ERROR_CHARS]
            else:
                error = _error_text(exc)
                if job.attempts < job.max_attempts:
                    log.warning(
                        "job %s %s attempt %s failed: %s",
                        job.kind,
                        job.id,
                        job.attempts,
                        "".join(traceback.format_exception(exc)).rstrip(),
                    )
                    await queries.retry_later(
                        conn,
                        job.id,
                        self.name,
                        job.attempts,
                        backoff(job.attempts, self.options),
                        error,
                    )
                    return
            if await queries.fail(conn, job.id, self.name, job.attempts, error):
                log.error(
                    "job %s %s failed after %s attempt(s): %s",
                    job.kind,
                    job.id,
                    job.attempts,
                    error,
                )

    async def _release(self, job: Job) -> None:
        try:
            async with db.acquired(self.pool) as conn:
                await queries.release(conn, job.id, self.name, job.attempts)
        except Exception as exc:  # the lease expires instead
            log.warning("worker %s: cannot release job %s (%s)", self.name, job.id, exc)

    async def _drain(self) -> None:
        tasks = list(self._running.values())
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self.options.grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.info("worker %s: released %s unfinished job(s)", self.name, len(pending))
