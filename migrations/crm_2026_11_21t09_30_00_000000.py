"""Owner-led indexes for every sort: a team's or an agent's page is an ordered scan.

A team's page merges each member's first rows (crm.query.TenantSelect.page);
each member's part needs an index led by (company_id, owner) in the sort's order.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

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


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="crm", description=DESCRIPTION)

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
