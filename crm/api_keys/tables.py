from piccolo.columns import UUID, Array, Bytea, Timestamptz, Varchar
from piccolo.table import Table


class ApiKeyTable(Table, tablename="api_keys"):
    """An API key. Only `secret_hash`, an HMAC-SHA256 of the full key, is stored."""

    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    agent_id = UUID(default=None)
    name = Varchar(length=200)
    # The key's public, leading part (`crm_...`): finds the record, names it in logs.
    prefix = Varchar(length=32, unique=True)
    secret_hash = Bytea()
    scopes = Array(base_column=Varchar(length=40))
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
