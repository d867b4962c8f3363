"""The company: the tenant itself, and bootstrapping a new one."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from crm import db
from crm.agents.schemas import Agent
from crm.agents.service import insert_agent
from crm.api_keys.service import issue_key
from crm.auth_changes import auth_changed
from crm.companies.schemas import Company, CompanyBootstrap, CompanyUpdate
from crm.contacts.phones import is_region
from crm.errors import Forbidden, NotFound, ValidationFailed
from crm.ids import new_id
from crm.policy import Actor, Permission, Role, Scope
from crm.query import check_version

COLUMNS = (
    "id, name, slug, plan, subscription_status, billing_email, billing_customer_id, "
    "default_region, created_at, updated_at, version"
)
CONFLICTS = {
    "companies_billing_customer_id_key": "Another company has this billing_customer_id.",
}


def _check_region(region: str | None) -> None:
    if region is not None and not is_region(region):
        raise ValidationFailed.one("default_region", "is not an ISO 3166 country code")


def _company(row: Any) -> Company:
    return Company(**dict(row))


async def get_company(actor: Actor) -> Company:
    actor.require_key_scope(Permission.COMPANY_VIEW)
    row = await db.connection().fetchrow(
        f"SELECT {COLUMNS} FROM companies WHERE id = $1", actor.company_id
    )
    if row is None:
        raise NotFound("The company no longer exists.")
    return _company(row)


async def update_company(
    actor: Actor, changes: CompanyUpdate, *, expected_version: int | None = None
) -> Company:
    scope = actor.scope_for(Permission.COMPANY_UPDATE)
    row = await db.connection().fetchrow(
        "SELECT version FROM companies WHERE id = $1 FOR UPDATE", actor.company_id
    )
    if row is None:
        raise NotFound("The company no longer exists.")
    if scope is Scope.NONE:
        raise Forbidden("Only an owner may change the company.")
    check_version(row["version"], expected_version)
    values = changes.given()
    _check_region(values.get("default_region"))
    if not values:
        return await get_company(actor)
    async with db.conflicts(CONFLICTS):
        updated = await db.connection().fetchrow(
            f"UPDATE companies SET {', '.join(f'{k} = ${i + 2}' for i, k in enumerate(values))}, "
            f"version = version + 1, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
            actor.company_id,
            *values.values(),
        )
    await auth_changed("company", actor.company_id)
    return _company(updated)


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "company"


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    company: Company
    owner: Agent
    api_key: str


async def bootstrap_company(data: CompanyBootstrap) -> Bootstrapped:
    """Create a company, its first owner and the owner's first API key (operator only)."""
    _check_region(data.default_region)
    conn = db.connection()
    slug = slugify(data.name)
    if await conn.fetchval("SELECT 1 FROM companies WHERE slug = $1", slug):
        slug = f"{slug}-{secrets.token_hex(3)}"
    async with db.conflicts(CONFLICTS):
        row = await conn.fetchrow(
            f"""INSERT INTO companies (id, name, slug, plan, subscription_status,
                    billing_customer_id, default_region, created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, 'active', $5, $6, now(), now(), 1)
                RETURNING {COLUMNS}""",
            new_id(),
            data.name,
            slug,
            data.plan,
            data.billing_customer_id,
            data.default_region,
        )
    company = _company(row)
    owner = await insert_agent(
        company.id, email=data.owner_email, name=data.owner_name, role=Role.OWNER, team_id=None
    )
    _, key = await issue_key(company.id, owner.id, name="Bootstrap key", scopes=None)
    return Bootstrapped(company=company, owner=owner, api_key=key)
