"""The SQL of API keys: named queries of the `api_keys` table, each inside one company."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crm import db
from crm.api_keys.schemas import ApiKey, ApiKeyPage, KeySummary
from crm.ids import new_id, parse_id
from crm.pagination import Sort, check_limit
from crm.policy import Actor, KeyScope, Permission
from crm.query import TenantSelect
from crm.sql import Columns


def _scopes(values: Iterable[str]) -> list[KeyScope]:
    return [KeyScope(value) for value in values]


API_KEY = Columns(ApiKey, "k", computed={"scopes": (("scopes",), _scopes)})
KEY_SUMMARY = Columns(KeySummary, "k")
SORTS = {
    "-created_at": Sort("-created_at", "k.created_at", datetime),
    "created_at": Sort("created_at", "k.created_at", datetime),
}


def visible(actor: Actor) -> TenantSelect:
    return TenantSelect(
        actor,
        Permission.API_KEYS_VIEW,
        table="api_keys",
        alias="k",
        columns=API_KEY.sql,
        owner_column="agent_id",
    )


async def list_visible(
    actor: Actor, *, agent_id: str | None, sort: Sort, limit: int, cursor: str | None
) -> ApiKeyPage:
    query = visible(actor)
    if agent_id is not None:
        query.filter(f"k.agent_id = {query.placeholder(parse_id(agent_id))}")
    return await query.page(
        sort=sort, limit=check_limit(limit), cursor=cursor, build=API_KEY.build, page=ApiKeyPage
    )


async def get_visible(actor: Actor, key_id: str) -> ApiKey:
    """The key if the actor may see it; 404 when missing or hidden alike."""
    return API_KEY.build(await visible(actor).get(key_id, noun="API key"))


async def get_visible_manageable(actor: Actor, key_id: str) -> tuple[str, bool]:
    """`(id, whether the actor may manage it)` of a key the actor may see; else 404."""
    query = visible(actor).can("can_manage", actor, actor.scope_for(Permission.API_KEYS_MANAGE))
    row = await query.get(key_id, noun="API key")
    return row["id"], row["can_manage"]


async def summary(company_id: str, key_id: str) -> KeySummary | None:
    row = await db.connection().fetchrow(
        f"SELECT {KEY_SUMMARY.sql} FROM api_keys k WHERE k.company_id = $1 AND k.id = $2",
        company_id,
        key_id,
    )
    return None if row is None else KEY_SUMMARY.build(row)


async def insert(
    company_id: str,
    agent_id: str,
    *,
    name: str,
    prefix: str,
    secret_hash: bytes,
    scopes: list[str],
    expires_at: datetime | None,
) -> ApiKey:
    row = await db.connection().fetchrow(
        f"""INSERT INTO api_keys (id, company_id, agent_id, name, prefix, secret_hash, scopes,
                created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)
            RETURNING {API_KEY.returning}""",
        new_id(),
        company_id,
        agent_id,
        name,
        prefix,
        secret_hash,
        scopes,
        expires_at,
    )
    assert row is not None  # INSERT ... RETURNING returns the row it wrote
    return API_KEY.build(row)


async def revoke(company_id: str, key_id: str) -> str:
    """Revoke the key (once: a second revocation keeps the first time); its prefix."""
    prefix: str = await db.connection().fetchval(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
           WHERE company_id = $1 AND id = $2 RETURNING prefix""",
        company_id,
        key_id,
    )
    return prefix


async def set_last_used(uses: dict[str, tuple[str, datetime]]) -> None:
    """Set `last_used_at` of many keys at once: {key id: (company id, when)}; never back in time."""
    ids = list(uses)
    await db.connection().execute(
        """UPDATE api_keys k SET last_used_at = u.at
           FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u(id, company_id, at)
           WHERE k.company_id = u.company_id AND k.id = u.id
             AND (k.last_used_at IS NULL OR k.last_used_at < u.at)""",
        ids,
        [uses[i][0] for i in ids],
        [uses[i][1] for i in ids],
    )
