from piccolo.columns import JSONB, UUID, Bytea, SmallInt, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyKey(Table, tablename="idempotency_keys"):
    """The first completed answer to a request sent with an idempotency key, per API key.

    `status` is null while the first request is still running.
    """

    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    api_key_id = UUID(default=None)
    key = Varchar(length=255)
    fingerprint = Bytea()
    status = SmallInt(null=True, default=None)
    headers = JSONB(null=True, default=None)
    body = Bytea(null=True, default=None)
    created_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)
