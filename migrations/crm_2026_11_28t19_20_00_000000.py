"""Keys and indexes of the suppressed addresses."""

from migrations.sql import sql_migration

ID = "2026-11-28T19:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "email suppressions: tenant keys and indexes"

SQL = """
ALTER TABLE email_suppressions
    ADD CONSTRAINT email_suppressions_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT email_suppressions_company_id_key UNIQUE (company_id, id),
    -- Kept in lower case: one address per company, whatever case it came in.
    ADD CONSTRAINT email_suppressions_email_check CHECK (email = lower(email)),
    ADD CONSTRAINT email_suppressions_reason_check
        CHECK (reason IN ('bounced', 'complained', 'manual'));
CREATE UNIQUE INDEX email_suppressions_company_email_key
    ON email_suppressions (company_id, email);
CREATE INDEX email_suppressions_company_created_idx
    ON email_suppressions (company_id, created_at, id);
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
