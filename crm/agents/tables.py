from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class AgentTable(Table, tablename="agents"):
    """An employee of a company. Never deleted: deactivated (`is_active`)."""

    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    team_id = UUID(null=True, default=None)
    email = Varchar(length=320)
    name = Varchar(length=200)
    role = Varchar(length=20)
    is_active = Boolean(default=True)
    # argon2id hash, for the first-party sign-in; null when the agent has none.
    password_hash = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
