"""Migrations that rename table classes and keep their tables: no SQL runs.

Piccolo's migration history names each table by its class, so a class renamed
in code looks to its auto-differ like a table dropped and another created. A
rename recorded here brings the history in line; the table keeps its name, so
there is nothing to do in the database.
"""

from collections.abc import Awaitable, Callable

from piccolo.apps.migrations.auto.migration_manager import MigrationManager


class _ClassRenames(MigrationManager):
    async def _run_rename_tables(self, backwards: bool = False) -> None:
        # Each rename keeps its table's name (`class_renames` takes one per table).
        return None


def class_renames(
    migration_id: str, description: str, renames: dict[str, tuple[str, str]]
) -> Callable[[], Awaitable[MigrationManager]]:
    """A migration's `forwards`: `renames` maps an old class name to (new class name, table)."""

    async def forwards() -> MigrationManager:
        manager = _ClassRenames(migration_id=migration_id, app_name="crm", description=description)
        for old, (new, tablename) in renames.items():
            manager.rename_table(
                old_class_name=old, old_tablename=tablename, new_class_name=new, new_tablename=tablename
            )
        return manager

    return forwards
