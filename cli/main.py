"""The `crm` command: serve, worker, jobs, migrate, check, bootstrap, billing-events, openapi."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from cli.common import database, fail, migrate, settings_from_env
from cli.jobs import add_arguments as add_jobs_arguments
from cli.jobs import cmd_jobs
from cli.serve import add_arguments as add_serve_arguments
from cli.serve import cmd_serve
from cli.worker import add_arguments as add_worker_arguments
from cli.worker import cmd_worker
from crm.companies.schemas import CompanyBootstrap, Plan
from crm.errors import ConfigError, CRMError, ValidationFailed
from crm.pagination import MAX_LIMIT, check_limit
from crm.settings import Settings

if TYPE_CHECKING:
    from crm.billing.schemas import BillingEventPage
    from crm.bootstrap import Bootstrapped

OPENAPI_PATH = Path("openapi/openapi.json")


def cmd_migrate(args: argparse.Namespace) -> None:
    with database(settings_from_env()) as ready:
        assert ready.database_url is not None
        applied = migrate(ready.database_url)
        print(f"Applied {len(applied)} migration(s)." if applied else "No migrations pending.")


async def _check_database(url: str) -> list[tuple[bool, str]]:
    from crm.migrations import pending_ids

    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return [(False, f"database: unreachable ({exc.__class__.__name__}: {exc})")]
    try:
        version = await conn.fetchval("SHOW server_version_num")
        findings = [(True, "database: reachable")]
        if int(version) < 150000:
            findings.append((False, "database: PostgreSQL 15 or newer is required"))
        pending = await pending_ids(conn)
        if pending:
            findings.append(
                (
                    False,
                    f"migrations: {len(pending)} pending ({', '.join(pending)}); run `crm migrate`",
                )
            )
        else:
            findings.append((True, "migrations: all applied"))
        return findings
    finally:
        await conn.close()


def cmd_check(args: argparse.Namespace) -> None:
    findings: list[tuple[bool, str]] = []
    try:
        settings = Settings.from_env()
        findings.append((True, "settings: valid"))
    except ConfigError as exc:
        findings.append((False, f"settings: {exc}"))
        settings = None
    if settings is not None:
        try:
            settings.with_secret_key()
            findings.append((True, "CRM_SECRET_KEY: present"))
        except ConfigError as exc:
            findings.append((False, f"CRM_SECRET_KEY: {exc}"))
        if settings.embedded:
            with database(settings) as ready:
                assert ready.database_url is not None
                findings += asyncio.run(_check_database(ready.database_url))
        else:
            assert settings.database_url is not None
            findings += asyncio.run(_check_database(settings.database_url))
        if settings.admin_token is None:
            findings.append((True, "CRM_ADMIN_TOKEN: unset, the operator API is off"))
        if not settings.payment_webhook_secrets:
            findings.append((True, "CRM_PAYMENT_WEBHOOK_SECRETS: unset, payment webhooks are off"))
    for ok, text in findings:
        print(f"{'ok   ' if ok else 'ERROR'} {text}")
    if not all(ok for ok, _ in findings):
        sys.exit(1)


# What each bootstrap field must be, said as the option that sets it.
BOOTSTRAP_FIELDS = {
    "name": "--company must be a name of 1 to 200 characters, not only spaces",
    "owner_email": "--owner-email must be an email address such as you@example.com",
    "owner_name": "--owner-name must be a name of 1 to 200 characters, not only spaces",
    "default_region": "--default-region must be a two-letter country code in capitals, such as US",
}


def cmd_bootstrap(args: argparse.Namespace) -> None:
    owner_name = args.owner_name or args.owner_email.split("@", 1)[0]
    fields: dict[str, Any] = {
        "name": args.company,
        "owner_email": args.owner_email,
        "owner_name": owner_name,
        "plan": args.plan,
        "default_region": args.default_region,
    }
    try:
        data = msgspec.convert(fields, CompanyBootstrap)
    except msgspec.ValidationError as exc:
        field = re.search(r"`\$\.(\w+)`", str(exc))
        name = field.group(1) if field else ""
        sentence = BOOTSTRAP_FIELDS.get(name, f"invalid {name or 'input'}: {exc}")
        fail(f"{sentence}, got {fields.get(name)!r}" if name in fields else sentence, 2)
    with database(settings_from_env()) as ready:
        assert ready.database_url is not None
        assert ready.secret_key is not None
        migrate(ready.database_url)
        result = asyncio.run(_bootstrap(ready.database_url, ready.secret_key, data, args.force))
    if args.json:
        print(msgspec.json.encode(result).decode())
        return
    company, owner = result.company, result.owner
    print(
        f"Company:  {company.name} (id {company.id}, plan {company.plan}, "
        f"default region {company.default_region or 'none'})\n"
        f"Owner:    {owner.name} <{owner.email}> (id {owner.id})\n"
        f"API key:  {result.api_key}\n"
        "Keep the key safe: it is shown this once and cannot be recovered.\n"
        f"Try it:   curl -H 'Authorization: Bearer {result.api_key}' "
        f"http://127.0.0.1:{ready.port}/v1/me"
    )


async def _bootstrap(
    url: str, secret_key: str, data: CompanyBootstrap, force: bool
) -> Bootstrapped:
    from crm import db
    from crm.api_keys import service as api_keys
    from crm.bootstrap import bootstrap_company

    api_keys.configure(secret_key)
    pool = await db.open_pool(url, size=1)
    try:
        async with db.transaction(pool):
            if not force:
                await _refuse_a_second_company(data.owner_email)
            return await bootstrap_company(data)
    except CRMError as exc:
        fail(exc.detail)
    finally:
        await db.close_pool(pool)


async def _refuse_a_second_company(email: str) -> None:
    """Bootstrap run twice would make a second company: say what exists instead."""
    from crm import db

    rows = await db.connection().fetch(
        """SELECT c.name, c.id, a.role FROM agents a JOIN companies c ON c.id = a.company_id
           WHERE lower(a.email) = lower($1) ORDER BY c.created_at LIMIT 3""",
        email,
    )
    if rows:
        held = ", ".join(f"{r['role']} of {r['name']!r} (id {r['id']})" for r in rows)
        fail(
            f"{email} is already {held}; "
            "run again with --force to create another company for the same email"
        )


def cmd_billing_events(args: argparse.Namespace) -> None:
    try:
        check_limit(args.limit)
    except ValidationFailed as exc:
        fail(f"--limit {exc.errors[0].message}, got {args.limit}", 2)
    with database(settings_from_env()) as ready:
        assert ready.database_url is not None
        page = asyncio.run(_billing_events(ready.database_url, args.company, args.limit))
    if args.json:
        print(msgspec.json.encode(page.data).decode())
        return
    if not page.data:
        print("No payment events.")
    for e in page.data:
        print(
            f"{e.received_at:%Y-%m-%d %H:%M:%S}  {e.id}  {e.type}  {e.outcome}"
            f"  x{e.deliveries}  company={e.company_id or '-'}"
            + (f"  ({e.reason})" if e.reason else "")
        )


async def _billing_events(url: str, company_id: str | None, limit: int) -> BillingEventPage:
    from crm import db
    from crm.billing.service import list_events

    pool = await db.open_pool(url, size=1)
    try:
        async with db.transaction(pool):
            return await list_events(company_id=company_id, limit=limit)
    except CRMError as exc:
        fail(exc.detail)
    finally:
        await db.close_pool(pool)


def openapi_document() -> bytes:
    """The OpenAPI document the app serves, as committed in `openapi/openapi.json`."""
    from gateway.app import create_app

    app = create_app(
        Settings(
            database_url="postgresql:///unused",
            secret_key="x" * 32,
            admin_token="unused",
            payment_webhook_secrets=("unused",),
        )
    )
    schema = app.openapi_schema.to_schema()
    return (json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def cmd_openapi(args: argparse.Namespace) -> None:
    document = openapi_document()
    path = Path(args.output)
    if args.check:
        if not path.exists() or path.read_bytes() != document:
            fail(f"{path} differs from what the app serves; run `crm openapi` and commit it")
        print(f"{path} matches the app.")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document)
    print(f"Wrote {path}.")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="crm",
        description="The CRM backend. Settings come from CRM_* environment variables "
        "(see the README); without CRM_DATABASE_URL an embedded PostgreSQL is kept in .crm/.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="apply migrations, then serve the API",
        description="Apply pending migrations, then serve the API until Ctrl-C or SIGTERM. "
        "Each option overrides its CRM_* setting and is checked the same way.",
    )
    add_serve_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="run background work (email, webhooks, sequence steps, purges)",
        description="Run background work until Ctrl-C or SIGTERM. Any number of workers, "
        "on any hosts, share the work through the database; `crm serve` runs one in its "
        "own process unless --no-worker.",
    )
    add_worker_arguments(worker)
    worker.set_defaults(func=cmd_worker)

    jobs = sub.add_parser(
        "jobs",
        help="show background jobs by kind and state, the failed ones; retry or cancel one",
        description="Without an action: how many jobs of each kind are in each state, and "
        "the failed ones with their errors. `crm jobs retry ID`, `crm jobs cancel ID`, "
        "`crm jobs show ID` act on one job.",
    )
    add_jobs_arguments(jobs)
    jobs.set_defaults(func=cmd_jobs)

    sub.add_parser(
        "migrate",
        help="apply pending migrations and exit",
        description="Apply pending migrations to the configured (or embedded) database.",
    ).set_defaults(func=cmd_migrate)
    sub.add_parser(
        "check",
        help="verify settings, secrets, database and migrations",
        description="Check the settings, the secret key, the database and its migrations; "
        "exit 1 if anything is wrong.",
    ).set_defaults(func=cmd_check)

    boot = sub.add_parser(
        "bootstrap",
        help="create a company, its owner and the owner's API key",
        description="Create a company, its first owner and the owner's first API key "
        "(shown once). Refuses an owner email that an agent already has, unless --force.",
    )
    boot.add_argument("--company", required=True, metavar="NAME", help="the company's name")
    boot.add_argument(
        "--owner-email", required=True, metavar="EMAIL", help="the owner's email address"
    )
    boot.add_argument(
        "--owner-name", metavar="NAME", help="the owner's name (default: the email's local part)"
    )
    boot.add_argument(
        "--plan", default=Plan.FREE.value, choices=[p.value for p in Plan], help="default: free"
    )
    boot.add_argument(
        "--default-region",
        metavar="CC",
        help="country of phone numbers written without +country code, e.g. US or GB "
        "(default: none, so every number needs its +country code)",
    )
    boot.add_argument(
        "--force",
        action="store_true",
        help="create the company even if an agent already has this email",
    )
    boot.add_argument("--json", action="store_true", help="print JSON, for scripts")
    boot.set_defaults(func=cmd_bootstrap)

    events = sub.add_parser(
        "billing-events",
        help="list received payment events and what was done about each",
        description="List the payment provider's events as received, newest first, "
        "with the outcome of each (applied, ignored and why).",
    )
    events.add_argument("--company", metavar="ID", help="only this company's events")
    events.add_argument(
        "--limit", type=int, default=50, help=f"how many, newest first (1-{MAX_LIMIT}, default 50)"
    )
    events.add_argument("--json", action="store_true", help="print JSON, for scripts")
    events.set_defaults(func=cmd_billing_events)

    openapi = sub.add_parser(
        "openapi",
        help="write the OpenAPI document the app serves",
        description="Write the OpenAPI document the app serves, or check the committed one.",
    )
    openapi.add_argument(
        "--output", default=str(OPENAPI_PATH), metavar="PATH", help=f"default: {OPENAPI_PATH}"
    )
    openapi.add_argument(
        "--check", action="store_true", help="write nothing; fail if the file differs"
    )
    openapi.set_defaults(func=cmd_openapi)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
