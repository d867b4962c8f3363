"""Visibility under random histories: every list, search and get shows exactly the scope.

Hypothesis plays random sequences of operations on a fresh company: records
created for random owners, reassigned, agents promoted and demoted, moved
between teams, deactivated and reactivated. After the history (and at random
points inside it) every active agent's lists, searches and gets must return
exactly the records a small model of the API contract says it may view: an
owner sees the whole company, a team leader the records of its team's agents
(itself included; only its own when it has no team), an agent its own. The
model is written here from the contract, not taken from `crm.policy`, so a slip
in the policy table or in the SQL built from it shows up as a difference. A
second company with records of its own runs alongside: none of them may ever
cross over, in either direction.

Each operation is also checked against the model's expected outcome (success,
403, 404, 409 or 422), so the model never drifts from the database; the actors
are read back from the database before every call, as a request would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from crm import db
from crm.agents.schemas import AgentCreate, AgentUpdate
from crm.agents.service import create_agent, list_agents, update_agent
from crm.contacts.schemas import ContactCreate, ContactUpdate
from crm.contacts.service import create_contact, get_contact, list_contacts, update_contact
from crm.deals.schemas import DealCreate, DealUpdate
from crm.deals.service import create_deal, get_deal, list_deals, update_deal
from crm.errors import Conflict, CRMError, Forbidden, NotFound, ValidationFailed
from crm.policy import Actor, Role
from crm.tasks.schemas import TaskCreate, TaskUpdate
from crm.tasks.service import create_task, get_task, list_tasks, update_task
from crm.teams.schemas import TeamCreate
from crm.teams.service import create_team
from tests.factories import make_company, unique

KINDS = ("contact", "deal", "task")
ROLES = ("owner", "team_leader", "agent")
TEAMS = ("red", "blue")
FOREIGN_TEAM = "other company's"
# Contacts are named "<word> Quokka": no word is a prefix of another, so a
# search for one word finds exactly the contacts carrying it, and "quokka" all.
WORDS = ("amber", "birch", "cedar", "dune")
SHARED = "quokka"

Outcome = type[CRMError] | None


# The model ------------------------------------------------------------------


@dataclass
class Agent:
    id: str
    role: str
    team: str | None  # the team's id
    active: bool = True


@dataclass
class Record:
    kind: str
    id: str
    owner: str
    word: str


@dataclass
class World:
    """One company as the contract describes it: agents, teams and owned records."""

    company_id: str
    teams: dict[str, str] = field(default_factory=dict)  # name -> id
    agents: dict[str, Agent] = field(default_factory=dict)  # in order of creation
    records: dict[str, Record] = field(default_factory=dict)  # in order of creation

    def sees(self, viewer: Agent, owner_id: str) -> bool:
        """Whether `viewer` may view what `owner_id` owns (or the agent `owner_id`)."""
        owner = self.agents.get(owner_id)
        if owner is None:  # not an agent of this company at all
            return False
        if viewer.role == "owner":
            return True
        if viewer.role == "team_leader" and viewer.team is not None:
            return owner.team == viewer.team
        return owner.id == viewer.id

    def visible(self, viewer: Agent, kind: str) -> set[str]:
        return {
            r.id for r in self.records.values() if r.kind == kind and self.sees(viewer, r.owner)
        }

    def active(self) -> list[Agent]:
        return [a for a in self.agents.values() if a.active]

    def of_kind(self, kind: str) -> list[Record]:
        return [r for r in self.records.values() if r.kind == kind]

    def team_name(self, team_id: str | None) -> str | None:
        return next((name for name, tid in self.teams.items() if tid == team_id), None)

    def describe(self, agent: Agent) -> str:
        position = list(self.agents).index(agent.id)
        state = "" if agent.active else ", inactive"
        return f"agent #{position} ({agent.role}, team {self.team_name(agent.team)}{state})"

    def explain(self, ids: set[str], others: World) -> list[str]:
        lines = []
        for record_id in sorted(ids):
            world = self if record_id in self.records else others
            if record_id not in world.records:
                lines.append(f"{record_id}, a record of neither company")
                continue
            record = world.records[record_id]
            where = "" if world is self else "the OTHER company's "
            owner = world.describe(world.agents[record.owner])
            lines.append(f"{where}{record.kind} owned by {owner}")
        return lines


# Operations ------------------------------------------------------------------
# Indices are resolved when the operation runs, modulo the length of the list
# they index: `actor` and `by` among the active agents of the company (only
# they can authenticate), `agent` and `owner` among all of its agents, `record`
# among the kind's records. `actor=None` and `by=None` name the first active
# owner; `owner=None` an agent of the other company; `record=None` a record of
# the other company.


@dataclass(frozen=True)
class Hire:
    role: str
    team: str | None


@dataclass(frozen=True)
class Create:
    kind: str
    actor: int | None
    owner: int | None
    word: int


@dataclass(frozen=True)
class Reassign:
    kind: str
    actor: int | None
    record: int | None
    owner: int | None


@dataclass(frozen=True)
class SetRole:
    by: int | None
    agent: int
    role: str


@dataclass(frozen=True)
class MoveTeam:
    by: int | None
    agent: int
    team: str | None


@dataclass(frozen=True)
class SetActive:
    by: int | None
    agent: int
    active: bool


@dataclass(frozen=True)
class Check:
    page: int  # page size for the lists, to walk their cursors too
    filter_agent: int


Operation = Hire | Create | Reassign | SetRole | MoveTeam | SetActive | Check

index = st.integers(min_value=0, max_value=7)
someone = st.one_of(st.none(), index)  # half the time the first active owner
rarely_foreign = st.one_of(index, index, index, st.none())
kinds = st.sampled_from(KINDS)
hires = st.builds(Hire, role=st.sampled_from(ROLES), team=st.sampled_from((None, *TEAMS)))
creates = st.builds(Create, kind=kinds, actor=someone, owner=rarely_foreign, word=index)
checks = st.builds(Check, page=st.sampled_from((1, 2, 3, 200)), filter_agent=index)
operations = st.one_of(
    hires,
    creates,
    creates,
    st.builds(Reassign, kind=kinds, actor=someone, record=rarely_foreign, owner=rarely_foreign),
    st.builds(Reassign, kind=kinds, actor=someone, record=rarely_foreign, owner=rarely_foreign),
    st.builds(SetRole, by=someone, agent=index, role=st.sampled_from(ROLES)),
    st.builds(
        MoveTeam, by=someone, agent=index, team=st.sampled_from((None, *TEAMS, FOREIGN_TEAM))
    ),
    st.builds(SetActive, by=someone, agent=index, active=st.booleans()),
    checks,
)


# The services, per kind --------------------------------------------------------


async def create_record(kind: str, actor: Actor, owner_id: str, word: str) -> Any:
    if kind == "contact":
        data = ContactCreate(first_name=word.title(), last_name=SHARED.title(), owner_id=owner_id)
        return await create_contact(actor, data)
    if kind == "deal":
        return await create_deal(actor, DealCreate(title=f"{word} deal", owner_id=owner_id))
    return await create_task(actor, TaskCreate(title=f"{word} task", assignee_id=owner_id))


async def reassign_record(kind: str, actor: Actor, record_id: str, owner_id: str) -> Any:
    if kind == "contact":
        return await update_contact(actor, record_id, ContactUpdate(owner_id=owner_id))
    if kind == "deal":
        return await update_deal(actor, record_id, DealUpdate(owner_id=owner_id))
    return await update_task(actor, record_id, TaskUpdate(assignee_id=owner_id))


GETS: dict[str, Callable[[Actor, str], Awaitable[Any]]] = {
    "contact": get_contact,
    "deal": get_deal,
    "task": get_task,
}
LISTS: dict[str, Callable[..., Awaitable[Any]]] = {
    "contact": list_contacts,
    "deal": list_deals,
    "task": list_tasks,
}
OWNER_FILTER = {"contact": "owner_id", "deal": "owner_id", "task": "assignee_id"}


def owner_of(item: Any) -> str:
    return str(getattr(item, "assignee_id", None) or item.owner_id)


async def collect(fetch: Callable[..., Awaitable[Any]], actor: Actor, **options: Any) -> Any:
    """Every item of a list, page after page."""
    items: list[Any] = []
    cursor = None
    for _ in range(1000):
        page = await fetch(actor, cursor=cursor, **options)
        items.extend(page.data)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("the list never reached its last page")


# Running a history -------------------------------------------------------------


async def attempt(call: Callable[[], Awaitable[Any]]) -> tuple[Outcome, Any]:
    """Run `call` in its own transaction, as one request: (error class or None, result)."""
    try:
        async with db.transaction():
            return None, await call()
    except CRMError as exc:
        return type(exc), exc


def record_outcome(operation: Operation, outcome: Outcome) -> None:
    """Shown by --hypothesis-show-statistics: how often each answer was exercised."""
    event(f"{type(operation).__name__}: {'ok' if outcome is None else outcome.__name__}")


async def actors(world: World) -> dict[str, Actor]:
    """Every agent of the company as an actor, read fresh from the database.

    The rows must agree with the model: a difference means the model went wrong
    (or an operation changed more than it answered), and the comparison below
    would be meaningless.
    """
    async with db.transaction():
        rows = await db.connection().fetch(
            "SELECT id, role, team_id, is_active FROM agents WHERE company_id = $1",
            world.company_id,
        )
    stored = {row["id"]: (row["role"], row["team_id"], row["is_active"]) for row in rows}
    modelled = {a.id: (a.role, a.team, a.active) for a in world.agents.values()}
    assert stored == modelled
    return {
        row["id"]: Actor(
            agent_id=row["id"],
            company_id=world.company_id,
            role=Role(row["role"]),
            team_id=row["team_id"],
        )
        for row in rows
    }


async def hire(world: World, owner: Actor, role: str, team: str | None) -> Agent:
    team_id = world.teams[team] if team else None
    async with db.transaction():
        created = await create_agent(
            owner,
            AgentCreate(
                email=f"{unique('agent')}@example.com",
                name="Avery Agent",
                role=role,  # type: ignore[arg-type]
                team_id=team_id,
            ),
        )
    agent = Agent(id=created.id, role=role, team=team_id)
    world.agents[agent.id] = agent
    return agent


async def found_company(client: httpx.AsyncClient) -> tuple[World, Actor]:
    tenant = await make_company(client)
    world = World(company_id=tenant.id)
    world.agents[tenant.owner.id] = Agent(id=tenant.owner.id, role="owner", team=None)
    async with db.transaction():
        for name in TEAMS:
            team = await create_team(tenant.owner.actor, TeamCreate(name=unique(name)))
            world.teams[name] = team.id
    return world, tenant.owner.actor


async def give_each_a_record(world: World) -> None:
    """One record of each kind for every agent, made by the agent itself."""
    fresh = await actors(world)
    for position, agent in enumerate(world.agents.values()):
        for kind in KINDS:
            word = WORDS[position % len(WORDS)]
            async with db.transaction():
                made = await create_record(kind, fresh[agent.id], agent.id, word)
            world.records[made.id] = Record(kind=kind, id=made.id, owner=agent.id, word=word)


async def other_company(client: httpx.AsyncClient) -> World:
    """A company with a leader, a team member and a loner, and records for each of them."""
    world, owner = await found_company(client)
    await hire(world, owner, "team_leader", "red")
    await hire(world, owner, "agent", "red")
    await hire(world, owner, "agent", None)
    await give_each_a_record(world)
    return world


T = TypeVar("T")


def pick(items: list[T], position: int) -> T:
    return items[position % len(items)]


def acting(world: World, position: int | None) -> Agent:
    if position is None:
        return next(a for a in world.active() if a.role == "owner")
    return pick(world.active(), position)


def expected_create(world: World, actor: Agent, owner: Agent | None) -> Outcome:
    if owner is None:  # another company's agent is no agent at all here
        return ValidationFailed
    if not world.sees(actor, owner.id):
        return Forbidden
    if not owner.active:
        return ValidationFailed
    return None


def expected_reassign(world: World, actor: Agent, record: Record, owner: Agent | None) -> Outcome:
    if not world.sees(actor, record.owner):
        return NotFound
    if owner is not None and owner.id == record.owner:
        return None  # nothing changes
    if actor.role == "agent":  # agents may not reassign at all
        return Forbidden
    return expected_create(world, actor, owner)


def expected_agent_change(
    world: World, by: Agent, target: Agent, *, role: str | None = None, active: bool = True
) -> Outcome:
    if by.role != "owner":
        return Forbidden if world.sees(by, target.id) else NotFound
    leaves = (
        target.role == "owner" and target.active and (role not in (None, "owner") or not active)
    )
    others = [a for a in world.active() if a.role == "owner" and a.id != target.id]
    return Conflict if leaves and not others else None


async def apply(world: World, other: World, operation: Operation) -> None:
    """Run one operation, check its outcome against the model, and update the model."""
    if isinstance(operation, Check):
        await check_visibility(world, other, operation)
        await check_visibility(other, world, operation)
        return
    fresh = await actors(world)
    agents = list(world.agents.values())

    if isinstance(operation, Hire):
        hirer = acting(world, None)
        await hire(world, fresh[hirer.id], operation.role, operation.team)
        return

    if isinstance(operation, Create):
        actor = acting(world, operation.actor)
        owner = None if operation.owner is None else pick(agents, operation.owner)
        owner_id = pick(list(other.agents), 0) if owner is None else owner.id
        word = pick(list(WORDS), operation.word)
        outcome, made = await attempt(
            lambda: create_record(operation.kind, fresh[actor.id], owner_id, word)
        )
        assert outcome is expected_create(world, actor, owner), (operation, made)
        record_outcome(operation, outcome)
        if outcome is None:
            assert owner_of(made) == owner_id
            world.records[made.id] = Record(
                kind=operation.kind, id=made.id, owner=owner_id, word=word
            )
        return

    if isinstance(operation, Reassign):
        candidates = world.of_kind(operation.kind)
        if operation.record is None:
            record = pick(other.of_kind(operation.kind), len(world.records))
        elif candidates:
            record = pick(candidates, operation.record)
        else:
            event("Reassign: nothing to reassign yet")
            return
        actor = acting(world, operation.actor)
        owner = None if operation.owner is None else pick(agents, operation.owner)
        owner_id = pick(list(other.agents), 1) if owner is None else owner.id
        outcome, changed = await attempt(
            lambda: reassign_record(operation.kind, fresh[actor.id], record.id, owner_id)
        )
        assert outcome is expected_reassign(world, actor, record, owner), (operation, changed)
        record_outcome(operation, outcome)
        if outcome is None:
            assert owner_of(changed) == owner_id
            record.owner = owner_id
        return

    by = acting(world, operation.by)
    target = pick(agents, operation.agent)
    if isinstance(operation, SetRole):
        expected = expected_agent_change(world, by, target, role=operation.role)
        changes = AgentUpdate(role=operation.role)  # type: ignore[arg-type]
    elif isinstance(operation, MoveTeam):
        expected = expected_agent_change(world, by, target)
        if expected is None and operation.team == FOREIGN_TEAM:
            expected = ValidationFailed
        team_id = {**world.teams, FOREIGN_TEAM: other.teams["red"]}.get(operation.team or "")
        changes = AgentUpdate(team_id=team_id)
    else:
        expected = expected_agent_change(world, by, target, active=operation.active)
        changes = AgentUpdate(is_active=operation.active)
    outcome, result = await attempt(lambda: update_agent(fresh[by.id], target.id, changes))
    assert outcome is expected, (operation, result)
    record_outcome(operation, outcome)
    if outcome is None:
        if isinstance(operation, SetRole):
            target.role = operation.role
        elif isinstance(operation, MoveTeam):
            target.team = team_id
        else:
            target.active = operation.active


async def check_visibility(world: World, other: World, check: Check) -> None:
    """Every active agent's lists, searches and gets show exactly its scope.

    Deactivated agents are left out: they cannot authenticate, so no request
    ever acts as them.
    """
    fresh = await actors(world)
    every_agent = list(world.agents)
    everything = [*world.records.values(), *other.records.values()]
    async with db.transaction():
        for viewer in world.active():
            actor = fresh[viewer.id]
            who = world.describe(viewer)

            def same(got: list[Any], expected: set[str], what: str, who: str = who) -> None:
                ids = [item.id for item in got]
                assert len(ids) == len(set(ids)), f"{what} for {who} repeats records"
                extra = world.explain(set(ids) - expected, other)
                missing = world.explain(expected - set(ids), other)
                assert (extra, missing) == ([], []), f"{what} for {who}: (shows, hides)"
                for item in got:
                    assert owner_of(item) == world.records[item.id].owner

            for kind in KINDS:
                visible = world.visible(viewer, kind)
                listed = await collect(LISTS[kind], actor, limit=check.page)
                same(listed, visible, f"list of {kind}s")
                chosen = pick(every_agent, check.filter_agent)
                filtered = await collect(
                    LISTS[kind], actor, limit=check.page, **{OWNER_FILTER[kind]: chosen}
                )
                mine = {i for i in visible if world.records[i].owner == chosen}
                same(filtered, mine, f"list of {kind}s of one owner")

            contacts = world.visible(viewer, "contact")
            for q in (*WORDS, SHARED):
                hits = {i for i in contacts if q in (SHARED, world.records[i].word)}
                found = await collect(list_contacts, actor, q=q, limit=check.page)
                same(found, hits, f"search for {q!r}")
            found = await collect(list_contacts, actor, q=SHARED, sort="created_at", limit=2)
            same(found, contacts, "sorted search")

            for record in everything:
                try:
                    got = await GETS[record.kind](actor, record.id)
                except NotFound:
                    got = None
                in_scope = record.id in world.records and world.sees(viewer, record.owner)
                shown = world.explain({record.id}, other)
                assert (got is not None) == in_scope, f"get for {who}: {shown} {in_scope=}"
                assert got is None or owner_of(got) == record.owner

            listed = await collect(list_agents, actor, limit=check.page)
            agents = {a for a in every_agent if world.sees(viewer, a)}
            assert {a.id for a in listed} == agents, f"list of agents for {who}"


async def play(client: httpx.AsyncClient, staff: list[Hire], plan: list[Operation]) -> None:
    world, owner = await found_company(client)
    other = await other_company(client)
    for member in staff:
        await hire(world, owner, member.role, member.team)
    await give_each_a_record(world)
    for operation in plan:
        await apply(world, other, operation)
    await apply(world, other, Check(page=2, filter_agent=len(world.agents) - 1))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    staff=st.lists(hires, min_size=2, max_size=5),
    plan=st.lists(operations, min_size=10, max_size=30),
)
async def test_lists_searches_and_gets_show_exactly_the_actors_scope(
    client: httpx.AsyncClient, staff: list[Hire], plan: list[Operation]
) -> None:
    await play(client, staff, plan)
