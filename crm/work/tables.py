from piccolo.columns import JSONB, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class JobTable(Table, tablename="jobs"):
    """A unit of background work, or a timer: run `kind` with `payload` at `run_at`.

    Not a tenant record (the engine serves every company, and the operator sees
    all of it): `company_id` says whose work it is when it is a company's.
    While `running`, `run_at` holds the end of the lease, so one index over the
    due time of pending and running jobs finds both the due and the abandoned.
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=200)
    payload = JSONB()
    company_id = UUID(null=True, default=None)
    # The same work is never enqueued twice: a second enqueue with a key finds the first.
    key = Varchar(length=400, null=True, default=None)
    state = Varchar(length=20, default="pending")
    run_at = Timestamptz()
    attempts = Integer(default=0)
    max_attempts = Integer(default=25)
    lease_until = Timestamptz(null=True, default=None)
    locked_by = Varchar(length=200, null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
