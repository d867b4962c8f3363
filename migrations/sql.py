"""Migrations written in SQL: what Piccolo's table definitions cannot express."""

from collections.abc import Awaitable, Callable

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder


def sql_migration(migration_id: str, description: str, sql: str) -> Callable[[], Awaitable[MigrationManager]]:
    """A migration's `forwards`: run `sql` in the migration's transaction."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name="crm", description=description)

        async def run() -> None:
            engine = engine_finder()
            assert engine is not None
            await engine.current_transaction.get().connection.execute(sql)

        manager.add_raw(run)
        return manager

    return forwards
