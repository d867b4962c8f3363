"""Who may do what: the one permission table, and the actor it is applied to.

The policy is data. `POLICY` maps each permission to the visibility scope each
role has for it; `crm.sql.scope_predicate` turns a scope into the SQL condition
that every list, get, update, delete and reassign query is built with. Adding a
role is a change to this table, not to queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from crm.errors import InsufficientScope


class Role(StrEnum):
    """An agent's role: what the policy table lets it see and do."""

    OWNER = "owner"
    TEAM_LEADER = "team_leader"
    AGENT = "agent"


class Scope(StrEnum):
    ALL = "all"  # the whole company
    TEAM = "team"  # records owned by any agent of the actor's team, the actor included
    OWN = "own"  # the actor's own records
    NONE = "none"


class KeyScope(StrEnum):
    """What an API key may be used for; a key carries one or more of these."""

    CONTACTS_READ = "contacts:read"
    CONTACTS_WRITE = "contacts:write"
    DEALS_READ = "deals:read"
    DEALS_WRITE = "deals:write"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    COMPANY_READ = "company:read"
    COMPANY_WRITE = "company:write"
    AGENTS_READ = "agents:read"
    AGENTS_WRITE = "agents:write"
    EMAILS_READ = "emails:read"
    EMAILS_WRITE = "emails:write"


class Permission(StrEnum):
    CONTACTS_VIEW = "contacts.view"
    CONTACTS_CREATE = "contacts.create"
    CONTACTS_UPDATE = "contacts.update"
    CONTACTS_DELETE = "contacts.delete"
    CONTACTS_REASSIGN = "contacts.reassign"
    DEALS_VIEW = "deals.view"
    DEALS_CREATE = "deals.create"
    DEALS_UPDATE = "deals.update"
    DEALS_DELETE = "deals.delete"
    DEALS_REASSIGN = "deals.reassign"
    TASKS_VIEW = "tasks.view"
    TASKS_CREATE = "tasks.create"
    TASKS_UPDATE = "tasks.update"
    TASKS_DELETE = "tasks.delete"
    TASKS_REASSIGN = "tasks.reassign"
    COMPANY_VIEW = "company.view"
    COMPANY_UPDATE = "company.update"
    AGENTS_VIEW = "agents.view"
    AGENTS_MANAGE = "agents.manage"
    TEAMS_VIEW = "teams.view"
    TEAMS_MANAGE = "teams.manage"
    API_KEYS_VIEW = "api_keys.view"
    API_KEYS_MANAGE = "api_keys.manage"
    EMAILS_VIEW = "emails.view"
    EMAILS_SEND = "emails.send"
    EMAIL_TEMPLATES_VIEW = "email_templates.view"
    EMAIL_TEMPLATES_MANAGE = "email_templates.manage"
    EMAIL_SUPPRESSIONS_VIEW = "email_suppressions.view"
    EMAIL_SUPPRESSIONS_MANAGE = "email_suppressions.manage"


ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE

# (permission) -> (owner, team_leader, agent), as in the API contract's table.
_TABLE: Final[dict[Permission, tuple[Scope, Scope, Scope]]] = {
    Permission.CONTACTS_VIEW: (ALL, TEAM, OWN),
    Permission.CONTACTS_CREATE: (ALL, TEAM, OWN),
    Permission.CONTACTS_UPDATE: (ALL, TEAM, OWN),
    Permission.CONTACTS_DELETE: (ALL, TEAM, NONE),
    Permission.CONTACTS_REASSIGN: (ALL, TEAM, NONE),
    Permission.DEALS_VIEW: (ALL, TEAM, OWN),
    Permission.DEALS_CREATE: (ALL, TEAM, OWN),
    Permission.DEALS_UPDATE: (ALL, TEAM, OWN),
    Permission.DEALS_DELETE: (ALL, TEAM, NONE),
    Permission.DEALS_REASSIGN: (ALL, TEAM, NONE),
    Permission.TASKS_VIEW: (ALL, TEAM, OWN),
    Permission.TASKS_CREATE: (ALL, TEAM, OWN),
    Permission.TASKS_UPDATE: (ALL, TEAM, OWN),
    Permission.TASKS_DELETE: (ALL, TEAM, NONE),
    Permission.TASKS_REASSIGN: (ALL, TEAM, NONE),
    Permission.COMPANY_VIEW: (ALL, ALL, ALL),
    Permission.COMPANY_UPDATE: (ALL, NONE, NONE),
    Permission.AGENTS_VIEW: (ALL, TEAM, OWN),
    Permission.AGENTS_MANAGE: (ALL, NONE, NONE),
    Permission.TEAMS_VIEW: (ALL, ALL, ALL),
    Permission.TEAMS_MANAGE: (ALL, NONE, NONE),
    Permission.API_KEYS_VIEW: (ALL, OWN, OWN),
    Permission.API_KEYS_MANAGE: (ALL, OWN, OWN),
    # An email's scope is judged on its contact's owner, or on its sender for a bare address.
    Permission.EMAILS_VIEW: (ALL, TEAM, OWN),
    Permission.EMAILS_SEND: (ALL, TEAM, OWN),
    Permission.EMAIL_TEMPLATES_VIEW: (ALL, ALL, ALL),
    Permission.EMAIL_TEMPLATES_MANAGE: (ALL, NONE, NONE),
    Permission.EMAIL_SUPPRESSIONS_VIEW: (ALL, NONE, NONE),
    Permission.EMAIL_SUPPRESSIONS_MANAGE: (ALL, NONE, NONE),
}

_ROLE_COLUMN: Final = {Role.OWNER: 0, Role.TEAM_LEADER: 1, Role.AGENT: 2}

POLICY: Final[dict[Role, dict[Permission, Scope]]] = {
    role: {permission: scopes[column] for permission, scopes in _TABLE.items()}
    for role, column in _ROLE_COLUMN.items()
}

# The API-key scope each permission needs. API keys are agents' credentials:
# reading them needs `agents:read`, issuing or revoking them `agents:write`.
KEY_SCOPE: Final[dict[Permission, KeyScope]] = {
    Permission.CONTACTS_VIEW: KeyScope.CONTACTS_READ,
    Permission.CONTACTS_CREATE: KeyScope.CONTACTS_WRITE,
    Permission.CONTACTS_UPDATE: KeyScope.CONTACTS_WRITE,
    Permission.CONTACTS_DELETE: KeyScope.CONTACTS_WRITE,
    Permission.CONTACTS_REASSIGN: KeyScope.CONTACTS_WRITE,
    Permission.DEALS_VIEW: KeyScope.DEALS_READ,
    Permission.DEALS_CREATE: KeyScope.DEALS_WRITE,
    Permission.DEALS_UPDATE: KeyScope.DEALS_WRITE,
    Permission.DEALS_DELETE: KeyScope.DEALS_WRITE,
    Permission.DEALS_REASSIGN: KeyScope.DEALS_WRITE,
    Permission.TASKS_VIEW: KeyScope.TASKS_READ,
    Permission.TASKS_CREATE: KeyScope.TASKS_WRITE,
    Permission.TASKS_UPDATE: KeyScope.TASKS_WRITE,
    Permission.TASKS_DELETE: KeyScope.TASKS_WRITE,
    Permission.TASKS_REASSIGN: KeyScope.TASKS_WRITE,
    Permission.COMPANY_VIEW: KeyScope.COMPANY_READ,
    Permission.COMPANY_UPDATE: KeyScope.COMPANY_WRITE,
    Permission.AGENTS_VIEW: KeyScope.AGENTS_READ,
    Permission.AGENTS_MANAGE: KeyScope.AGENTS_WRITE,
    Permission.TEAMS_VIEW: KeyScope.AGENTS_READ,
    Permission.TEAMS_MANAGE: KeyScope.AGENTS_WRITE,
    Permission.API_KEYS_VIEW: KeyScope.AGENTS_READ,
    Permission.API_KEYS_MANAGE: KeyScope.AGENTS_WRITE,
    Permission.EMAILS_VIEW: KeyScope.EMAILS_READ,
    Permission.EMAILS_SEND: KeyScope.EMAILS_WRITE,
    Permission.EMAIL_TEMPLATES_VIEW: KeyScope.EMAILS_READ,
    Permission.EMAIL_TEMPLATES_MANAGE: KeyScope.EMAILS_WRITE,
    Permission.EMAIL_SUPPRESSIONS_VIEW: KeyScope.EMAILS_READ,
    Permission.EMAIL_SUPPRESSIONS_MANAGE: KeyScope.EMAILS_WRITE,
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The agent a request acts as: read fresh from the database on every request."""

    agent_id: str
    company_id: str
    role: Role
    team_id: str | None
    # The API key's scopes; the first-party app's sessions carry all of them.
    key_scopes: frozenset[str] = frozenset(KeyScope)
    api_key_id: str | None = None

    def require_key_scope(self, permission: Permission) -> None:
        """Refuse (403 `insufficient_scope`) when the key lacks the scope `permission` needs."""
        needed = KEY_SCOPE[permission]
        if needed not in self.key_scopes:
            raise InsufficientScope(f"This API key lacks the '{needed}' scope.")

    def scope_for(self, permission: Permission) -> Scope:
        """The actor's scope for `permission`: its role's, once its key allows it at all."""
        self.require_key_scope(permission)
        return POLICY[self.role][permission]

    def allows(self, permission: Permission) -> bool:
        """Whether the role has any scope for `permission`, ignoring the key."""
        return POLICY[self.role][permission] is not Scope.NONE
