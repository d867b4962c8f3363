"""A fault run under a steady load, then a count of every acknowledged write.

    ./dev bench faults [--fault-seconds 8] [--settle-seconds 5] [--writers 4] [--readers 2]

Two `crm serve` processes (one worker each) stand behind the run's own round
robin, as behind a load balancer; each reaches PostgreSQL and Redis through a
`tests.faults.FaultProxy`. Everything listens on loopback. PostgreSQL is
`CRM_DATABASE_URL`'s server (a scratch database, dropped afterwards) or an
embedded one in a temporary folder; Redis is `CRM_TEST_REDIS_URL`'s (set it
empty to leave Redis out) or the one answering on 127.0.0.1:6379, else the
Redis phases are skipped.

Writers create contacts, each with an `Idempotency-Key` of its own, and send
the same request with the same key again until it is acknowledged (after 0.1 s,
doubling up to 0.5 s), as a careful client does; readers list contacts. The
phases, one after the other, each a fault then `--settle-seconds` of calm:

- PostgreSQL stopped: the embedded server is shut down (`pg_ctl stop`, which
  ends every session) and started again; a server this run cannot stop is cut
  off at the proxy (every connection dropped, new ones refused);
- PostgreSQL frozen: the proxy forwards nothing either way, connections stay open;
- Redis stopped (proxy cut) and Redis frozen;
- kill -9 between claim and commit: a PATCH with an Idempotency-Key is held
  inside its transaction (its contact's row is locked from outside), its server
  is killed, the same PATCH is retried on the other server until it runs, and
  the killed server is started again;
- slow bodies: ten clients per server send a body one byte every 0.3 s.

Per phase, over the requests answered in it: their statuses (`conn error` for
a dropped connection), 503s apart from other 5xx (503 is the promised answer
to a database outage; any other 5xx is a bug), p50 and max latency, how long
after the fault's end the first and the last refused write were acknowledged,
what readiness answered during the fault and how long after its end every
server was ready and "ok" again, and the tracebacks the servers logged (their
warnings and the slowest request follow the table). At the end every contact
is read back through the API: each acknowledged id must be there exactly once,
and each Idempotency-Key must have made exactly one contact.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg
import httpx

from bench.common import embedded_postgres, fresh_database, postgres_server
from tests.factories import make_company
from tests.faults import FaultProxy, proxy_for, through, upstream
from tests.gateway.test_faults import server_env, trickle
from tests.servers import Server, running_server

if TYPE_CHECKING:
    from crm.embedded import EmbeddedPostgres

WRITE_PREFIX = "fault-run-"
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 0.5
PACE = 0.05  # each client's pause between two requests
REQUEST_TIMEOUT = 15.0
DRAIN_SECONDS = 30.0  # after the last phase, writes still unacknowledged get this long
TRICKLERS_PER_SERVER = 10
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ ((?:WARNING|ERROR|CRITICAL) .*)$")


# Where PostgreSQL and Redis are, and the same URLs through a proxy ----------


def find_redis() -> tuple[str | None, str]:
    """The Redis to use (or None) and where it came from."""
    if "CRM_TEST_REDIS_URL" in os.environ:
        url = os.environ["CRM_TEST_REDIS_URL"].strip()
        return (url or None), "CRM_TEST_REDIS_URL" + ("" if url else " is empty")
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            conn.settimeout(2)
            if conn.recv(64).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/0", "answering on 127.0.0.1:6379"
    except OSError:
        pass
    return None, "none answers on 127.0.0.1:6379 and CRM_TEST_REDIS_URL is unset"


@contextmanager
def database_server() -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """CRM_DATABASE_URL's server (which this run cannot stop), or an embedded one (which it can)."""
    if os.environ.get("CRM_DATABASE_URL", "").strip():
        with postgres_server() as url:
            yield url, None
    else:
        with embedded_postgres() as (embedded, url):
            yield url, embedded


# The load --------------------------------------------------------------------


@dataclass
class Attempt:
    kind: str  # "write", "read" or "kill" (the held PATCH and its retries)
    started: float
    ended: float
    outcome: str  # the status, "conn error" or "timeout"
    detail: str = ""  # a 5xx answer's problem detail (or its text)


@dataclass
class Write:
    key: str
    refused_at: list[float] = field(default_factory=list)  # ends of the attempts that failed
    acknowledged_at: float | None = None
    contact_id: str | None = None
    replayed: bool = False


@dataclass
class ReadyCheck:
    started: float
    seconds: float
    outcome: str  # "200 ok", "200 degraded", "503", "timeout"...
    server: str


def outcome_of(response: httpx.Response) -> str:
    """The status; a 503 that is not our `service_unavailable` problem counts apart."""
    if response.status_code == 503:
        try:
            code = response.json().get("code")
        except ValueError:
            code = None
        if code != "service_unavailable":
            return "503 (not a problem)"
    return str(response.status_code)


class Load:
    """Careful clients: writers retrying with their key until acknowledged, readers."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers
        self.rotation: list[str] = []  # base URLs of the servers taking requests
        self._next = 0
        self.attempts: list[Attempt] = []
        self.writes: dict[str, Write] = {}
        self.ready_checks: list[ReadyCheck] = []
        self.stopping = asyncio.Event()
        self.give_up_at = float("inf")

    def target(self) -> str:
        self._next += 1
        return self.rotation[self._next % len(self.rotation)]

    async def send(
        self, kind: str, method: str, url: str, **kwargs: object
    ) -> tuple[str, httpx.Response | None]:
        started = time.monotonic()
        response = None
        try:
            response = await self.http.request(method, url, **kwargs)  # type: ignore[arg-type]
            outcome = outcome_of(response)
        except httpx.TimeoutException:
            outcome = "timeout"
        except httpx.TransportError:
            outcome = "conn error"
        detail = ""
        if response is not None and response.status_code >= 500:
            try:
                detail = str(response.json().get("detail"))
            except ValueError:
                detail = response.text[:200]
        self.attempts.append(Attempt(kind, started, time.monotonic(), outcome, detail))
        return outcome, response

    async def write_until_acknowledged(self, key: str) -> None:
        write = self.writes[key] = Write(key)
        headers = {**self.headers, "Idempotency-Key": key}
        backoff = FIRST_BACKOFF
        while time.monotonic() < self.give_up_at:
            _, response = await self.send(
                "write",
                "POST",
                f"{self.target()}/v1/contacts",
                json={"first_name": key},
                headers=headers,
            )
            if response is not None and response.status_code == 201:
                write.acknowledged_at = time.monotonic()
                write.contact_id = response.json()["id"]
                write.replayed = response.headers.get("idempotent-replayed") == "true"
                return
            write.refused_at.append(time.monotonic())
            if response is not None and response.status_code == 422:
                return  # the key refused for good: a bug, counted as unacknowledged
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def writer(self, number: int) -> None:
        count = 0
        while not self.stopping.is_set():
            count += 1
            await self.write_until_acknowledged(f"{WRITE_PREFIX}{number}-{count}")
            await asyncio.sleep(PACE)

    async def reader(self) -> None:
        while not self.stopping.is_set():
            await self.send(
                "read", "GET", f"{self.target()}/v1/contacts?limit=20", headers=self.headers
            )
            await asyncio.sleep(PACE)

    async def readiness(self) -> None:
        """Every server's readiness, four times a second."""
        while not self.stopping.is_set():
            for base in list(self.rotation):
                started = time.monotonic()
                try:
                    response = await self.http.get(f"{base}/health/ready", timeout=5)
                    outcome = str(response.status_code)
                    if response.status_code == 200:
                        outcome += " " + str(response.json()["status"])
                except httpx.TimeoutException:
                    outcome = "timeout"
                except httpx.TransportError:
                    outcome = "conn error"
                self.ready_checks.append(
                    ReadyCheck(started, time.monotonic() - started, outcome, base)
                )
            await asyncio.sleep(0.25)


# The servers -------------------------------------------------------------------


class Servers:
    """The `crm serve` processes, started and stopped off the event loop."""

    def __init__(self, env: dict[str, str], load: Load) -> None:
        self.env = env
        self.load = load
        self.running: dict[str, tuple[Server, ExitStack]] = {}
        self.log_offsets: dict[str, int] = {}
        self.tracebacks: list[str] = []  # of servers that are gone
        self.log_lines: list[str] = []

    def _start(self) -> tuple[Server, ExitStack]:
        stack = ExitStack()
        server = stack.enter_context(running_server(self.env))
        return server, stack

    async def start(self) -> Server:
        server, stack = await asyncio.to_thread(self._start)
        self.running[server.base] = (server, stack)
        self.log_offsets[server.base] = 0
        self.load.rotation.append(server.base)
        return server

    async def kill(self, server: Server) -> float:
        """Take `server` out of the rotation and kill -9 it; the moment it died."""
        self.load.rotation.remove(server.base)
        os.kill(server.pid, signal.SIGKILL)
        killed = time.monotonic()
        self._read_log(server)
        self.log_offsets.pop(server.base)
        _, stack = self.running.pop(server.base)
        await asyncio.to_thread(stack.close)
        return killed

    def _read_log(self, server: Server) -> None:
        offset = self.log_offsets[server.base]
        tracebacks = server.errors_since(offset)
        self.tracebacks += tracebacks
        text = server.log.read_text(encoding="utf-8", errors="replace")
        # Warnings and errors, without their time, so that repeats can be counted.
        self.log_lines += [
            match.group(1)
            for line in text[offset:].splitlines()
            if (match := LOG_RECORD.match(line))
        ]
        self.log_offsets[server.base] = len(text)

    def new_log(self) -> tuple[list[str], list[str]]:
        """The tracebacks (their last lines) and the warnings logged since the last call."""
        for server, _ in self.running.values():
            self._read_log(server)
        found = self.tracebacks, self.log_lines
        self.tracebacks, self.log_lines = [], []
        return found

    async def stop_all(self) -> None:
        for _, stack in self.running.values():
            await asyncio.to_thread(stack.close)
        self.running.clear()


# The phases --------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    started: float
    fault_began: float
    fault_ended: float
    ended: float = 0.0
    faulty: bool = True
    servers: list[str] = field(default_factory=list)  # the rotation at the phase's end
    tracebacks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    args: argparse.Namespace
    load: Load
    servers: Servers
    database_url: str  # direct, not through the proxy
    embedded: EmbeddedPostgres | None
    postgres: FaultProxy
    redis: FaultProxy | None


Fault = Callable[[Context, Phase], Awaitable[None]]


async def hold(ctx: Context, begin: Callable[[], None], end: Callable[[], None]) -> float:
    """`begin` a fault, keep it for --fault-seconds, `end` it; when it began."""
    began = time.monotonic()
    begin()
    try:
        await asyncio.sleep(ctx.args.fault_seconds)
    finally:
        end()
    return began


async def no_fault(ctx: Context, phase: Phase) -> None:
    phase.faulty = False
    await asyncio.sleep(ctx.args.fault_seconds / 2)
    phase.fault_began = phase.fault_ended = time.monotonic()


async def postgres_stopped(ctx: Context, phase: Phase) -> None:
    embedded = ctx.embedded
    if embedded is None:
        phase.notes.append("a server this run cannot stop: cut at the proxy instead")
        phase.fault_began = await hold(ctx, ctx.postgres.stop, ctx.postgres.start)
    else:
        phase.notes.append("the embedded PostgreSQL shut down (pg_ctl stop) and started again")
        phase.fault_began = time.monotonic()
        await asyncio.to_thread(embedded.stop)
        try:
            await asyncio.sleep(ctx.args.fault_seconds)
        finally:
            url = await asyncio.to_thread(embedded.start)
        # The proxy forwards to the same address: it must not have moved.
        assert upstream(url, 5432) == upstream(ctx.database_url, 5432), url
    phase.fault_ended = time.monotonic()


async def postgres_frozen(ctx: Context, phase: Phase) -> None:
    phase.fault_began = await hold(ctx, ctx.postgres.freeze, ctx.postgres.thaw)
    phase.fault_ended = time.monotonic()


async def redis_stopped(ctx: Context, phase: Phase) -> None:
    assert ctx.redis is not None
    phase.fault_began = await hold(ctx, ctx.redis.stop, ctx.redis.start)
    phase.fault_ended = time.monotonic()


async def redis_frozen(ctx: Context, phase: Phase) -> None:
    assert ctx.redis is not None
    phase.fault_began = await hold(ctx, ctx.redis.freeze, ctx.redis.thaw)
    phase.fault_ended = time.monotonic()


async def kill_between_claim_and_commit(ctx: Context, phase: Phase) -> None:
    load = ctx.load
    victim, survivor = (ctx.servers.running[base][0] for base in load.rotation[:2])
    made = await load.http.post(
        f"{survivor.base}/v1/contacts", json={"first_name": "Held"}, headers=load.headers
    )
    contact = made.json()["id"]
    headers = {**load.headers, "Idempotency-Key": f"kill-{contact}"}

    def rename(server: Server) -> Coroutine[object, None, tuple[str, httpx.Response | None]]:
        return load.send(
            "kill",
            "PATCH",
            f"{server.base}/v1/contacts/{contact}",
            json={"last_name": "Killed"},
            headers=headers,
        )

    blocker = await asyncpg.connect(ctx.database_url)
    try:
        # Lock the contact's row: the PATCH claims its key, then waits on the row.
        locking = blocker.transaction()
        await locking.start()
        await blocker.execute("SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE", contact)
        held = asyncio.create_task(rename(victim))
        backend = await held_backend(blocker)
        duplicate, _ = await rename(survivor)
        phase.fault_began = phase.fault_ended = await ctx.servers.kill(victim)
        killed = phase.fault_ended
        held_outcome, _ = await held
        # PostgreSQL ends the dead server's transaction (and its claim) by itself.
        while await activity(blocker, "SELECT pid FROM pg_stat_activity WHERE pid = $1", backend):
            if time.monotonic() - killed > 10:
                raise RuntimeError("the killed server's transaction outlived it by 10 s")
            await asyncio.sleep(0.05)
        released = time.monotonic() - killed
        await locking.rollback()
    finally:
        await blocker.close()
    retries: list[str] = []
    while True:
        outcome, response = await rename(survivor)
        retries.append(outcome)
        if outcome != "409" or time.monotonic() - killed > 10:
            break
        await asyncio.sleep(FIRST_BACKOFF)
    retried = time.monotonic() - killed
    assert response is not None, retries
    assert response.status_code == 200, retries
    body = response.json()
    phase.notes.append(
        f"held PATCH: {held_outcome} on the killed server; the same PATCH on the other "
        f"server meanwhile: {duplicate}; PostgreSQL ended the killed transaction "
        f"{released:.2f} s after the kill; retries {' '.join(retries)}, "
        f"the last {retried:.2f} s after the kill; applied once: version {body['version']}, "
        f"last_name {body['last_name']!r}, replayed: {'idempotent-replayed' in response.headers}"
    )
    restarted = time.monotonic()
    await ctx.servers.start()
    phase.notes.append(
        f"killed server replaced by a new process in {time.monotonic() - restarted:.1f} s"
    )


async def activity(conn: asyncpg.Connection, query: str, *args: object) -> list[asyncpg.Record]:
    """`query` over pg_stat_activity as it is now (within a transaction, PostgreSQL
    would otherwise answer from the snapshot it took on the first read)."""
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return list(await conn.fetch(query, *args))


async def held_backend(blocker: asyncpg.Connection) -> int:
    """The PostgreSQL backend of the request waiting on the locked row."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        waiting = await activity(
            blocker,
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        )
        if len(waiting) == 1:
            return int(waiting[0]["pid"])
        await asyncio.sleep(0.02)
    raise RuntimeError("the PATCH did not come to wait on the locked row within 2 s")


async def slow_bodies(ctx: Context, phase: Phase) -> None:
    stop = asyncio.Event()
    key = ctx.load.headers["Authorization"].removeprefix("Bearer ")

    async def keep_trickling(base: str) -> None:
        while not stop.is_set():
            await trickle(base, key, stop)

    phase.fault_began = time.monotonic()
    tricklers = [
        asyncio.create_task(keep_trickling(base))
        for base in ctx.load.rotation
        for _ in range(TRICKLERS_PER_SERVER)
    ]
    await asyncio.sleep(ctx.args.fault_seconds)
    stop.set()
    await asyncio.gather(*tricklers, return_exceptions=True)
    phase.fault_ended = time.monotonic()
    phase.notes.append(f"{TRICKLERS_PER_SERVER} clients per server, one byte every 0.3 s")


# The report --------------------------------------------------------------------


def seconds(value: float | None) -> str:
    # A retry may be answered just before the fault's end is noted down: 0.
    return "-" if value is None else f"{max(value, 0.0):.2f}"


def summarize(phase: Phase, load: Load) -> dict[str, str]:
    # A request belongs to the phase it was answered in: one sent at the very end of
    # a phase's calm meets the next phase's fault.
    attempts = [a for a in load.attempts if phase.started <= a.ended < phase.ended]
    statuses = Counter(a.outcome for a in attempts)
    latencies = [a.ended - a.started for a in attempts]
    refused = [
        w
        for w in load.writes.values()
        if any(phase.started <= t < phase.ended for t in w.refused_at)
    ]
    after_fault = [
        w.acknowledged_at - phase.fault_ended for w in refused if w.acknowledged_at is not None
    ]
    during = Counter(
        c.outcome for c in load.ready_checks if phase.fault_began <= c.started <= phase.fault_ended
    )
    ready_max = max(
        (c.seconds for c in load.ready_checks if phase.started <= c.started < phase.ended),
        default=None,
    )
    # Each server's first check begun after the fault that answered 200 "ok".
    back = []
    for base in phase.servers:
        ok = [
            c.started
            for c in load.ready_checks
            if c.server == base
            and c.outcome == "200 ok"
            and phase.fault_ended <= c.started < phase.ended
        ]
        back.append(min(ok) - phase.fault_ended if ok else None)
    if attempts:
        slowest = max(attempts, key=lambda a: a.ended - a.started)
        phase.notes.append(
            f"slowest request: a {slowest.kind}, {slowest.outcome} after "
            f"{slowest.ended - slowest.started:.2f} s, begun "
            f"{slowest.started - phase.fault_began:+.2f} s from the fault's start "
            f"({slowest.started - phase.fault_ended:+.2f} s from its end)"
        )
    for (outcome, detail), n in sorted(
        Counter((a.outcome, a.detail) for a in attempts if a.detail).items()
    ):
        phase.notes.append(f"{n} x {outcome}: {detail}")
    other_5xx = sum(n for s, n in statuses.items() if s.startswith("5") and s != "503")
    return {
        "phase": phase.name,
        "requests": str(len(attempts)),
        "statuses": " ".join(f"{s}:{n}" for s, n in sorted(statuses.items())),
        "503": str(statuses.get("503", 0)),
        "other 5xx": str(other_5xx),
        "p50 / max ms": (
            f"{statistics.median(latencies) * 1000:.1f} / {max(latencies) * 1000:.0f}"
            if latencies
            else "-"
        ),
        "writes refused": str(len(refused))
        + (f" ({replayed} replayed)" if (replayed := sum(w.replayed for w in refused)) else ""),
        "first / last acknowledged, s after the fault": (
            f"{seconds(min(after_fault))} / {seconds(max(after_fault))}"
            + (
                f" ({len(refused) - len(after_fault)} never)"
                if len(after_fault) < len(refused)
                else ""
            )
            if refused
            else "-"
        ),
        "readiness during the fault": (
            " ".join(f"{s}:{n}" for s, n in sorted(during.items())) or "-"
        ),
        "readiness max ms": "-" if ready_max is None else f"{ready_max * 1000:.0f}",
        "ready and ok again, s": (
            "-"
            if not back or not phase.faulty
            else "never"
            if None in back
            else seconds(max(b for b in back if b is not None))
        ),
        "tracebacks": str(len(phase.tracebacks)),
    }


def print_table(rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join(" --- " for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(row[c] for c in columns) + " |")


async def read_back(load: Load, base: str) -> list[tuple[str, str]]:
    """Every contact of the tenant, (id, first_name), through the API."""
    found, cursor = [], None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        response = await load.http.get(f"{base}/v1/contacts", params=params, headers=load.headers)
        response.raise_for_status()
        page = response.json()
        found += [(c["id"], c["first_name"]) for c in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def verify(load: Load, base: str) -> list[str]:
    contacts = await read_back(load, base)
    ids = Counter(contact_id for contact_id, _ in contacts)
    by_key = Counter(name for _, name in contacts if name.startswith(WRITE_PREFIX))
    acknowledged = [w for w in load.writes.values() if w.acknowledged_at is not None]
    unacknowledged = [w for w in load.writes.values() if w.acknowledged_at is None]
    lost = [w.key for w in acknowledged if ids[w.contact_id or ""] == 0]
    listed_twice = [i for i, n in ids.items() if n > 1]
    duplicated = [key for key, n in by_key.items() if n > 1]
    stray = [key for key in by_key if key not in load.writes]
    pairs = set(contacts)
    mismatched = [w.key for w in acknowledged if (w.contact_id, w.key) not in pairs]
    return [
        f"writes acknowledged: {len(acknowledged)} "
        f"({sum(w.replayed for w in acknowledged)} of them by a replay, "
        f"{sum(bool(w.refused_at) for w in acknowledged)} after at least one refusal)",
        f"acknowledged writes lost: {len(lost)}  (ids not read back: {lost[:5]})",
        f"acknowledged writes whose id names another contact: {len(mismatched)}",
        f"Idempotency-Keys that made more than one contact (duplicated): {len(duplicated)} {duplicated[:5]}",
        f"contacts listed twice: {len(listed_twice)}; contacts with a name no writer sent: {len(stray)}",
        f"writes never acknowledged by the end: {len(unacknowledged)} "
        f"(of which made a contact: {sum(by_key[w.key] for w in unacknowledged)})",
    ]


# The run -----------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    redis_url, redis_source = find_redis()
    async with AsyncExitStack() as stack:
        server_url, embedded = stack.enter_context(database_server())
        database_url = await stack.enter_async_context(fresh_database(server_url))
        postgres = stack.enter_context(proxy_for(database_url, 5432))
        redis = stack.enter_context(proxy_for(redis_url, 6379)) if redis_url else None
        storage = (
            {"CRM_RATE_LIMIT_STORAGE": through(redis, redis_url)} if redis and redis_url else {}
        )
        env = server_env(through(postgres, database_url), **storage)
        print(
            "PostgreSQL: "
            + ("embedded, in a temporary folder" if embedded else "CRM_DATABASE_URL's server")
            + f"; Redis: {redis_source}"
            + ("" if redis else " (the Redis phases are skipped)")
        )
        print(
            f"2 servers (1 worker each), {args.writers} writers, {args.readers} readers, "
            f"faults of {args.fault_seconds:g} s each followed by {args.settle_seconds:g} s of calm; "
            f"writes retried after {FIRST_BACKOFF:g} s doubling to {MAX_BACKOFF:g} s",
            flush=True,
        )
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
            load = Load(http, {})
            servers = Servers(env, load)
            try:
                await servers.start()
                await servers.start()
                async with httpx.AsyncClient(base_url=load.rotation[0], timeout=10) as admin:
                    load.headers = (await make_company(admin)).owner.headers
                ctx = Context(args, load, servers, database_url, embedded, postgres, redis)
                phases = await run_phases(ctx, redis is not None)
                tracebacks, _ = servers.new_log()
                outcome = await verify(load, load.rotation[-1])
            finally:
                await servers.stop_all()
    print()
    print_table([summarize(phase, load) for phase in phases])
    print()
    for phase in phases:
        for note in phase.notes:
            print(f"{phase.name}: {note}")
        for line in sorted(set(phase.tracebacks)):
            print(f"{phase.name}: traceback ending {line!r}")
    if not redis:
        print(f"Redis stopped, Redis frozen: skipped ({redis_source})")
    for line in sorted(set(tracebacks)):
        print(f"after the phases: traceback ending {line!r}")
    print()
    for line in outcome:
        print(line)


async def run_phases(ctx: Context, with_redis: bool) -> list[Phase]:
    faults: list[tuple[str, Fault]] = [
        ("no fault", no_fault),
        ("PostgreSQL stopped", postgres_stopped),
        ("PostgreSQL frozen", postgres_frozen),
    ]
    if with_redis:
        faults += [("Redis stopped", redis_stopped), ("Redis frozen", redis_frozen)]
    faults += [
        ("kill -9 between claim and commit", kill_between_claim_and_commit),
        ("slow bodies", slow_bodies),
    ]
    load = ctx.load
    clients = [asyncio.create_task(load.writer(n)) for n in range(ctx.args.writers)]
    clients += [asyncio.create_task(load.reader()) for _ in range(ctx.args.readers)]
    clients.append(asyncio.create_task(load.readiness()))
    done = []
    try:
        ctx.servers.new_log()
        for name, fault in faults:
            now = time.monotonic()
            phase = Phase(name, started=now, fault_began=now, fault_ended=now)
            print(f"{name}...", flush=True)
            await fault(ctx, phase)
            await asyncio.sleep(ctx.args.settle_seconds)
            phase.ended = time.monotonic()
            phase.tracebacks, logged = ctx.servers.new_log()
            for line, n in Counter(logged).most_common(8):
                phase.notes.append(f"servers logged {n}x: {line[:160]}")
            phase.servers = list(load.rotation)
            done.append(phase)
    finally:
        load.give_up_at = time.monotonic() + DRAIN_SECONDS
        load.stopping.set()
        await asyncio.gather(*clients)
    return done


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fault-seconds", type=float, default=8.0)
    parser.add_argument("--settle-seconds", type=float, default=5.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
