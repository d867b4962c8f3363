"""Composing SQL: numbered parameters, the policy's scopes as predicates, record columns.

Every domain's queries are built from these pieces, so three rules hold
everywhere: a value is always a parameter (`$n`, numbered as it is added,
never written by hand), a scope becomes SQL in one place only, and the columns
a record is read from are derived from the record's own struct, so adding or
reordering a field cannot silently shift what a row means.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Generic, TypeAlias, TypeVar, cast

import asyncpg
import msgspec

from crm.policy import Actor, Scope

R = TypeVar("R", bound=msgspec.Struct)


class Params:
    """The positional parameters of a statement, collected while its SQL is composed."""

    __slots__ = ("values",)

    def __init__(self, *initial: object) -> None:
        self.values: list[object] = list(initial)

    def placeholder(self, value: object) -> str:
        """Add `value` and return the placeholder (`$3`) that stands for it in the SQL."""
        self.values.append(value)
        return f"${len(self.values)}"


def scope_predicate(actor: Actor, scope: Scope, owner: str, params: Params) -> str:
    """SQL that is true where the agent id in expression `owner` lies in `scope`.

    `owner` is a column (`c.owner_id`) or a placeholder. The company filter is not
    part of this: `crm.query.TenantSelect` always adds it.
    """
    if scope is Scope.ALL:
        return "TRUE"
    if scope is Scope.NONE:
        return "FALSE"
    if scope is Scope.TEAM and actor.team_id is not None:
        # An array of the team's ids, not `IN (subquery)`: PostgreSQL then plans an
        # ordered page of a large company as a scan of the company's index filtered
        # by owner (a millisecond), instead of sorting every record of the team.
        return (
            f"{owner} = ANY(ARRAY(SELECT id FROM agents WHERE company_id = "
            f"{params.placeholder(actor.company_id)} AND team_id = "
            f"{params.placeholder(actor.team_id)}))"
        )
    # OWN, and TEAM for a leader who has no team: only the actor's own.
    return f"{owner} = {params.placeholder(actor.agent_id)}"


Computed = tuple[Sequence[str], Callable[..., object]]

# What `Columns.build` reads a record from: a row as asyncpg returns it (which
# the type checker does not count as a sequence), or any sequence in its order.
Row: TypeAlias = asyncpg.Record | Sequence[object]


class Columns(Generic[R]):
    """The columns a record is read from, derived from its struct, and rows made records.

    Every field of `record` is selected as `<alias>.<field>` unless `sql` gives
    another expression for it or it is `derived` (not stored: computed from other
    fields). `computed` maps a field to `(sources, function)`: its value is
    `function(*source values)`, replacing what was selected or filling a derived
    field. Rows are read by position (a page builds many records, and lookups by
    name cost more than the rest), which is safe because the positions come from
    the struct itself. Columns selected after the record's (`relevance`,
    `can_act`) are ignored by `build`.
    """

    __slots__ = ("build", "names", "record", "returning", "sql")

    def __init__(
        self,
        record: type[R],
        alias: str,
        *,
        sql: Mapping[str, str] | None = None,
        derived: Collection[str] = (),
        computed: Mapping[str, Computed] | None = None,
    ) -> None:
        sql = sql or {}
        computed = computed or {}
        fields = [f.name for f in msgspec.structs.fields(record)]
        unknown = (set(sql) | set(derived) | set(computed)) - set(fields)
        if unknown:
            raise ValueError(f"{record.__name__} has no field {sorted(unknown)}")
        self.record = record
        self.names: tuple[str, ...] = tuple(f for f in fields if f not in derived)
        self.sql = ", ".join(
            f"{sql[name]} AS {name}" if name in sql else f"{alias}.{name}" for name in self.names
        )
        # For INSERT ... RETURNING and UPDATE ... RETURNING: stored columns only.
        self.returning = ", ".join(name for name in self.names if name not in sql)
        missing = set(derived) - set(computed)
        if missing:
            raise ValueError(f"derived fields need a computation: {sorted(missing)}")
        position = {name: index for index, name in enumerate(self.names)}
        # build(row): the record of a row selected with `sql` (or `returning`).
        self.build: Callable[[Row], R] = _compile_build(record, fields, position, computed)


def _compile_build(
    record: type[R],
    fields: Sequence[str],
    position: Mapping[str, int],
    computed: Mapping[str, Computed],
) -> Callable[[Row], R]:
    """A function that makes `record` from a row: `record(row[0], f(row[1], row[2]), ...)`.

    Written once per record and compiled, so building a page's records costs
    what hand-written code would; a loop over the computations per row cost a
    contact three to four times as much. Only integer positions and names made
    here enter the source.
    """
    namespace: dict[str, object] = {"record": record}
    arguments = []
    for field in fields:
        if field in computed:
            sources, function = computed[field]
            name = f"compute_{len(namespace)}"
            namespace[name] = function
            read = ", ".join(f"row[{position[source]}]" for source in sources)
            arguments.append(f"{name}({read})")
        else:
            arguments.append(f"row[{position[field]}]")
    source = f"def build(row):\n    return record({', '.join(arguments)})\n"
    exec(source, namespace)  # noqa: S102 - the source is made above from positions only
    return cast(Callable[[Row], R], namespace["build"])
