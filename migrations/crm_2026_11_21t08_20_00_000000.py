"""Keys and indexes of the idempotency store."""

from migrations.sql import sql_migration

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


forwards = sql_migration(ID, DESCRIPTION, SQL)
