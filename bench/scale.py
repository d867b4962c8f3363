"""Lists and search at the size of a real customer base, measured against their ceilings.

    ./dev bench scale               # 1,000,000 contacts over 200 companies
    ./dev bench scale --quick       # 20,000 contacts over 20 companies, a few minutes

Loads the data set of `bench/dataset.py` through the services, then, against one
`crm serve` process (one worker), measures side by side in one run:

- `GET /v1/contacts?limit=50` for the owner of the largest company, against the
  same SQL run by `pgbench` (the database's ceiling) and by a bare Litestar route
  on raw asyncpg (the framework's ceiling), in alternating rounds;
- `?q=` search, `?phone=` lookup and `?sort=next_task_due_at` for an agent, a
  team leader and the owner of the largest company: median and p99 end to end;
- the server's resident memory after the load;
- the plans PostgreSQL chose for each query shape (which index they use).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

from bench import loadgen
from bench.common import (
    SECRET_KEY,
    free_port,
    fresh_database,
    postgres_server,
    rss_mb,
    server,
    uvicorn_command,
)
from bench.dataset import LoadedCompany, load_company, zipf_sizes
from crm import db
from crm.api_keys import service as api_keys
from crm.contacts.phones import to_e164
from crm.contacts.queries import COLUMNS, CONTACTS, SORTS
from crm.policy import Actor, Role

TARGET_MEDIAN_MS = 15.0
TARGET_P99_MS = 50.0


def say(text: str = "") -> None:
    print(text, flush=True)


async def load(url: str, contacts: int, companies: int, seed: int) -> list[LoadedCompany]:
    """Load every company, largest first, two at a time."""
    api_keys.configure(SECRET_KEY)
    sizes = zipf_sizes(contacts, companies)
    pool = await db.open_pool(url, size=4)
    loaded: list[LoadedCompany | None] = [None] * companies
    queue = list(enumerate(sizes))
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            index, size = queue.pop(0)
            rng = random.Random(seed * 1000 + index)
            loaded[index] = await load_company(pool, rng, index, size)
            done = sum(1 for c in loaded if c is not None)
            if done % max(1, companies // 10) == 0 or index == 0:
                say(
                    f"  loaded {done}/{companies} companies ({time.perf_counter() - started:.0f} s)"
                )

    try:
        await asyncio.gather(worker(), worker())
    finally:
        await db.close_pool(pool)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return [c for c in loaded if c is not None]


async def largest_loaded(url: str) -> LoadedCompany:
    """The largest company of a database loaded earlier (`--reuse`), its people and samples."""
    conn = await asyncpg.connect(url)
    await conn.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")
    try:
        company = await conn.fetchrow(
            """SELECT co.id, co.name, co.default_region, count(*) AS size
               FROM companies co JOIN contacts c ON c.company_id = co.id
               GROUP BY co.id ORDER BY count(*) DESC LIMIT 1"""
        )
        assert company is not None, "no company has contacts: load a dataset first"
        people = await conn.fetch(
            "SELECT id, role, team_id FROM agents WHERE company_id = $1", company["id"]
        )
        samples = await conn.fetch(
            """SELECT c.first_name || ' ' || c.last_name AS name, p.number
               FROM contacts c JOIN contact_phones p
                 ON p.company_id = c.company_id AND p.contact_id = c.id AND p.position = 0
               WHERE c.company_id = $1 ORDER BY c.id LIMIT 400""",
            company["id"],
        )
    finally:
        await conn.close()
    actors = {r["id"]: Actor(r["id"], company["id"], Role(r["role"]), r["team_id"]) for r in people}
    owner = next(a for a in actors.values() if a.role is Role.OWNER)
    pool = await db.open_pool(url, size=1)
    try:
        api_keys.configure(SECRET_KEY)
        async with db.transaction(pool):
            _, key = await api_keys.issue_key(
                company["id"], owner.agent_id, name="bench", scopes=None
            )
    finally:
        await db.close_pool(pool)
    return LoadedCompany(
        id=company["id"],
        name=company["name"],
        region=company["default_region"],
        size=company["size"],
        owner=owner,
        owner_key=key,
        agents=[a for a in actors.values() if a.role is Role.AGENT],
        leaders=[a for a in actors.values() if a.role is Role.TEAM_LEADER],
        samples={
            "names": [r["name"] for r in samples],
            # Stored in E.164; half are looked up as a person would type them.
            "phones": [r["number"] for r in samples],
        },
    )


async def keys_for(url: str, company: LoadedCompany) -> dict[str, tuple[Actor, str]]:
    """An API key for the owner, a team leader and an agent of `company`."""
    pool = await db.open_pool(url, size=1)
    try:
        async with db.transaction(pool) as tx:
            # The leader and agent who own the most contacts: the hardest cases.
            busiest = await tx.connection.fetch(
                """SELECT a.id, a.role FROM agents a JOIN contacts c
                       ON c.company_id = a.company_id AND c.owner_id = a.id
                   WHERE a.company_id = $1 GROUP BY a.id, a.role ORDER BY count(*) DESC""",
                company.id,
            )
            roles: dict[str, tuple[Actor, str]] = {"owner": (company.owner, company.owner_key)}
            by_id = {a.agent_id: a for a in company.agents + company.leaders}
            for row in busiest:
                role = str(row["role"])
                if role not in roles:
                    actor = by_id[row["id"]]
                    _, key = await api_keys.issue_key(
                        company.id, actor.agent_id, name="bench", scopes=None
                    )
                    roles[role] = (actor, key)
        return roles
    finally:
        await db.close_pool(pool)


def owner_list_sql(company: LoadedCompany) -> str:
    """The SQL the service runs for the owner's `GET /v1/contacts?limit=50`."""
    query = CONTACTS.select(company.owner, COLUMNS.sql)
    sort = SORTS["-created_at"]
    return query.sql(order_by=sort.order_by("c.id"), limit=51)


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")


def run_pgbench(url: str, sql: str, company_id: str, seconds: float, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(sql.replace("$1", ":company") + ";\n")
    try:
        result = subprocess.run(
            [
                pgbench_binary(),
                "-n",
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(int(seconds)),
                "-D",
                f"company={company_id}",
                "-f",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


async def explain(
    url: str,
    company: LoadedCompany,
    roles: dict[str, tuple[Actor, str]],
    queries: dict[str, dict[str, str]],
) -> None:
    """The index each query shape's plan uses, for the owner and the agent."""
    from crm.contacts.service import list_contacts

    pool = await db.open_pool(url, size=1)
    statements: list[tuple[str, str, tuple[Any, ...]]] = []
    try:
        for role in ("owner", "team_leader", "agent"):
            actor = roles[role][0]
            for label, params in queries.items():
                captured: list[tuple[str, tuple[Any, ...]]] = []
                async with db.transaction(pool) as tx:

                    def log(
                        record: Any, sink: list[tuple[str, tuple[Any, ...]]] = captured
                    ) -> None:
                        sink.append((record.query, tuple(record.args)))

                    tx.connection.add_query_logger(log)
                    await list_contacts(actor, limit=50, **params)
                    tx.connection.remove_query_logger(log)
                query, args = [c for c in captured if "FROM contacts c" in c[0]][-1]
                statements.append((f"{role:11} {label}", query, args))
        async with pool.acquire() as conn:
            for label, query, args in statements:
                plan = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF) " + query, *args)
                lines = [r[0] for r in plan]
                indexes = sorted(
                    set(re.findall(r"(?:using|on) (\w+_idx|\w+_key)", " ".join(lines)))
                )
                total = next((ln for ln in lines if ln.startswith("Execution Time")), "")
                seq = " SEQ SCAN" if any("Seq Scan on contacts" in ln for ln in lines) else ""
                say(f"  {label:32} {total:28} {', '.join(indexes)}{seq}")
    finally:
        await db.close_pool(pool)


async def latency(port: int, key: str, paths: list[str], seconds: float) -> loadgen.Result:
    requests = [loadgen.request_bytes("GET", p, {"Authorization": f"Bearer {key}"}) for p in paths]
    return await loadgen.run(
        "127.0.0.1", port, lambda i: requests[i % len(requests)], seconds=seconds, concurrency=2
    )


def search_terms(company: LoadedCompany, rng: random.Random) -> list[str]:
    terms = []
    for name in company.samples["names"][:60]:
        first, last = name.split(" ", 1)
        terms += [name, first[:3], last, f"{first[:2]} {last[:3]}"]
    rng.shuffle(terms)
    return terms[:120]


@asynccontextmanager
async def reuse_or_fresh(server_url: str, reuse: str | None, keep: bool) -> AsyncIterator[str]:
    if reuse:
        yield reuse
        return
    async with fresh_database(server_url, keep=keep) as url:
        yield url


def phone_lookups(company: LoadedCompany) -> list[str]:
    numbers = company.samples["phones"][:120]
    # Half as written in the data, half in E.164: both must find the contact.
    return [n if i % 2 else to_e164(n, company.region) for i, n in enumerate(numbers)]


async def main(args: argparse.Namespace) -> None:
    contacts, companies = (20_000, 20) if args.quick else (args.contacts, args.companies)
    seconds = 3.0 if args.quick else args.seconds
    rounds = 3 if args.quick else args.rounds
    rng = random.Random(args.seed)
    with postgres_server() as server_url:
        async with reuse_or_fresh(server_url, args.reuse, args.keep) as url:
            if args.reuse:
                largest = await largest_loaded(url)
            else:
                say(
                    f"loading {contacts:,} contacts over {companies} companies (seed {args.seed}) ..."
                )
                started = time.perf_counter()
                loaded = await load(url, contacts, companies, args.seed)
                say(f"loaded in {time.perf_counter() - started:.0f} s")
                largest = max(loaded, key=lambda c: c.size)
            roles = await keys_for(url, largest)
            say(
                f"largest company: {largest.size:,} contacts, "
                f"{len(largest.agents) + len(largest.leaders) + 1} agents, region {largest.region}"
            )

            terms = search_terms(largest, rng)
            phones = phone_lookups(largest)
            shapes = {
                "list": {},
                "q": {"q": terms[0]},
                "phone": {"phone": phones[1]},
                "next_task": {"sort": "next_task_due_at"},
            }
            say("\nplans (EXPLAIN ANALYZE of the service's own SQL):")
            await explain(url, largest, roles, shapes)

            gw_port, bare_port = free_port(), free_port()
            env = {
                "CRM_DATABASE_URL": url,
                "CRM_SECRET_KEY": SECRET_KEY,
                "CRM_RATE_LIMIT_ENTERPRISE": "1000000/second",
            }
            gateway_cmd = [sys.executable, "-m", "cli.main", "serve", "--port", str(gw_port)]
            with (
                server(gateway_cmd, env, gw_port) as gw,
                server(uvicorn_command("bench.bare_app:app_from_env", bare_port), env, bare_port),
            ):
                owner_key = roles["owner"][1]
                gw_list = loadgen.request_bytes(
                    "GET", "/v1/contacts?limit=50", {"Authorization": f"Bearer {owner_key}"}
                )
                bare_list = loadgen.request_bytes("GET", f"/bare/contacts/{largest.id}", {})
                for port, payload in ((gw_port, gw_list), (bare_port, bare_list)):
                    await loadgen.run(
                        "127.0.0.1", port, loadgen.repeat(payload), seconds=2, concurrency=8
                    )
                sql = owner_list_sql(largest)
                rates: dict[str, list[float]] = {"gateway": [], "bare": [], "pgbench": []}
                say("\nGET /v1/contacts?limit=50 (owner of the largest company), 8 connections:")
                for round_no in range(rounds):
                    for name, port, payload in (
                        ("gateway", gw_port, gw_list),
                        ("bare", bare_port, bare_list),
                    ):
                        result = await loadgen.run(
                            "127.0.0.1",
                            port,
                            loadgen.repeat(payload),
                            seconds=seconds,
                            concurrency=8,
                        )
                        assert set(result.statuses) == {200}, (name, result.statuses)
                        rates[name].append(result.rate)
                    rates["pgbench"].append(
                        await asyncio.to_thread(run_pgbench, url, sql, largest.id, seconds, 8)
                    )
                    say(
                        f"  round {round_no + 1}: gateway {rates['gateway'][-1]:6.0f}  "
                        f"bare {rates['bare'][-1]:6.0f}  pgbench {rates['pgbench'][-1]:6.0f} req/s"
                    )

                say("\nend-to-end latency over HTTP, 2 connections (p50 / p99 ms):")
                verdicts = []
                for role in ("agent", "team_leader", "owner"):
                    key = roles[role][1]
                    cases = {
                        "q": [f"/v1/contacts?q={quote(t)}" for t in terms],
                        "phone": [f"/v1/contacts?phone={quote(p)}" for p in phones],
                        "next_task": ["/v1/contacts?sort=next_task_due_at&limit=50"],
                    }
                    for label, paths in cases.items():
                        result = await latency(gw_port, key, paths, seconds)
                        assert set(result.statuses) == {200}, (role, label, result.statuses)
                        p50, p99 = result.median * 1000, result.percentile(99) * 1000
                        ok = p50 < TARGET_MEDIAN_MS and p99 < TARGET_P99_MS
                        verdicts.append(ok)
                        say(
                            f"  {role:11} {label:9} {p50:6.2f} / {p99:6.2f}   "
                            f"({result.requests} requests) {'ok' if ok else 'OVER TARGET'}"
                        )
                memory = rss_mb(gw.pid)

    gw_rate, bare_rate, pg_rate = (
        statistics.median(rates[k]) for k in ("gateway", "bare", "pgbench")
    )
    bare_ratios = [g / b for g, b in zip(rates["gateway"], rates["bare"], strict=True)]
    pg_ratios = [g / p for g, p in zip(rates["gateway"], rates["pgbench"], strict=True)]
    say("\nsummary")
    say(f"  list: gateway {gw_rate:.0f} req/s, bare {bare_rate:.0f}, pgbench {pg_rate:.0f}")
    say(f"  gateway / bare    = {statistics.median(bare_ratios):.2f} (target >= 0.90)")
    say(f"  gateway / pgbench = {statistics.median(pg_ratios):.2f} (target >= 0.25)")
    say(
        f"  search, phone, next-task latency targets (p50 < {TARGET_MEDIAN_MS:.0f} ms, "
        f"p99 < {TARGET_P99_MS:.0f} ms): {sum(verdicts)}/{len(verdicts)} met"
    )
    say(f"  server RSS after the load: {memory:.0f} MB (target < 200 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20,000 contacts over 20 companies")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each round")
    parser.add_argument(
        "--keep", action="store_true", help="keep the loaded database (prints its URL)"
    )
    parser.add_argument(
        "--reuse", metavar="URL", help="measure a database kept earlier, without loading"
    )
    asyncio.run(main(parser.parse_args()))
