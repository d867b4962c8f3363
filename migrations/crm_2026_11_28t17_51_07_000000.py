"""Table classes renamed (`Contact` -> `ContactTable`, ...): the SQL tables keep their names.

The msgspec records are `Contact`, `Deal` and `Task`; the Piccolo classes now
end in `Table`. Piccolo's migration history names tables by class, so the
renames are recorded for its auto-differ; PostgreSQL has nothing to do (an
`ALTER TABLE contacts RENAME TO contacts` would fail), so none is run.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T17:51:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts, contact phones, deals, tasks: table classes renamed"

RENAMED = {
    "Contact": ("ContactTable", "contacts"),
    "ContactPhone": ("ContactPhoneTable", "contact_phones"),
    "Deal": ("DealTable", "deals"),
    "Task": ("TaskTable", "tasks"),
}


class ClassRenames(MigrationManager):
    """Renames of table classes only: recorded for the snapshot, no SQL run."""

    async def _run_rename_tables(self, backwards: bool = False) -> None:
        return None


async def forwards() -> MigrationManager:
    manager = ClassRenames(migration_id=ID, app_name="crm", description=DESCRIPTION)
    for old, (new, tablename) in RENAMED.items():
        manager.rename_table(
            old_class_name=old,
            old_tablename=tablename,
            new_class_name=new,
            new_tablename=tablename,
        )
    return manager
