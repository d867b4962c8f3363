"""Keys and indexes of the email templates."""

from migrations.sql import sql_migration

ID = "2026-11-28T19:14:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "email templates: tenant keys and indexes"

SQL = """
ALTER TABLE email_templates
    ADD CONSTRAINT email_templates_company_fk FOREIGN KEY (company_id)
        REFERENCES companies (id) ON DELETE CASCADE,
    ADD CONSTRAINT email_templates_company_id_key UNIQUE (company_id, id);
CREATE UNIQUE INDEX email_templates_company_name_key
    ON email_templates (company_id, lower(name));
CREATE INDEX email_templates_company_created_idx
    ON email_templates (company_id, created_at, id);
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
