"""What the gateway costs: `GET /v1/contacts?limit=50` through the whole front door
(key, rate limit, policy, per-request connection) against a bare Litestar route on
raw asyncpg serving the same SQL and JSON. Target: ratio of throughputs >= 0.90.

    ./dev bench gateway_overhead [--contacts 2000] [--rounds 5] [--seconds 5] [--concurrency 8]

The two servers run side by side (one process each, uvicorn with uvloop and
httptools) and are driven in alternating rounds, so both see the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys

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
from crm import db
from crm.api_keys import service as api_keys
from crm.bootstrap import bootstrap_company
from crm.companies.schemas import CompanyBootstrap, Plan
from crm.contacts.schemas import ContactCreate, PhoneInput
from crm.contacts.service import create_contact
from crm.policy import Actor, Role


async def seed(url: str, contacts: int) -> tuple[str, str]:
    """One enterprise company with `contacts` contacts; returns (company id, owner key)."""
    api_keys.configure(SECRET_KEY)
    pool = await db.open_pool(url, size=2)
    try:
        async with db.transaction(pool):
            made = await bootstrap_company(
                CompanyBootstrap(
                    name="Bench",
                    owner_email="owner@bench.example",
                    owner_name="Owner",
                    plan=Plan.ENTERPRISE,
                    default_region="US",
                )
            )
        owner = Actor(
            agent_id=made.owner.id, company_id=made.company.id, role=Role.OWNER, team_id=None
        )
        for start in range(0, contacts, 500):
            async with db.transaction(pool):
                for i in range(start, min(start + 500, contacts)):
                    await create_contact(
                        owner,
                        ContactCreate(
                            first_name=f"First{i}",
                            last_name=f"Last{i}",
                            email=f"person{i}@example.com",
                            company_name=f"Company {i % 97}",
                            phones=[PhoneInput(number=f"+1202555{i % 10000:04d}", label="work")],
                            tags=["bench"],
                        ),
                    )
        return made.company.id, made.api_key
    finally:
        await db.close_pool(pool)


async def main(args: argparse.Namespace) -> None:
    with postgres_server() as server_url:
        async with fresh_database(server_url) as url:
            company_id, key = await seed(url, args.contacts)
            gw_port, bare_port = free_port(), free_port()
            env = {
                "CRM_DATABASE_URL": url,
                "CRM_SECRET_KEY": SECRET_KEY,
                # The limit is counted on every request; a one-second window keeps
                # the counter as small as a real enterprise tenant's.
                "CRM_RATE_LIMIT_ENTERPRISE": "1000000/second",
            }
            gateway_cmd = [sys.executable, "-m", "cli.main", "serve", "--port", str(gw_port)]
            bare_cmd = uvicorn_command("bench.bare_app:app_from_env", bare_port)
            with server(gateway_cmd, env, gw_port) as gw, server(bare_cmd, env, bare_port):
                gw_request = loadgen.request_bytes(
                    "GET", "/v1/contacts?limit=50", {"Authorization": f"Bearer {key}"}
                )
                bare_request = loadgen.request_bytes("GET", f"/bare/contacts/{company_id}", {})
                targets = {
                    "gateway": (gw_port, lambda i: gw_request),
                    "bare": (bare_port, lambda i: bare_request),
                }
                for port, make in targets.values():  # warm up both
                    await loadgen.run(
                        "127.0.0.1", port, make, seconds=2, concurrency=args.concurrency
                    )
                rates: dict[str, list[float]] = {name: [] for name in targets}
                p50: dict[str, list[float]] = {name: [] for name in targets}
                for round_no in range(args.rounds):
                    for name, (port, make) in targets.items():
                        result = await loadgen.run(
                            "127.0.0.1",
                            port,
                            make,
                            seconds=args.seconds,
                            concurrency=args.concurrency,
                        )
                        assert set(result.statuses) == {200}, (name, result.statuses)
                        rates[name].append(result.rate)
                        p50[name].append(result.median * 1000)
                        print(
                            f"round {round_no + 1} {name:8} {result.rate:8.0f} req/s  "
                            f"p50 {result.median * 1000:6.2f} ms  p99 {result.percentile(99) * 1000:6.2f} ms",
                            flush=True,
                        )
                gateway_rss = rss_mb(gw.pid)
    gw_rate, bare_rate = statistics.median(rates["gateway"]), statistics.median(rates["bare"])
    ratios = [g / b for g, b in zip(rates["gateway"], rates["bare"], strict=True)]
    print()
    print(
        f"contacts in the company: {args.contacts}; concurrency {args.concurrency}; "
        f"{args.rounds} rounds of {args.seconds} s"
    )
    print(
        f"gateway GET /v1/contacts?limit=50  median {gw_rate:8.0f} req/s  p50 {statistics.median(p50['gateway']):.2f} ms"
    )
    print(
        f"bare Litestar + asyncpg            median {bare_rate:8.0f} req/s  p50 {statistics.median(p50['bare']):.2f} ms"
    )
    print(
        f"ratio gateway/bare: median of rounds {statistics.median(ratios):.3f} "
        f"(ratio of medians {gw_rate / bare_rate:.3f}); target >= 0.90"
    )
    print(f"gateway server RSS after the run: {gateway_rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
