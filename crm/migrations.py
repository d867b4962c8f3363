"""Applying Piccolo migrations, and telling which are pending.

Migrations live in `migrations/` (Piccolo's format). Applying them takes a
PostgreSQL advisory lock, so several processes or hosts starting at once apply
each migration exactly once.
"""

from __future__ import annotations

import contextlib
import functools
import io

import asyncpg
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

from crm import piccolo_conf
from crm.db import Connection
from crm.piccolo_app import APP_CONFIG

_LOCK_ID = 0x63726D  # "crm": the advisory lock that serialises migrators


@functools.cache
def migration_ids() -> list[str]:
    """Every migration in `migrations/`, in the order they apply."""
    manager = BaseMigrationManager()
    modules = manager.get_migration_modules(APP_CONFIG.resolved_migrations_folder_path)
    return list(manager.get_migration_ids(modules))


async def applied_ids(conn: Connection) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('public.migration') IS NOT NULL")
    if not exists:
        return []
    rows = await conn.fetch("SELECT name FROM migration WHERE app_name = 'crm' ORDER BY name")
    return [row["name"] for row in rows]


async def pending_ids(conn: Connection) -> list[str]:
    done = set(await applied_ids(conn))
    # A copy: the cached list must not be shared with callers.
    return [mid for mid in migration_ids() if mid not in done]


async def migrate(dsn: str) -> list[str]:
    """Apply every pending migration; return the ids applied by this call."""
    piccolo_conf.DB.config = {"dsn": dsn}
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            todo = await pending_ids(conn)
            if todo:
                # Piccolo narrates each step with emoji on stdout; keep our output ours.
                with contextlib.redirect_stdout(io.StringIO()):
                    result = await ForwardsMigrationManager(app_name="crm").run()
                if not result.success:
                    raise RuntimeError(f"migrations failed: {result.message}")
            return todo
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    finally:
        await conn.close()
