"""The `crm` command: serve, migrate, check, bootstrap, openapi."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from crm.companies.schemas import CompanyBootstrap
from crm.errors import ConfigError
from crm.settings import Settings

if TYPE_CHECKING:
    from crm.bootstrap import Bootstrapped

OPENAPI_PATH = Path("openapi/openapi.json")


def _fail(message: str, code: int = 1) -> None:
    print(f"crm: {message}", file=sys.stderr)
    sys.exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        _fail(str(exc), 2)
        raise  # unreachable: _fail exits


@contextmanager
def _database(settings: Settings) -> Iterator[Settings]:
    """The settings with a database URL and secret key: starts the embedded server if needed."""
    try:
        settings = settings.with_secret_key()
    except ConfigError as exc:
        _fail(str(exc), 2)
    if not settings.embedded:
        yield settings
        return
    from crm.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir)
    url = server.start()
    try:
        yield replace(settings, database_url=url)
    finally:
        server.stop()


def _migrate(url: str) -> list[str]:
    from crm.migrations import migrate

    try:
        return asyncio.run(migrate(url))
    except (OSError, asyncpg.PostgresError) as exc:
        _fail(f"cannot reach the database to migrate it: {exc.__class__.__name__}: {exc}")
        raise


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings()
    changes = {
        k: v
        for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items()
        if v is not None
    }
    settings = replace(settings, **changes)
    with _database(settings) as ready:
        assert ready.database_url is not None
        assert ready.secret_key is not None
        applied = _migrate(ready.database_url)
        if applied:
            print(f"Applied {len(applied)} migration(s).")
        # Worker processes read their settings from the environment.
        os.environ["CRM_DATABASE_URL"] = ready.database_url
        os.environ["CRM_SECRET_KEY"] = ready.secret_key
        base = f"http://{ready.host}:{ready.port}"
        where = (
            "embedded PostgreSQL in " + str(ready.data_dir) if settings.embedded else "PostgreSQL"
        )
        print(
            f"CRM API listening on {base} ({ready.workers} worker(s), {where})\n"
            f"  API reference: {base}/docs\n"
            f"  Ready check:   {base}/health/ready\n"
            "  First API key: crm bootstrap --company 'Acme' --owner-email you@example.com\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        import uvicorn

        uvicorn.run(
            "gateway.app:app_from_env",
            factory=True,
            host=ready.host,
            port=ready.port,
            workers=ready.workers,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            server_header=False,
        )
    print("Stopped.")


def cmd_migrate(args: argparse.Namespace) -> None:
    with _database(_settings()) as ready:
        assert ready.database_url is not None
        applied = _migrate(ready.database_url)
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
            with _database(settings) as ready:
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


def cmd_bootstrap(args: argparse.Namespace) -> None:
    owner_name = args.owner_name or args.owner_email.split("@", 1)[0]
    try:
        data = msgspec.convert(
            {
                "name": args.company,
                "owner_email": args.owner_email,
                "owner_name": owner_name,
                "plan": args.plan,
            },
            CompanyBootstrap,
        )
    except msgspec.ValidationError as exc:
        _fail(f"invalid input: {exc}", 2)
        raise
    with _database(_settings()) as ready:
        assert ready.database_url is not None
        assert ready.secret_key is not None
        _migrate(ready.database_url)
        result = asyncio.run(_bootstrap(ready.database_url, ready.secret_key, data))
    if args.json:
        print(msgspec.json.encode(result).decode())
        return
    company, owner = result.company, result.owner
    print(
        f"Company:  {company.name} (id {company.id}, plan {company.plan})\n"
        f"Owner:    {owner.name} <{owner.email}> (id {owner.id})\n"
        f"API key:  {result.api_key}\n"
        "Keep the key safe: it is shown this once and cannot be recovered.\n"
        f"Try it:   curl -H 'Authorization: Bearer {result.api_key}' "
        f"http://127.0.0.1:{ready.port}/v1/me"
    )


async def _bootstrap(url: str, secret_key: str, data: CompanyBootstrap) -> Bootstrapped:
    from crm import db
    from crm.api_keys import service as api_keys
    from crm.bootstrap import bootstrap_company
    from crm.errors import CRMError

    api_keys.configure(secret_key)
    pool = await db.open_pool(url, size=1)
    try:
        async with db.transaction(pool):
            return await bootstrap_company(data)
    except CRMError as exc:
        _fail(exc.detail)
        raise
    finally:
        await db.close_pool(pool)


def cmd_billing_events(args: argparse.Namespace) -> None:
    with _database(_settings()) as ready:
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


async def _billing_events(url: str, company_id: str | None, limit: int) -> Any:
    from crm import db
    from crm.billing.service import list_events

    pool = await db.open_pool(url, size=1)
    try:
        async with db.transaction(pool):
            return await list_events(company_id=company_id, limit=limit)
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
            _fail(f"{path} differs from what the app serves; run `crm openapi` and commit it")
        print(f"{path} matches the app.")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document)
    print(f"Wrote {path}.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="crm", description="The CRM backend.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", help="address to listen on (CRM_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (CRM_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (CRM_WORKERS, default 1)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply pending migrations and exit").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("check", help="verify settings, secrets, database and migrations").set_defaults(
        func=cmd_check
    )

    boot = sub.add_parser("bootstrap", help="create a company, its owner and the owner's API key")
    boot.add_argument("--company", required=True, help="the company's name")
    boot.add_argument("--owner-email", required=True)
    boot.add_argument("--owner-name", help="defaults to the email's local part")
    boot.add_argument("--plan", default="free", choices=["free", "pro", "enterprise"])
    boot.add_argument("--json", action="store_true", help="print JSON, for scripts")
    boot.set_defaults(func=cmd_bootstrap)

    events = sub.add_parser(
        "billing-events", help="list received payment events and what was done about each"
    )
    events.add_argument("--company", help="only this company's events (its id)")
    events.add_argument("--limit", type=int, default=50, help="how many, newest first (1-200)")
    events.add_argument("--json", action="store_true", help="print JSON, for scripts")
    events.set_defaults(func=cmd_billing_events)

    openapi = sub.add_parser("openapi", help="write the OpenAPI document the app serves")
    openapi.add_argument("--output", default=str(OPENAPI_PATH))
    openapi.add_argument("--check", action="store_true", help="fail if the file differs")
    openapi.set_defaults(func=cmd_openapi)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
