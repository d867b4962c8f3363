"""Database access: one asyncpg pool per process, one transaction per request.

Service functions never commit: the boundary (an HTTP request, a CLI command)
opens `transaction()`, the services below it reach the same connection through
`connection()`, and the boundary commits once or rolls everything back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

import asyncpg

from crm.errors import Conflict, ServiceUnavailable

_pool: asyncpg.Pool | None = None
_current: ContextVar[asyncpg.Connection | None] = ContextVar("crm_connection", default=None)

# Errors that mean "the database is not there right now", as opposed to a bug.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
    TimeoutError,
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


async def open_pool(dsn: str, *, size: int = 10) -> asyncpg.Pool:
    """Open a pool; the first one opened becomes the process's default."""
    global _pool
    # min_size=0: the process starts (and answers 503) while the database is
    # away, and reconnects by itself when it returns.
    pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=size,
        init=_init_connection,
        reset=keep_session,
        command_timeout=30,
        server_settings={"application_name": "crm", "timezone": "UTC"},
    )
    if _pool is None:
        _pool = pool
    return pool


async def close_pool(pool: asyncpg.Pool) -> None:
    global _pool
    if _pool is pool:
        _pool = None
    await pool.close()


def pool() -> asyncpg.Pool:
    if _pool is None:
        raise RuntimeError("the database pool is not open")
    return _pool


def connection() -> asyncpg.Connection:
    """The connection of the transaction this code runs in."""
    conn = _current.get()
    if conn is None:
        raise RuntimeError("no transaction is open: wrap the call in crm.db.transaction()")
    return conn


@contextmanager
def bound(conn: asyncpg.Connection) -> Iterator[asyncpg.Connection]:
    """Run services on `conn` without a transaction: for reads of one statement each."""
    token = _current.set(conn)
    try:
        yield conn
    finally:
        _current.reset(token)


class Transaction:
    """The request's transaction; `rollback_only()` makes the boundary roll back."""

    __slots__ = ("_rollback", "connection")

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self._rollback = False

    def rollback_only(self) -> None:
        self._rollback = True


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
    try:
        source = on or pool()
        conn = await source.acquire(timeout=10)
    except UNAVAILABLE_ERRORS as exc:
        raise ServiceUnavailable("The database is unavailable; try again shortly.") from exc
    token = _current.set(conn)
    handle = Transaction(conn)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            yield handle
        except BaseException:
            await tx.rollback()
            raise
        if handle._rollback:
            await tx.rollback()
        else:
            await tx.commit()
    finally:
        _current.reset(token)
        await source.release(conn)


@asynccontextmanager
async def conflicts(messages: dict[str, str]) -> AsyncIterator[None]:
    """Turn a unique-constraint clash into a 409, with a message per constraint name."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        name = getattr(exc, "constraint_name", None) or ""
        raise Conflict(messages.get(name, "A record with these values exists already.")) from None
