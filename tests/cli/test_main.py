"""The `crm` command, run as a user would run it."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from crm.migrations import migration_ids
from tests.conftest import SECRET_KEY
from tests.database import create_database, drop_database, new_database_name
from tests.servers import clean_env, free_port


def crm(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
async def empty_database(postgres_server: str):
    name = new_database_name("cli.main")
    url = await create_database(postgres_server, name)
    yield url
    await drop_database(postgres_server, name)


async def test_migrate_applies_then_reports_nothing_pending(empty_database: str) -> None:
    env = clean_env(CRM_DATABASE_URL=empty_database, CRM_SECRET_KEY=SECRET_KEY)
    first = crm("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert f"Applied {len(migration_ids())} migration(s)." in first.stdout
    second = crm("migrate", env=env)
    assert second.stdout.strip() == "No migrations pending."


async def test_check_passes_on_a_migrated_database(database_url: str) -> None:
    result = crm("check", env=clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY))
    assert result.returncode == 0, result.stdout
    assert "ok    migrations: all applied" in result.stdout


async def test_check_reports_a_missing_secret(database_url: str) -> None:
    result = crm("check", env=clean_env(CRM_DATABASE_URL=database_url))
    assert result.returncode == 1
    assert (
        "ERROR CRM_SECRET_KEY: CRM_SECRET_KEY is required when CRM_DATABASE_URL is set"
        in result.stdout
    )


async def test_check_reports_an_unreachable_database() -> None:
    env = clean_env(
        CRM_DATABASE_URL="postgresql://postgres@127.0.0.1:1/crm", CRM_SECRET_KEY=SECRET_KEY
    )
    result = crm("check", env=env)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert len(lines) == 1
    assert lines[0].startswith("ERROR database: unreachable")


async def test_check_reports_pending_migrations(empty_database: str) -> None:
    result = crm("check", env=clean_env(CRM_DATABASE_URL=empty_database, CRM_SECRET_KEY=SECRET_KEY))
    assert result.returncode == 1
    assert f"ERROR migrations: {len(migration_ids())} pending" in result.stdout


async def test_check_reports_an_invalid_setting() -> None:
    result = crm("check", env=clean_env(CRM_PORT="eighty"))
    assert result.returncode == 1
    assert "ERROR settings: CRM_PORT must be a whole number" in result.stdout


async def test_bootstrap_json_prints_a_key_that_works(
    database_url: str, client: httpx.AsyncClient
) -> None:
    env = clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY)
    result = crm(
        "bootstrap",
        "--company",
        "Beta Ltd",
        "--owner-email",
        "bo@beta.example",
        "--plan",
        "pro",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["company"]["name"] == "Beta Ltd"
    assert out["company"]["plan"] == "pro"
    assert out["owner"]["name"] == "bo"
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {out['api_key']}"})
    assert me.status_code == 200
    assert me.json()["company"]["id"] == out["company"]["id"]


async def test_bootstrap_refuses_an_invalid_email(database_url: str) -> None:
    env = clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY)
    result = crm("bootstrap", "--company", "X", "--owner-email", "not-an-email", env=env)
    assert result.returncode == 2
    assert "owner_email" in result.stderr


def test_openapi_check_matches_the_committed_document(repo_root: Path) -> None:
    result = crm("openapi", "--check", env=clean_env(), cwd=repo_root)
    assert result.returncode == 0, result.stderr


def test_serve_starts_the_embedded_database_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code
                if status == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert status == 200
        assert (tmp_path / ".crm" / "secret_key").exists()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert f"listening on http://127.0.0.1:{port}" in output
    assert "crm bootstrap" in output
    assert "Stopped." in output
    # The embedded PostgreSQL stopped with the server.
    assert not (tmp_path / ".crm" / "postgres" / "postmaster.pid").exists()


async def test_billing_events_lists_received_events_for_the_operator(
    database_url: str, client: httpx.AsyncClient
) -> None:
    from tests.gateway.routes.test_webhooks import billed_company, deliver, event

    tenant, customer = await billed_company(client)
    await deliver(client, event(customer, plan="pro"))
    env = clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY)
    listed = crm("billing-events", "--company", tenant.id, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["type"], r["outcome"]) for r in rows] == [
        ("customer.subscription.updated", "applied")
    ]
    text = crm("billing-events", "--company", tenant.id, env=env)
    assert "customer.subscription.updated  applied  x1" in text.stdout
