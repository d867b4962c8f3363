"""Sustained ingestion of signed payment events, and a count of their effects.

    ./dev bench webhook_ingest [--companies 200] [--events 20] [--connections 8]

Every company receives a stream of subscription events (Stripe-signed) in
which a third of the deliveries repeat an earlier event (a redelivery) and a
tenth deliver an older event after a newer one (out of order). Streams of
different companies run at once on `--connections` connections; one
company's deliveries stay in order, so the expected outcome is exact: the
count of applied events, of stale ones and of duplicate deliveries, and each
company's final plan, are checked against the database afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench import loadgen
from bench.common import SECRET_KEY, free_port, fresh_database, postgres_server, server
from crm import db
from crm.api_keys import service as api_keys
from crm.bootstrap import bootstrap_company
from crm.companies.schemas import CompanyBootstrap

WEBHOOK_SECRET = "whsec_bench_0123456789abcdef"
PLANS = ["free", "pro", "enterprise"]


@dataclass
class Expected:
    applied: int = 0
    stale: int = 0
    duplicates: int = 0
    plans: dict[str, str] = field(default_factory=dict)


def signed(body: bytes) -> bytes:
    at = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256)
    return loadgen.request_bytes(
        "POST",
        "/webhooks/payments",
        {
            "Content-Type": "application/json",
            "Stripe-Signature": f"t={at},v1={signature.hexdigest()}",
        },
        body,
    )


def plan_streams(
    customers: list[str], per_company: int, rng: random.Random
) -> tuple[list[list[bytes]], Expected]:
    """Each company's deliveries, in order, and what they must add up to."""
    expected = Expected()
    streams: list[list[bytes]] = []
    base = int(time.time()) - 10_000
    for customer in customers:
        events: list[dict[str, Any]] = []
        for n in range(per_company):
            events.append(
                {
                    "id": f"evt_{customer}_{n}",
                    "type": "customer.subscription.updated",
                    "created": base + n * 10,
                    "data": {
                        "object": {
                            "customer": customer,
                            "status": "active",
                            "items": {"data": [{"price": {"lookup_key": rng.choice(PLANS)}}]},
                        }
                    },
                }
            )
        deliveries: list[dict[str, Any]] = []
        for n, event in enumerate(events):
            if n and rng.random() < 0.1:
                # Out of order: the next event first, this one after it.
                deliveries.insert(len(deliveries) - 1, event)
            else:
                deliveries.append(event)
            if rng.random() < 0.5:
                deliveries.append(rng.choice(deliveries))  # a redelivery of one sent before
        seen: set[str] = set()
        newest: int | None = None
        for event in deliveries:
            if event["id"] in seen:
                expected.duplicates += 1
                continue
            seen.add(event["id"])
            if newest is not None and event["created"] < newest:
                expected.stale += 1
            else:
                expected.applied += 1
                newest = event["created"]
                expected.plans[customer] = event["data"]["object"]["items"]["data"][0]["price"][
                    "lookup_key"
                ]
        streams.append([signed(json.dumps(e).encode()) for e in deliveries])
    return streams, expected


async def seed(url: str, companies: int) -> list[str]:
    api_keys.configure(SECRET_KEY)
    pool = await db.open_pool(url, size=1)
    customers = [f"cus_{n:05d}" for n in range(companies)]
    try:
        async with db.transaction(pool):
            for n, customer in enumerate(customers):
                await bootstrap_company(
                    CompanyBootstrap(
                        name=f"Billed {n}",
                        owner_email=f"owner{n}@billed.example",
                        owner_name="Owner",
                        billing_customer_id=customer,
                    )
                )
    finally:
        await db.close_pool(pool)
    return customers


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    with postgres_server() as server_url:
        async with fresh_database(server_url) as url:
            customers = await seed(url, args.companies)
            streams, expected = plan_streams(customers, args.events, rng)
            port = free_port()
            env = {
                "CRM_DATABASE_URL": url,
                "CRM_SECRET_KEY": SECRET_KEY,
                "CRM_PAYMENT_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            }
            command = [sys.executable, "-m", "cli.main", "serve", "--port", str(port)]
            # Companies are dealt to connections; each company's stream stays in order.
            lanes: list[list[bytes]] = [[] for _ in range(args.connections)]
            for index, stream in enumerate(streams):
                lanes[index % args.connections].extend(stream)
            with server(command, env, port):
                result = await loadgen.replay("127.0.0.1", port, lanes)
            conn = await asyncpg.connect(url)
            try:
                counts = {
                    outcome: n
                    for outcome, n in await conn.fetch(
                        "SELECT outcome, count(*) FROM billing_events GROUP BY outcome"
                    )
                }
                deliveries = await conn.fetchval("SELECT sum(deliveries) FROM billing_events")
                plans = {
                    customer: plan
                    for customer, plan in await conn.fetch(
                        "SELECT billing_customer_id, plan FROM companies "
                        "WHERE billing_customer_id IS NOT NULL"
                    )
                }
            finally:
                await conn.close()
    total = sum(len(s) for s in streams)
    print(f"{args.companies} companies, {total} deliveries on {args.connections} connections")
    print(f"  statuses: {result.statuses}")
    print(
        f"  {result.rate:.0f} deliveries/s; p50 {result.median * 1000:.2f} ms, "
        f"p99 {result.percentile(99) * 1000:.2f} ms"
    )
    checks = {
        "applied": (counts.get("applied", 0), expected.applied),
        "stale": (counts.get("stale", 0), expected.stale),
        "duplicate deliveries": (deliveries - sum(counts.values()), expected.duplicates),
        "final plans": (
            sum(plans.get(c) == p for c, p in expected.plans.items()),
            len(expected.plans),
        ),
    }
    for name, (got, want) in checks.items():
        print(f"  {name}: {got} (expected {want}) {'ok' if got == want else 'MISMATCH'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--companies", type=int, default=200)
    parser.add_argument("--events", type=int, default=20, help="distinct events per company")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
