"""Keys and indexes of the billing events."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-21T08:28:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "billing events: constraints and indexes"

SQL = """
ALTER TABLE billing_events
    ADD CONSTRAINT billing_events_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE SET NULL,
    ADD CONSTRAINT billing_events_outcome_check
        CHECK (outcome IN ('applied', 'stale', 'ignored'));
-- The operator reads a company's events newest first, and all events the same way.
CREATE INDEX billing_events_company_received_idx ON billing_events (company_id, received_at, id);
CREATE INDEX billing_events_received_idx ON billing_events (received_at, id);
"""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None
        transaction = engine.current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(run)
    return manager
