"""Owner-led indexes for every sort: a team's or an agent's page is an ordered scan.

A team's page merges each member's first rows (crm.query.TenantSelect.page);
each member's part needs an index led by (company_id, owner) in the sort's order.
"""

from migrations.sql import sql_migration

ID = "2026-11-21T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "owner-led sort indexes"

SQL = """
CREATE INDEX contacts_company_owner_updated_idx
    ON contacts (company_id, owner_id, updated_at, id);
CREATE INDEX contacts_company_owner_next_task_idx
    ON contacts (company_id, owner_id, next_task_due_at, id);
CREATE INDEX deals_company_owner_amount_idx ON deals (company_id, owner_id, amount, id);
CREATE INDEX deals_company_owner_close_date_idx
    ON deals (company_id, owner_id, expected_close_date, id);
CREATE INDEX tasks_company_assignee_due_idx ON tasks (company_id, assignee_id, due_at, id);
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
