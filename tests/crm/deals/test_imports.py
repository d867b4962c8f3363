"""Deal imports: the checks and derived fields of single creates."""

from __future__ import annotations

import httpx
import pytest

from crm import db
from crm.deals.schemas import DealCreate
from crm.deals.service import import_deals
from crm.errors import ValidationFailed
from tests.factories import make_company, make_contact


async def count(sql: str, *args: object) -> int:
    async with db.transaction() as tx:
        value = await tx.connection.fetchval(sql, *args)
    assert isinstance(value, int)
    return value


async def test_imported_deals_are_checked_like_created_ones(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    contact = await make_contact(tenant.owner)
    async with db.transaction():
        ids = await import_deals(
            tenant.owner.actor,
            [
                DealCreate(title="a", contact_id=contact["id"], amount="10", currency="EUR"),
                DealCreate(title="b", stage="won"),
            ],
        )
    assert len(ids) == 2
    assert (
        await count(
            "SELECT count(*) FROM deals WHERE company_id = $1 AND closed_at IS NOT NULL", tenant.id
        )
        == 1
    )
    with pytest.raises(ValidationFailed) as refused:
        async with db.transaction():
            await import_deals(
                tenant.owner.actor, [DealCreate(title="c", amount="1.234", currency="USD")]
            )
    assert [e.field for e in refused.value.errors] == ["items[0].amount"]
