from piccolo.columns import JSONB, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class BillingEventTable(Table, tablename="billing_events"):
    """Every verified payment event, kept for audit with what was done about it.

    Not a tenant record: the operator sees these, tenants never do. `company_id`
    is null when no company has the event's customer.
    """

    id = Varchar(length=255, primary_key=True)  # the provider's event id
    type = Varchar(length=100)
    created = Timestamptz()  # when the provider says the event happened
    customer = Varchar(length=255, null=True, default=None)
    company_id = UUID(null=True, default=None)
    outcome = Varchar(length=20)  # applied, stale, ignored
    reason = Text(null=True, default=None)
    payload = JSONB()
    received_at = Timestamptz()
    deliveries = Integer(default=1)  # redeliveries count here and change nothing else
    last_delivered_at = Timestamptz()
