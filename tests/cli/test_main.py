"""The `crm` command, run as a user would run it."""

import argparse
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cli.main import parser
from crm.migrations import migration_ids
from tests.conftest import SECRET_KEY
from tests.database import create_database, drop_database, new_database_name
from tests.servers import clean_env


def crm(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
async def empty_database(postgres_server: str) -> AsyncIterator[str]:
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


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--owner-email",
            "not-an-email",
            "crm: --owner-email must be an email address such as you@example.com, "
            "got 'not-an-email'\n",
        ),
        (
            "--company",
            "   ",
            "crm: --company must be a name of 1 to 200 characters, not only spaces, got '   '\n",
        ),
        (
            "--default-region",
            "united kingdom",
            "crm: --default-region must be a two-letter country code in capitals, such as US, "
            "got 'united kingdom'\n",
        ),
    ],
)
def test_bootstrap_refuses_invalid_input_in_a_sentence(
    option: str, value: str, message: str
) -> None:
    args = {"--company": "X", "--owner-email": "x@x.example", option: value}
    result = crm("bootstrap", *[part for pair in args.items() for part in pair], env=clean_env())
    assert result.returncode == 2
    assert result.stderr == message


async def test_bootstrap_twice_for_one_email_is_refused_without_force(database_url: str) -> None:
    env = clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY)
    email = f"twice-{time.monotonic_ns()}@twice.example"
    first = crm("bootstrap", "--company", "Twice", "--owner-email", email, "--json", env=env)
    assert first.returncode == 0, first.stderr
    company_id = json.loads(first.stdout)["company"]["id"]

    again = crm("bootstrap", "--company", "Twice", "--owner-email", email.upper(), env=env)
    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr == (
        f"crm: {email.upper()} is already owner of 'Twice' (id {company_id}); "
        "run again with --force to create another company for the same email\n"
    )

    forced = crm(
        "bootstrap", "--company", "Twice", "--owner-email", email, "--force", "--json", env=env
    )
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["company"]["id"] != company_id


async def test_bootstrap_sets_the_default_region_for_national_phone_numbers(
    database_url: str, client: httpx.AsyncClient
) -> None:
    env = clean_env(CRM_DATABASE_URL=database_url, CRM_SECRET_KEY=SECRET_KEY)
    email = f"gb-{time.monotonic_ns()}@gb.example"
    result = crm(
        "bootstrap",
        "--company",
        "GB Ltd",
        "--owner-email",
        email,
        "--default-region",
        "GB",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    key = json.loads(result.stdout)["api_key"]
    created = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "phones": [{"number": "020 7946 0000"}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["phones"][0]["number"] == "+442079460000"


def test_billing_events_refuses_a_limit_out_of_range_in_one_line() -> None:
    result = crm("billing-events", "--limit", "0", env=clean_env())
    assert result.returncode == 2
    assert result.stderr == "crm: --limit must be between 1 and 200, got 0\n"


def test_every_option_of_every_command_says_what_it_does() -> None:
    root = parser()
    commands = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == {
        "serve",
        "worker",
        "jobs",
        "migrate",
        "check",
        "bootstrap",
        "billing-events",
        "openapi",
    }
    for name, command in commands.choices.items():
        assert command.description, name
        for action in command._actions:
            assert action.help, f"crm {name} {action.option_strings}"


def test_openapi_check_matches_the_committed_document(repo_root: Path) -> None:
    result = crm("openapi", "--check", env=clean_env(), cwd=repo_root)
    assert result.returncode == 0, result.stderr


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
