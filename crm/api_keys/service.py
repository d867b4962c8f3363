"""API keys: issuing, listing, revoking, and turning a presented key into an actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from crm import db
from crm.api_keys.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage
from crm.errors import Forbidden, InsufficientScope, NotFound, Unauthenticated, ValidationFailed
from crm.events import auth_changed
from crm.ids import new_id, parse_id
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import ALL_KEY_SCOPES, Actor, Permission, Role
from crm.query import TenantSelect
from crm.records import require_agent_in_scope
from crm.security import api_key_matches, generate_api_key, hash_api_key, parse_api_key

COLUMNS = (
    "k.id, k.name, k.agent_id, k.prefix, k.scopes, k.created_at, k.expires_at, "
    "k.last_used_at, k.revoked_at"
)
RETURNING = COLUMNS.replace("k.", "")
SORTS = {
    "-created_at": Sort("-created_at", "k.created_at", datetime),
    "created_at": Sort("created_at", "k.created_at", datetime),
}

_secret_key: str | None = None


def configure(secret_key: str) -> None:
    """Set the key that API-key hashes are made with (`CRM_SECRET_KEY`)."""
    global _secret_key
    _secret_key = secret_key


def _secret() -> str:
    if _secret_key is None:
        raise RuntimeError("crm.api_keys.service.configure() was not called")
    return _secret_key


def _api_key(row: Any) -> ApiKey:
    return ApiKey(**dict(row))


def _visible(actor: Actor, permission: Permission = Permission.API_KEYS_VIEW) -> TenantSelect:
    return TenantSelect(
        actor, permission, table="api_keys", alias="k", columns=COLUMNS, owner_column="agent_id"
    )


async def list_api_keys(
    actor: Actor,
    *,
    agent_id: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ApiKeyPage:
    order = pick_sort(SORTS, sort, "-created_at")
    query = _visible(actor)
    if agent_id is not None:
        query.filter(f"k.agent_id = {query.add(parse_id(agent_id))}")
    return await query.page(
        sort=order, limit=check_limit(limit), cursor=cursor, build=_api_key, page=ApiKeyPage
    )


async def get_api_key(actor: Actor, key_id: str) -> ApiKey:
    canonical = parse_id(key_id)
    row = None
    if canonical is not None:
        query = _visible(actor)
        query.filter(f"k.id = {query.add(canonical)}")
        row = await query.fetchrow()
    if row is None:
        raise NotFound(f"No API key with id {key_id}.")
    return _api_key(row)


async def issue_key(
    company_id: str,
    agent_id: str,
    *,
    name: str,
    scopes: list[str] | None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key for an agent; return its record and the full key (shown once)."""
    new = generate_api_key()
    row = await db.connection().fetchrow(
        f"""INSERT INTO api_keys (id, company_id, agent_id, name, prefix, secret_hash, scopes,
                created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)
            RETURNING {RETURNING}""",
        new_id(),
        company_id,
        agent_id,
        name,
        new.prefix,
        hash_api_key(_secret(), new.key),
        list(scopes if scopes is not None else ALL_KEY_SCOPES),
        expires_at,
    )
    return _api_key(row), new.key


async def create_api_key(actor: Actor, data: ApiKeyCreate) -> ApiKeyCreated:
    scope = actor.scope(Permission.API_KEYS_MANAGE)
    agent_id = actor.agent_id
    if data.agent_id is not None and data.agent_id != actor.agent_id:
        # Missing or foreign: 422; an agent of the company the actor may not manage: 403.
        agent_id = await require_agent_in_scope(actor, data.agent_id, "agent_id", scope, "key")
    scopes: list[str] = (
        list(dict.fromkeys(data.scopes)) if data.scopes is not None else list(ALL_KEY_SCOPES)
    )
    beyond = [s for s in scopes if s not in actor.key_scopes]
    if beyond:
        # A key may only pass on what it has, or a narrow key could mint a wide one.
        raise InsufficientScope(
            "A key cannot grant scopes its creator lacks: " + ", ".join(sorted(beyond))
        )
    if data.expires_at is not None:
        if data.expires_at.tzinfo is None:
            raise ValidationFailed.one("expires_at", "must carry a time zone, e.g. Z")
        if data.expires_at <= datetime.now(UTC):
            raise ValidationFailed.one("expires_at", "must be in the future")
    record, key = await issue_key(
        actor.company_id, agent_id, name=data.name, scopes=scopes, expires_at=data.expires_at
    )
    return ApiKeyCreated(key=key, **msgspec.structs.asdict(record))


async def revoke_api_key(actor: Actor, key_id: str) -> None:
    """Revoke a key: from now on, every process answers 401 to it."""
    canonical = parse_id(key_id)
    row = None
    if canonical is not None:
        query = _visible(actor).can("can_manage", actor, actor.scope(Permission.API_KEYS_MANAGE))
        query.filter(f"k.id = {query.add(canonical)}")
        row = await query.fetchrow()
    if row is None:
        raise NotFound(f"No API key with id {key_id}.")
    if not row["can_manage"]:
        raise Forbidden("This API key may not be revoked by you.")
    prefix = await db.connection().fetchval(
        """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
           WHERE company_id = $1 AND id = $2 RETURNING prefix""",
        actor.company_id,
        canonical,
    )
    await auth_changed("key", prefix)


@dataclass(frozen=True, slots=True)
class Credential:
    """A key as stored: who it acts as, its state, and the company's plan for rate limits."""

    actor: Actor
    prefix: str
    secret_hash: bytes = field(repr=False)
    expires_at: datetime | None
    plan: str
    subscription_status: str
    revoked: bool = False
    agent_active: bool = True

    def check(self, key: str, now: datetime) -> Actor:
        """The actor, if `key` is this credential's and the key may act; else 401.

        The secret is verified first: until it is, every refusal reads the same,
        so a key's public prefix tells nothing of its state. Only the holder of
        the secret learns that it was revoked, deactivated or has expired.
        """
        if not api_key_matches(_secret(), key, self.secret_hash):
            raise Unauthenticated(INVALID_KEY)
        if self.revoked:
            raise Unauthenticated("The API key has been revoked.")
        if not self.agent_active:
            raise Unauthenticated("The agent of this API key is deactivated.")
        if self.expires_at is not None and self.expires_at <= now:
            raise Unauthenticated("The API key has expired.")
        return self.actor


INVALID_KEY = "The API key is not valid."
# Stands in for a prefix no key has: its check costs the same HMAC and fails.
_NO_KEY = Credential(
    actor=Actor(agent_id="", company_id="", role=Role.AGENT, team_id=None),
    prefix="",
    secret_hash=b"\x00" * 32,
    expires_at=None,
    plan="free",
    subscription_status="active",
    revoked=True,
    agent_active=False,
)


async def load_credential(prefix: str) -> Credential:
    """Read a key's credential by its prefix, with its agent's current role and team.

    Nothing is refused here: an unknown prefix gives a credential no secret
    matches, and `Credential.check` verifies the secret before anything else.
    """
    row = await db.connection().fetchrow(
        """SELECT k.id, k.company_id, k.agent_id, k.secret_hash, k.scopes, k.expires_at,
                  k.revoked_at, a.role, a.team_id, a.is_active, c.plan, c.subscription_status
           FROM api_keys k
           JOIN agents a ON a.company_id = k.company_id AND a.id = k.agent_id
           JOIN companies c ON c.id = k.company_id
           WHERE k.prefix = $1""",
        prefix,
    )
    if row is None:
        return _NO_KEY
    actor = Actor(
        agent_id=row["agent_id"],
        company_id=row["company_id"],
        role=Role(row["role"]),
        team_id=row["team_id"],
        key_scopes=frozenset(row["scopes"]),
        api_key_id=row["id"],
    )
    return Credential(
        actor=actor,
        prefix=prefix,
        secret_hash=row["secret_hash"],
        expires_at=row["expires_at"],
        plan=row["plan"],
        subscription_status=row["subscription_status"],
        revoked=row["revoked_at"] is not None,
        agent_active=row["is_active"],
    )


async def authenticate(key: str) -> Actor:
    """The actor a presented key acts as. A malformed key is refused before any database work."""
    prefix = parse_api_key(key)
    if prefix is None:
        raise Unauthenticated("The API key is malformed.")
    credential = await load_credential(prefix)
    return credential.check(key, datetime.now(UTC))


async def record_use(uses: dict[str, tuple[str, datetime]]) -> None:
    """Set `last_used_at` of many keys at once: {key id: (company id, when)}."""
    if not uses:
        return
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
