from piccolo.columns import UUID, Integer, Timestamptz, Varchar
from piccolo.table import Table


class CompanyTable(Table, tablename="companies"):
    """A tenant. `plan` and `subscription_status` change only through payment webhooks."""

    id = UUID(primary_key=True)
    name = Varchar(length=200)
    slug = Varchar(length=100, unique=True)
    plan = Varchar(length=20, default="free")
    subscription_status = Varchar(length=20, default="active")
    billing_email = Varchar(length=320, null=True, default=None)
    billing_customer_id = Varchar(length=255, null=True, default=None, unique=True)
    default_region = Varchar(length=2, null=True, default=None)
    # `created` of the newest payment event applied: older events do not overwrite.
    billing_event_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
