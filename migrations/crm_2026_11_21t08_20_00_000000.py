"""Keys and indexes of the idempotency store."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-21T08:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotency keys: tenant keys and indexes"

SQL = """
ALTER TABLE idempotency_keys
    ADD CONSTRAINT idempotency_keys_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT idempotency_keys_api_key_fk FOREIGN KEY (api_key_id)
        REFERENCES api_keys (id) ON DELETE CASCADE,
    ADD CONSTRAINT idempotency_keys_key_key UNIQUE (company_id, api_key_id, key);
-- What the hourly clean-up deletes: answers older than 24 hours.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
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
