"""Backfill contacts.search_name and refresh the search document.

The folding (case and accents) is done in Python, as the service does it: the
embedded PostgreSQL has no `unaccent`. Batches keep each statement small.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-21T08:51:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts: backfill search_name"

BATCH = 5000


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def run() -> None:
        from crm.contacts.search import words

        engine = engine_finder()
        assert engine is not None
        conn = engine.current_transaction.get().connection
        last = "00000000-0000-0000-0000-000000000000"
        while True:
            rows = await conn.fetch(
                "SELECT id, first_name, last_name FROM contacts WHERE id > $1 ORDER BY id LIMIT $2",
                last,
                BATCH,
            )
            if not rows:
                break
            await conn.execute(
                """UPDATE contacts c SET search_name = u.name
                   FROM unnest($1::uuid[], $2::text[]) AS u(id, name) WHERE c.id = u.id""",
                [r["id"] for r in rows],
                [words(f"{r['first_name']} {r['last_name']}") for r in rows],
            )
            last = rows[-1]["id"]

    manager.add_raw(run)
    return manager
