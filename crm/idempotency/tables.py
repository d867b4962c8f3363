from piccolo.columns import JSONB, UUID, Bytea, SmallInt, Timestamptz, Varchar
from piccolo.table import Table


class IdempotencyKeyTable(Table, tablename="idempotency_keys"):
    """The first completed answer to a request sent with an idempotency key, per API key.

    A row is written with its answer, in the request's own transaction; while the
    request runs, only its transaction-scoped lock marks the key (see
    `crm.idempotency.service`). `status` is nullable for rows written before that.
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
