"""A realistic CRM data set, the same for every run (fixed seed), loaded through the services.

Company sizes follow a Zipf curve (the largest company holds about a sixth of
all contacts); each company has teams, team leaders and agents; contacts have
two to four phone numbers in their company's country, written in national or
international form; a third of the contacts have a task, a fifth a deal.
Everything goes through `crm` service functions (`bootstrap_company`,
`create_team`, `create_agent`, `import_contacts`, `import_tasks`,
`import_deals`): the same checks, normalisation and search documents as the API.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crm import db
from crm.agents.schemas import AgentCreate
from crm.agents.service import create_agent
from crm.bootstrap import bootstrap_company
from crm.companies.schemas import CompanyBootstrap, Plan
from crm.contacts.schemas import ContactCreate, PhoneInput
from crm.contacts.search import fold
from crm.contacts.service import import_contacts
from crm.deals.schemas import DealCreate
from crm.deals.service import import_deals
from crm.policy import Actor, Role
from crm.tasks.schemas import TaskCreate
from crm.tasks.service import import_tasks
from crm.teams.schemas import TeamCreate
from crm.teams.service import create_team

FIRST_NAMES = """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David
Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa
Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna
Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald
Rebecca Edward Sharon Jason Laura Jeffrey Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas
Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon
Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Frank Carolyn Patrick
Janet Raymond Catherine Jack Maria Dennis Heather Jerry Diane Tyler Ruth Aaron Julie José Zoë
François Łukasz Søren Björn Chloé Renée André Noémie Jürgen Ángel Inés Sebastián Müge Çağla
Ólafur Ana Lucía Hélène Dominik Zuzana Wojciech Agnieszka Mateo Valentina Luca Giulia Hiroshi
Yuki Wei Mei Arjun Priya Mohammed Fatima Omar Layla Kwame Ama Thabo Nia Santiago Camila Diego
Isabella""".split()
LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gómez
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Dubois Lefèvre Moreau
Laurent Girard Rossi Russo Ferrari Esposito Bianchi Kowalski Wiśniewski Dąbrowski Nowak Novák
Svoboda Dvořák Hansen Johansen Andersson Nilsson Eriksson Søndergaard Ødegaard Yamamoto Tanaka
Suzuki Wang Li Zhang Chen Patel Sharma Singh Khan Ali Hassan Okafor Mensah Dlamini Silva Santos
Oliveira Pereira Costa Fernández Jiménez Ruiz Álvarez Castillo""".split()
WORDS = """Acme Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent Hooli Vandelay
Northwind Contoso Fabrikam Tailspin Litware Proseware Adatum Woodgrove Fourth Coffee Alpine Ski
Blue Yonder Lucerne Margie Trey Wingtip Wide World Importers Humongous Insurance Relecloud Datum
Bellows Sterling Cooper Dunder Mifflin Gringotts Ollivanders Prestige Worldwide Bluth Pied Piper
Aperture Black Mesa Massive Dynamic Oscorp Nakatomi Weyland Yutani Rekall Omni Consumer""".split()
TAGS = ["vip", "lead", "customer", "partner", "churn-risk", "newsletter", "event-2026", "referral"]
REGIONS = ["US", "US", "US", "GB", "GB", "DE", "FR", "ES", "IT", "NL"]


def zipf_sizes(total: int, companies: int) -> list[int]:
    weights = [1 / (rank + 1) for rank in range(companies)]
    scale = total / sum(weights)
    sizes = [max(1, round(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def phone(rng: random.Random, region: str) -> str:
    """A possible number of `region`, written the way people write them."""
    national = rng.random() < 0.5
    if region == "US":
        area, line = rng.randint(201, 989), rng.randint(0, 9999)
        exchange = rng.randint(200, 999)
        return f"({area}) {exchange}-{line:04d}" if national else f"+1 {area} {exchange} {line:04d}"
    if region == "GB":
        rest = rng.randint(0, 99_999_999)
        return f"020 {rest:08d}" if national else f"+44 20 {rest:08d}"
    if region == "DE":
        rest = rng.randint(10_000_000, 99_999_999)
        return f"030 {rest}" if national else f"+49 30 {rest}"
    if region == "FR":
        rest = rng.randint(10_000_000, 99_999_999)
        return f"01 {rest}" if national else f"+33 1 {rest}"
    if region == "ES":
        rest = rng.randint(10_000_000, 99_999_999)
        return f"9{rest}" if national else f"+34 9{rest}"
    if region == "IT":
        rest = rng.randint(1_000_000, 9_999_999)
        return f"06 {rest}" if national else f"+39 06 {rest}"
    rest = rng.randint(1_000_000, 9_999_999)
    return f"020 {rest}" if national else f"+31 20 {rest}"


@dataclass
class LoadedCompany:
    id: str
    name: str
    region: str
    size: int
    owner: Actor
    owner_key: str
    agents: list[Actor] = field(default_factory=list)
    leaders: list[Actor] = field(default_factory=list)
    samples: dict[str, list[str]] = field(default_factory=dict)


async def load_company(
    pool: Any, rng: random.Random, index: int, size: int, batch: int = 2000
) -> LoadedCompany:
    """Create one company of `size` contacts, with its people, tasks and deals."""
    region = rng.choice(REGIONS)
    name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {index}"
    async with db.transaction(pool):
        made = await bootstrap_company(
            CompanyBootstrap(
                name=name,
                owner_email=f"owner{index}@company{index}.example",
                owner_name="Owner",
                plan=Plan.ENTERPRISE,
                default_region=region,
            )
        )
    owner = Actor(agent_id=made.owner.id, company_id=made.company.id, role=Role.OWNER, team_id=None)
    company = LoadedCompany(
        id=made.company.id, name=name, region=region, size=size, owner=owner, owner_key=made.api_key
    )
    agents_count = min(120, max(3, size // 1500))
    teams_count = min(15, max(1, agents_count // 8))
    async with db.transaction(pool):
        teams = [
            (await create_team(owner, TeamCreate(name=f"Team {t}"))).id for t in range(teams_count)
        ]
        for a in range(agents_count):
            team = teams[a % teams_count]
            role = "team_leader" if a < teams_count else "agent"
            agent = await create_agent(
                owner,
                AgentCreate(
                    email=f"agent{a}@company{index}.example",
                    name=f"Agent {a}",
                    role=Role(role),
                    team_id=team,
                ),
            )
            actor = Actor(agent_id=agent.id, company_id=company.id, role=Role(role), team_id=team)
            (company.leaders if role == "team_leader" else company.agents).append(actor)
    people = company.agents + company.leaders
    names: list[str] = []
    numbers: list[str] = []
    for start in range(0, size, batch):
        count = min(batch, size - start)
        items = []
        for _ in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            local = f"{fold(first)}.{fold(last)}{rng.randint(1, 999)}".replace(" ", "")
            phones = [phone(rng, region) for _ in range(rng.randint(2, 4))]
            items.append(
                ContactCreate(
                    first_name=first,
                    last_name=last,
                    email=f"{local}@{fold(rng.choice(WORDS)).lower()}.example",
                    company_name=f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                    phones=[
                        PhoneInput(number=p, label=rng.choice(["work", "mobile", None]))
                        for p in phones
                    ],
                    owner_id=rng.choice(people).agent_id,
                    tags=rng.sample(TAGS, rng.randint(0, 2)),
                )
            )
            if len(names) < 400:
                names.append(f"{first} {last}")
                numbers.append(phones[0])
        async with db.transaction(pool):
            ids = await import_contacts(owner, items)
        await _tasks_and_deals(pool, rng, owner, ids, items)
    company.samples = {"names": names, "phones": numbers}
    return company


async def _tasks_and_deals(
    pool: Any, rng: random.Random, owner: Actor, ids: list[str], items: list[ContactCreate]
) -> None:
    today = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    tasks, deals = [], []
    for contact_id, item in zip(ids, items, strict=True):
        if rng.random() < 1 / 3:
            tasks.append(
                TaskCreate(
                    title=f"Call {item.first_name}",
                    contact_id=contact_id,
                    assignee_id=item.owner_id,
                    due_at=today + timedelta(hours=rng.randint(-24 * 60, 24 * 90)),
                    done=rng.random() < 0.2,
                )
            )
        if rng.random() < 1 / 5:
            stage = rng.choice(["lead", "qualified", "proposal", "negotiation", "won", "lost"])
            deals.append(
                DealCreate(
                    title=f"{item.company_name} deal",
                    contact_id=contact_id,
                    owner_id=item.owner_id,
                    stage=stage,  # type: ignore[arg-type]
                    amount=f"{rng.randint(100, 250_000)}.00",
                    currency="EUR",
                    expected_close_date=date(2026, 12, 1) + timedelta(days=rng.randint(0, 180)),
                )
            )
    async with db.transaction(pool):
        if tasks:
            await import_tasks(owner, tasks)
        if deals:
            await import_deals(owner, deals)
