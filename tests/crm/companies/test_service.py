"""Companies: their slugs, and the plan whose limits apply."""

from __future__ import annotations

import httpx
import pytest

from crm import db
from crm.companies.schemas import Plan, SubscriptionStatus
from crm.companies.service import create_company, effective_plan, slugify
from tests.factories import unique


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme", "acme"),
        ("Café Crème & Co.", "cafe-creme-co"),
        ("  --Northwind  Traders--  ", "northwind-traders"),
        ("東京", "company"),
        ("x" * 80, "x" * 60),
    ],
    ids=["plain", "accents-and-punctuation", "edges", "no-latin-letter", "too-long"],
)
def test_a_slug_is_the_name_in_lower_case_ascii_words_joined_by_hyphens(
    name: str, slug: str
) -> None:
    assert slugify(name) == slug


async def test_a_taken_slug_gets_a_random_suffix(client: httpx.AsyncClient) -> None:
    name = unique("Slug Taken")
    async with db.transaction():
        first = await create_company(
            name=name, plan=Plan.FREE, billing_customer_id=None, default_region=None
        )
        second = await create_company(
            name=name, plan=Plan.FREE, billing_customer_id=None, default_region=None
        )
    assert first.slug == slugify(name)
    assert second.slug.startswith(first.slug + "-")
    assert len(second.slug) == len(first.slug) + 7


@pytest.mark.parametrize(
    ("plan", "status", "applies"),
    [
        ("pro", SubscriptionStatus.ACTIVE, Plan.PRO),
        ("enterprise", SubscriptionStatus.PAST_DUE, Plan.ENTERPRISE),
        ("enterprise", SubscriptionStatus.CANCELLED, Plan.FREE),
        ("platinum", SubscriptionStatus.ACTIVE, Plan.FREE),
    ],
)
def test_the_plan_that_applies_is_free_once_cancelled_or_when_unknown(
    plan: str, status: SubscriptionStatus, applies: Plan
) -> None:
    assert effective_plan(plan, status) == applies
