"""The scoped query every domain starts from: tenant filter first, policy second.

`TenantSelect` produces a SELECT that is already limited to the actor's
company and, for owned records, to the actor's scope for the permission. There
is no other way for a domain to start a query of a tenant table, so neither
filter can be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from asyncpg import Record

from crm import db
from crm.errors import NotFound, PreconditionFailed
from crm.ids import parse_id
from crm.pagination import Sort, decode_cursor, encode_cursor
from crm.policy import Actor, Permission, Scope
from crm.sql import Params, scope_predicate

P = TypeVar("P")
T = TypeVar("T")


class TenantSelect:
    def __init__(
        self,
        actor: Actor,
        permission: Permission,
        *,
        table: str,
        alias: str,
        columns: str,
        owner_column: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        """A SELECT of `columns` from `table`, scoped to the actor's company and policy.

        `owner_column` names the column holding the record's owner (an agent id)
        that the actor's scope for `permission` applies to; with None, the scope
        must be ALL or NONE (records with no owner, such as teams).
        """
        self.alias = alias
        self.columns = columns
        self.params = Params()
        # The company's placeholder, for subqueries that need the tenant filter too.
        self.company = self.params.placeholder(actor.company_id)
        self.where: list[str] = [f"{alias}.company_id = {self.company}"]
        self.owner_column = owner_column
        # Where the rows come from: the table, or a narrower source (see `from_source`).
        self.source = table
        # A team's records may be paged owner by owner (see `page`), so the team's
        # predicate is added when the query is written, in the shape it needs.
        self.actor = actor
        self.team: str | None = None
        self.narrowed = False
        scope = actor.scope_for(permission) if scope is None else scope
        if owner_column is None:
            if scope is Scope.NONE:
                self.where.append("FALSE")
        elif scope is Scope.TEAM and actor.team_id is not None:
            self.team = actor.team_id
        else:
            predicate = scope_predicate(actor, scope, f"{alias}.{owner_column}", self.params)
            if predicate != "TRUE":
                self.where.append(predicate)
        self.scope = scope

    def can(self, name: str, actor: Actor, scope: Scope) -> TenantSelect:
        """Also select `name`: whether the row's owner lies in `scope` (an action's scope).

        A record is fetched with its view scope; what the actor may do with it is
        answered by the same query, through the same predicate.
        """
        assert self.owner_column is not None
        predicate = scope_predicate(actor, scope, f"{self.alias}.{self.owner_column}", self.params)
        self.columns += f", ({predicate}) AS {name}"
        return self

    def placeholder(self, value: object) -> str:
        """Add a parameter; returns its placeholder (`$4`) for the SQL being composed."""
        return self.params.placeholder(value)

    def filter(self, condition: str) -> TenantSelect:
        self.where.append(condition)
        self.narrowed = True
        return self

    def from_source(self, source: str) -> TenantSelect:
        """Read rows from `source` (a subquery of the same table) instead of the table.

        Every filter of this query, the company's and the policy's included, still
        applies to what `source` gives.
        """
        self.source = f"({source})"
        return self

    def _team_predicate(self) -> list[str]:
        if self.team is None:
            return []
        assert self.owner_column is not None
        owner = f"{self.alias}.{self.owner_column}"
        return [scope_predicate(self.actor, Scope.TEAM, owner, self.params)]

    def sql(self, *, order_by: str | None = None, limit: int | None = None) -> str:
        where = [*self.where, *self._team_predicate()]
        parts = [f"SELECT {self.columns} FROM {self.source} {self.alias}"]
        parts.append("WHERE " + " AND ".join(where))
        if order_by:
            parts.append(f"ORDER BY {order_by}")
        if limit is not None:
            parts.append(f"LIMIT {int(limit)}")
        return " ".join(parts)

    async def fetch(self, *, order_by: str | None = None, limit: int | None = None) -> list[Record]:
        return await db.connection().fetch(
            self.sql(order_by=order_by, limit=limit), *self.params.values
        )

    async def fetchrow(self) -> Record | None:
        return await db.connection().fetchrow(self.sql(limit=1), *self.params.values)

    async def find(self, record_id: str, *, lock: bool = False) -> Record | None:
        """The row with id `record_id` inside this query's scope, or None.

        An id that cannot exist (not one of ours) is simply not found; `lock`
        takes the row's lock for the rest of the transaction.
        """
        canonical = parse_id(record_id)
        if canonical is None:
            return None
        self.filter(f"{self.alias}.id = {self.placeholder(canonical)}")
        sql = self.sql() + (f" FOR UPDATE OF {self.alias}" if lock else "")
        return await db.connection().fetchrow(sql, *self.params.values)

    async def get(self, record_id: str, *, noun: str, lock: bool = False) -> Record:
        """The row with id `record_id` if the actor may see it: 404 when missing or hidden alike."""
        row = await self.find(record_id, lock=lock)
        if row is None:
            raise NotFound(f"No {noun} with id {record_id}.")
        return row

    async def page(
        self,
        *,
        sort: Sort,
        limit: int,
        cursor: str | None,
        build: Callable[[Record], T],
        page: Callable[..., P],
        sort_key: str | None = None,
    ) -> P:
        """One page in `sort` order, resuming after `cursor`.

        Fetches one row more than asked to know whether another page follows.
        """
        id_column = f"{self.alias}.id"
        merge_team = self.team is not None and sort_key is None and not self.narrowed
        if cursor:
            self.where.append(sort.after(decode_cursor(cursor, sort), id_column, self.params))
        if merge_team:
            sql = self._team_page_sql(sort, limit + 1)
            rows = await db.connection().fetch(sql, *self.params.values)
        else:
            rows = await self.fetch(order_by=sort.order_by(id_column), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more and rows:
            last = rows[-1]
            key = sort_key or sort.column.rsplit(".", 1)[-1]
            next_cursor = encode_cursor(sort, last[key], last["id"])
        return page(data=[build(row) for row in rows], next_cursor=next_cursor)

    def _team_page_sql(self, sort: Sort, limit: int) -> str:
        """An unfiltered page of a team's records: each member's first `limit`, merged.

        Each member's part is an ordered scan of the `(company_id, owner, sort)`
        index, so the cost is members x limit rows whatever the size of the team's
        share of the company; one `owner = ANY(team)` query lets the planner sort
        every record of the team when it misjudges that share. The members are
        exactly those of the policy's team predicate. With a filter (a phone, a
        tag, ...) the single query is better: the filter's own index comes first.
        """
        assert self.owner_column is not None
        members = (
            f"SELECT id FROM agents WHERE company_id = {self.company} "
            f"AND team_id = {self.placeholder(self.team)}"
        )
        own = f"{self.alias}.{self.owner_column} = member.id"
        inner = (
            f"SELECT {self.columns} FROM {self.source} {self.alias} "
            f"WHERE {' AND '.join([*self.where, own])} "
            f"ORDER BY {sort.order_by(f'{self.alias}.id')} LIMIT {int(limit)}"
        )
        merged = replace(sort, column="x." + sort.column.rsplit(".", 1)[-1])
        return (
            f"SELECT x.* FROM ({members}) member CROSS JOIN LATERAL ({inner}) x "
            f"ORDER BY {merged.order_by('x.id')} LIMIT {int(limit)}"
        )


def check_version(current: int, expected: int | None) -> None:
    """`If-Match`: the change applies only to the version the client last saw."""
    if expected is not None and current != expected:
        raise PreconditionFailed(
            f"The record is at version {current}, not {expected}: fetch it again and retry."
        )


async def update_row(
    table: str, company_id: str, record_id: str, changes: dict[str, object], *, returning: str
) -> Record:
    """UPDATE one tenant row with `changes`, bumping `version` and `updated_at`."""
    params = Params()
    where = (
        f"company_id = {params.placeholder(company_id)} AND id = {params.placeholder(record_id)}"
    )
    sets = [f"{column} = {params.placeholder(value)}" for column, value in changes.items()]
    sets += ["version = version + 1", "updated_at = now()"]
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {where} RETURNING {returning}"
    row = await db.connection().fetchrow(sql, *params.values)
    assert row is not None  # the caller read the row with its lock: it is still there
    return row


async def transaction_time() -> datetime:
    """The current transaction's `now()`: the time its rows are stamped with."""
    now: datetime = await db.connection().fetchval("SELECT now()")
    return now
