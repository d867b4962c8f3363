from piccolo.columns import UUID, Integer, Timestamptz, Varchar
from piccolo.table import Table


class TeamTable(Table, tablename="teams"):
    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    name = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
