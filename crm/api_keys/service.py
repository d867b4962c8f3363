"""API keys: issuing, listing, revoking, and turning a presented key into an actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from crm import db
from crm.agents.assignment import require_agent_in_scope
from crm.api_keys import queries
from crm.api_keys.queries import SORTS
from crm.api_keys.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage, KeySummary
from crm.auth_changes import auth_changed
from crm.errors import Forbidden, InsufficientScope, Unauthenticated, ValidationFailed
from crm.pagination import pick_sort
from crm.policy import Actor, KeyScope, Permission, Role
from crm.security import api_key_matches, generate_api_key, hash_api_key, parse_api_key

_secret_key: str | None = None


def configure(secret_key: str) -> None:
    """Set the key that API-key hashes are made with (`CRM_SECRET_KEY`)."""
    global _secret_key
    _secret_key = secret_key


def _secret() -> str:
    if _secret_key is None:
        raise RuntimeError("crm.api_keys.service.configure() was not called")
    return _secret_key


async def list_api_keys(
    actor: Actor,
    *,
    agent_id: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ApiKeyPage:
    return await queries.list_visible(
        actor,
        agent_id=agent_id,
        sort=pick_sort(SORTS, sort, "-created_at"),
        limit=limit,
        cursor=cursor,
    )


async def get_api_key(actor: Actor, key_id: str) -> ApiKey:
    return await queries.get_visible(actor, key_id)


async def current_key(actor: Actor) -> KeySummary | None:
    """The key the actor's request was made with; None without one (or once it is deleted)."""
    if actor.api_key_id is None:
        return None
    return await queries.summary(actor.company_id, actor.api_key_id)


async def issue_key(
    company_id: str,
    agent_id: str,
    *,
    name: str,
    scopes: list[str] | None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key for an agent, with every scope unless `scopes` says which.

    Returns its record and the full key (shown once).
    """
    new = generate_api_key()
    record = await queries.insert(
        company_id,
        agent_id,
        name=name,
        prefix=new.prefix,
        secret_hash=hash_api_key(_secret(), new.key),
        scopes=list(KeyScope) if scopes is None else list(scopes),
        expires_at=expires_at,
    )
    return record, new.key


async def create_api_key(actor: Actor, data: ApiKeyCreate) -> ApiKeyCreated:
    scope = actor.scope_for(Permission.API_KEYS_MANAGE)
    agent_id = actor.agent_id
    if data.agent_id is not None and data.agent_id != actor.agent_id:
        # Missing or foreign: 422; an agent of the company the actor may not manage: 403.
        agent_id = await require_agent_in_scope(actor, data.agent_id, "agent_id", scope, "key")
    scopes: list[str] = (
        list(dict.fromkeys(data.scopes)) if data.scopes is not None else list(KeyScope)
    )
    beyond = [s for s in scopes if s not in actor.key_scopes]
    if beyond:
        # A key may only pass on what it has, or a narrow key could mint a wide one.
        raise InsufficientScope(
            "A key cannot grant scopes its creator lacks: " + ", ".join(sorted(beyond))
        )
    expires_at = await _expiry_of_new_key(actor, data.expires_at)
    record, key = await issue_key(
        actor.company_id, agent_id, name=data.name, scopes=scopes, expires_at=expires_at
    )
    return ApiKeyCreated(key=key, **msgspec.structs.asdict(record))


async def _expiry_of_new_key(actor: Actor, asked: datetime | None) -> datetime | None:
    """When a key the actor makes expires: `asked`, bounded by the actor's own key.

    A key never makes a key that outlives it, or a key given for a week could
    leave behind one that never expires: from a key that expires, the new key
    expires with it unless it asks for sooner, and asking for later is 422.
    """
    if asked is not None:
        if asked.tzinfo is None:
            raise ValidationFailed.one("expires_at", "must carry a time zone, e.g. Z")
        if asked <= datetime.now(UTC):
            raise ValidationFailed.one("expires_at", "must be in the future")
    own = await current_key(actor)
    limit = own.expires_at if own is not None else None
    if limit is None:
        return asked
    if asked is None:
        return limit
    if asked > limit:
        raise ValidationFailed.one(
            "expires_at",
            f"must not be later than {limit.isoformat().replace('+00:00', 'Z')}, "
            "when the key making it expires",
        )
    return asked


async def revoke_api_key(actor: Actor, key_id: str) -> None:
    """Revoke a key: from now on, every process answers 401 to it."""
    found_id, may_manage = await queries.get_visible_manageable(actor, key_id)
    if not may_manage:
        raise Forbidden("This API key may not be revoked by you.")
    prefix = await queries.revoke(actor.company_id, found_id)
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
    if uses:
        await queries.set_last_used(uses)
