"""Database access: one asyncpg pool per process, one transaction per request.

Service functions never commit: the boundary (an HTTP request, a CLI command)
opens `transaction()`, the services below it reach the same connection through
`connection()`, and the boundary commits once or rolls everything back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from crm.errors import Conflict, ServiceUnavailable

# A connection as the services see it: a pool hands out a proxy of its
# connection (which asyncpg's types do not count as a `Connection`), a command
# that connects by itself holds the connection itself. Both run the same queries.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

_pool: asyncpg.Pool | None = None
_current: ContextVar[Connection | None] = ContextVar("crm_connection", default=None)

# How long a request waits for the database, each bound chosen so that a frozen
# or vanished PostgreSQL costs a client a few seconds and a 503, never a hang:
# a free pooled connection (they are held for milliseconds; a pool still empty
# after this long is overloaded or cannot connect), a new connection, a statement.
ACQUIRE_SECONDS = 2.0
CONNECT_SECONDS = 2.0
REQUEST_STATEMENT_SECONDS = 3.0
# Returning a connection whose server froze must not hold the request either.
RELEASE_SECONDS = 0.5
# Closing the pool at shutdown waits this long for connections to finish.
CLOSE_SECONDS = 5.0

# Errors that mean "the database is not there right now", as opposed to a bug:
# the network, the server shutting down or refusing connections (classes 08,
# 53 and 57 of SQLSTATE, which include a cancelled statement), a timeout, and
# asyncpg's own errors about a connection that broke under it (an
# InternalClientError is what a query sees while the server shuts down).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


async def keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is: no reset query.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release, a round trip per request. Pooled connections never
    change session state here: settings are fixed at connect, LISTEN has its own
    connection, advisory locks are transaction-scoped and cursors are not used. An
    open transaction is still rolled back by the pool itself.
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Ids travel as strings end to end: no UUID objects to convert per row.
    await conn.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")


async def open_pool(dsn: str, *, size: int = 10, statement_seconds: float = 30.0) -> asyncpg.Pool:
    """Open a pool; the first one opened becomes the process's default.

    `statement_seconds` bounds every statement on the client side, so a frozen
    server cannot hold a caller longer (the server serves requests with
    `REQUEST_STATEMENT_SECONDS`; commands and benchmarks keep a longer bound).
    """
    global _pool
    # min_size=0: the process starts (and answers 503) while the database is
    # away, and reconnects by itself when it returns.
    pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=size,
        init=_init_connection,
        reset=keep_session,
        timeout=CONNECT_SECONDS,
        command_timeout=statement_seconds,
        server_settings={
            "application_name": "crm",
            "timezone": "UTC",
            # A server process that dies mid-request (a crash, a kill) is noticed by
            # PostgreSQL within a second even while its statement waits on a lock,
            # so its transaction, and the idempotency key it holds, end at once.
            "client_connection_check_interval": "1000",
        },
    )
    if _pool is None:
        _pool = pool
    return pool


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close the pool: gracefully when the server answers, at once when it does not."""
    global _pool
    if _pool is pool:
        _pool = None
    try:
        await asyncio.wait_for(pool.close(), CLOSE_SECONDS)
    except (Exception, asyncio.CancelledError):
        pool.terminate()


def pool() -> asyncpg.Pool:
    if _pool is None:
        raise RuntimeError("the database pool is not open")
    return _pool


def connection() -> Connection:
    """The connection of the transaction this code runs in."""
    conn = _current.get()
    if conn is None:
        raise RuntimeError("no transaction is open: wrap the call in crm.db.transaction()")
    return conn


@contextmanager
def bound(conn: Connection) -> Iterator[Connection]:
    """Run services on `conn` without a transaction: for reads of one statement each."""
    token = _current.set(conn)
    try:
        yield conn
    finally:
        _current.reset(token)


class Transaction:
    """The request's transaction; `rollback_only()` makes the boundary roll back."""

    __slots__ = ("_rollback", "connection")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._rollback = False

    def rollback_only(self) -> None:
        self._rollback = True


@asynccontextmanager
async def acquired(on: asyncpg.Pool | None = None) -> AsyncIterator[PoolConnectionProxy]:
    """A pooled connection for the time of a request: 503 when none comes quickly.

    Giving it back never fails the request: a connection that broke (or whose
    server froze) is terminated instead, and the pool opens a fresh one later.
    """
    source = on or pool()
    try:
        conn = await source.acquire(timeout=ACQUIRE_SECONDS)
    except UNAVAILABLE_ERRORS as exc:
        raise ServiceUnavailable("The database is unavailable; try again shortly.") from exc
    try:
        yield conn
    finally:
        try:
            await source.release(conn, timeout=RELEASE_SECONDS)
        except (Exception, asyncio.CancelledError):
            with contextlib.suppress(Exception):
                conn.terminate()
            with contextlib.suppress(Exception):
                await source.release(conn)


@asynccontextmanager
async def transaction(on: asyncpg.Pool | None = None) -> AsyncIterator[Transaction]:
    """Open the one transaction of a request; commit on success, roll back on error.

    Nested use joins the outer transaction, so a service may be called both from
    a request and from another service. `on` is the pool to use (the default one
    when omitted).
    """
    outer = _current.get()
    if outer is not None:
        yield Transaction(outer)
        return
    async with acquired(on) as conn:
        token = _current.set(conn)
        handle = Transaction(conn)
        try:
            tx = conn.transaction()
            await tx.start()
            try:
                yield handle
            except BaseException:
                with contextlib.suppress(*UNAVAILABLE_ERRORS):
                    await tx.rollback()
                raise
            if handle._rollback:
                await tx.rollback()
            else:
                await tx.commit()
        finally:
            _current.reset(token)


@asynccontextmanager
async def conflicts(messages: dict[str, str]) -> AsyncIterator[None]:
    """Turn a unique-constraint clash into a 409, with a message per constraint name."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        name = getattr(exc, "constraint_name", None) or ""
        raise Conflict(messages.get(name, "A record with these values exists already.")) from None
