"""Bootstrapping a tenant: a new company, its first owner and the owner's first key.

The one operation that writes to three domains at once, so it lives above them:
each domain stays free of the others' services.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.agents.schemas import Agent
from crm.agents.service import create_owner
from crm.api_keys.service import issue_key
from crm.companies.schemas import Company, CompanyBootstrap
from crm.companies.service import create_company


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    company: Company
    owner: Agent
    api_key: str


async def bootstrap_company(data: CompanyBootstrap) -> Bootstrapped:
    """Create a company, its first owner and the owner's first API key (operator only)."""
    company = await create_company(
        name=data.name,
        plan=data.plan,
        billing_customer_id=data.billing_customer_id,
        default_region=data.default_region,
    )
    owner = await create_owner(company.id, email=data.owner_email, name=data.owner_name)
    _, key = await issue_key(company.id, owner.id, name="Bootstrap key", scopes=None)
    return Bootstrapped(company=company, owner=owner, api_key=key)
