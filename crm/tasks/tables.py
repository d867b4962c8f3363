from piccolo.columns import UUID, Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class TaskTable(Table, tablename="tasks"):
    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    assignee_id = UUID(default=None)
    contact_id = UUID(null=True, default=None)
    deal_id = UUID(null=True, default=None)
    title = Varchar(length=200)
    due_at = Timestamptz(null=True, default=None)
    done = Boolean(default=False)
    completed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
