"""Keys and indexes of the billing events."""

from migrations.sql import sql_migration

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


forwards = sql_migration(ID, DESCRIPTION, SQL)
