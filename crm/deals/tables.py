from piccolo.columns import UUID, Date, Integer, Numeric, Timestamptz, Varchar
from piccolo.table import Table


class DealTable(Table, tablename="deals"):
    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    owner_id = UUID(default=None)
    contact_id = UUID(null=True, default=None)
    title = Varchar(length=200)
    stage = Varchar(length=20, default="lead")
    amount = Numeric(null=True, default=None)
    currency = Varchar(length=3, null=True, default=None)
    expected_close_date = Date(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
