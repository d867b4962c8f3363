"""What contacts, deals and tasks share: they are owned records under one policy.

Each owned record names its owner in one column (`owner_id`, or `assignee_id`
for tasks). The functions here apply the policy to that column, so the three
domains check views, changes, deletes, reassignments and references the same
way:

- fetch inside the tenant and the view scope first: missing or invisible is 404;
- then the action's scope on the same row: visible but not allowed is 403;
- an owner named in a body must be an active agent of the company (else 422),
  inside the actor's scope for the action (else 403);
- a record named in a body (`contact_id`, `deal_id`) must be visible (else 422,
  the same answer whether it is missing, foreign or hidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from crm.agents.assignment import require_agent_in_scope
from crm.errors import Forbidden, ValidationFailed
from crm.ids import parse_id
from crm.policy import Actor, Permission
from crm.query import TenantSelect
from crm.sql import Columns

R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Locked(Generic[R]):
    """A record locked for a change the actor may make; `may_reassign`: also its owner."""

    record: R
    may_reassign: bool


@dataclass(frozen=True, slots=True)
class Owned:
    """How one kind of owned record is stored and governed."""

    table: str
    alias: str
    owner_column: str
    noun: str  # "contact": for messages
    view: Permission
    create: Permission
    update: Permission
    delete: Permission
    reassign: Permission

    def select(
        self, actor: Actor, columns: str, permission: Permission | None = None
    ) -> TenantSelect:
        """The scoped SELECT every query of this record starts from."""
        return TenantSelect(
            actor,
            permission or self.view,
            table=self.table,
            alias=self.alias,
            columns=columns,
            owner_column=self.owner_column,
        )

    async def fetch_visible(self, actor: Actor, record_id: str, columns: Columns[R]) -> R:
        """The record if the actor may view it; 404 when it is missing or hidden alike."""
        row = await self.select(actor, columns.sql).get(record_id, noun=self.noun)
        return columns.build(row)

    async def fetch_for_change(
        self, actor: Actor, record_id: str, columns: Columns[R], action: Permission
    ) -> Locked[R]:
        """The visible record, locked, if `action` is allowed on it: else 404 or 403."""
        query = self.select(actor, columns.sql).can("can_act", actor, actor.scope_for(action))
        query.can("can_reassign", actor, actor.scope_for(self.reassign))
        row = await query.get(record_id, noun=self.noun, lock=True)
        if not row["can_act"]:
            verb = "delete" if action is self.delete else "change"
            raise Forbidden(f"You may view this {self.noun} but not {verb} it.")
        return Locked(columns.build(row), may_reassign=row["can_reassign"])

    async def visible_ids(self, actor: Actor, ids: set[str]) -> set[str]:
        """Which of `ids` the actor may view: one query, however many ids."""
        canonical = [i for i in (parse_id(x) for x in ids) if i is not None]
        if not canonical:
            return set()
        query = self.select(actor, f"{self.alias}.id")
        query.filter(f"{self.alias}.id = ANY({query.placeholder(canonical)}::uuid[])")
        return {row["id"] for row in await query.fetch()}

    async def check_reassignment(
        self, actor: Actor, locked: Locked[R], values: dict[str, Any]
    ) -> None:
        """Check a change of owner in `values` against a record from `fetch_for_change`.

        Needs the old owner in the actor's reassign scope (else 403) and the new
        one an active agent in it (else 422 or 403); on success `values` holds the
        new owner's canonical id.
        """
        column = self.owner_column
        if column not in values or values[column] == getattr(locked.record, column):
            return
        if not locked.may_reassign:
            raise Forbidden(f"You may not reassign this {self.noun}.")
        values[column] = await self.require_owner(actor, values[column], column, self.reassign)

    async def require_owner(
        self, actor: Actor, agent_id: str, field: str, action: Permission
    ) -> str:
        """`agent_id` as the owner of a record the actor creates or reassigns."""
        return await require_agent_in_scope(
            actor, agent_id, field, actor.scope_for(action), self.noun
        )


async def require_visible(
    actor: Actor, kind: Owned, record_id: str, field: str, *, lock: bool = False
) -> str:
    """A record named in a body: visible to the actor, else 422 naming `field`."""
    row = await kind.select(actor, f"{kind.alias}.id").find(record_id, lock=lock)
    if row is None:
        raise ValidationFailed.one(field, f"No such {kind.noun}.")
    return str(row["id"])


def filter_id(query: TenantSelect, column: str, value: str | None) -> None:
    """Filter on an id column; an id that cannot exist simply matches nothing."""
    if value is None:
        return
    canonical = parse_id(value)
    query.filter("FALSE" if canonical is None else f"{column} = {query.placeholder(canonical)}")
