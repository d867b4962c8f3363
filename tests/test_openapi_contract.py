"""The OpenAPI document is the contract: valid OpenAPI 3.1, identical to what the app
serves, usable by a generated client, and honoured by a real server under fuzzing.

All but the first two start a real `crm serve` process against the test database.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from crm.settings import Settings
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve
from tests.factories import make_company
from tests.servers import Server, clean_env, running_server

DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
CLIENT_PACKAGE = "crm_contract_client"

# Fuzzing: the same seed replays the same generated inputs (the server's state,
# and so the stateful phase, may still differ from run to run).
SCHEMATHESIS_SEED = "20261121"
SCHEMATHESIS_MAX_EXAMPLES = "50"
# Every check runs (`--checks all`). One is taught the contract rather than left
# out: `positive_data_acceptance` expects a request that fits the schema to succeed,
# but the contract refuses some such requests on purpose, and these answers are right:
#   400  a cursor is any string to the schema; one we did not issue is a bad cursor
#   412  `If-Match` is any string to the schema; another version is a failed precondition
#   422  rules no schema states: a reference to a record that does not exist (or that
#        the caller may not see), an `expires_at` in the past, the same
#        `Idempotency-Key` with another body, fields a tenant may not change
# (401, 403, 404, 409, 429 and 5XX are in its own list: 5xx are not_a_server_error's to report.)
# Every call gets an Idempotency-Key of its own. The stateful phase re-sends
# earlier steps unchanged; with the same key the server rightly replays the first
# answer (naming, say, a team deleted since), which schemathesis then reads as a
# stale resource. Replays have tests of their own (tests/gateway/test_pipeline.py).
SCHEMATHESIS_HOOKS = """
import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
"""
# The key is given as the document's `apiKey` scheme, not as a bare header, so that
# the checks that leave the credential out (expecting 401) really leave it out.
SCHEMATHESIS_CONFIG = """
[auth.openapi.apiKey]
bearer = "${CRM_SCHEMATHESIS_KEY}"

[checks.positive_data_acceptance]
expected-statuses = ["2XX", "3XX", "400", "401", "403", "404", "409", "412", "422", "429", "5XX"]
"""


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


# The document itself


def test_the_committed_document_is_valid_openapi_3_1() -> None:
    document = _document()
    assert document["openapi"].startswith("3.1."), document["openapi"]
    validate(document, cls=OpenAPIV31SpecValidator)


async def test_the_committed_document_is_what_the_app_serves(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == _document(), (
        "openapi/openapi.json differs from GET /openapi.json; run `crm openapi` and commit it"
    )


async def test_the_operator_and_webhook_routes_are_documented_where_they_are_not_configured(
    client: httpx.AsyncClient, database_url: str
) -> None:
    configured = (await client.get("/openapi.json")).json()
    bare = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY))
    async with serve(bare) as unconfigured:
        served = await unconfigured.get("/openapi.json")
        # Documented, and still not there: 404 as a problem.
        admin = await unconfigured.post(
            "/admin/v1/companies", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json={}
        )
        webhook = await unconfigured.post("/webhooks/payments", content=b"{}")
    assert served.status_code == 200
    assert served.json() == configured
    assert {"/admin/v1/companies", "/webhooks/payments"} <= set(served.json()["paths"])
    for response in (admin, webhook):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"


async def test_configured_the_operator_and_webhook_routes_answer(
    client: httpx.AsyncClient,
) -> None:
    admin = await client.post("/admin/v1/companies", json={})
    webhook = await client.post("/webhooks/payments", content=b"{}")
    assert (admin.status_code, admin.json()["code"]) == (401, "unauthenticated")
    assert (webhook.status_code, webhook.json()["code"]) == (400, "invalid_signature")


def test_unmounted_routes_document_the_404_they_answer() -> None:
    paths = _document()["paths"]
    assert (
        "CRM_ADMIN_TOKEN" in paths["/admin/v1/companies"]["post"]["responses"]["404"]["description"]
    )
    assert (
        "CRM_PAYMENT_WEBHOOK_SECRETS"
        in paths["/webhooks/payments"]["post"]["responses"]["404"]["description"]
    )


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object in the document, wherever it sits."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_no_property_with_a_default_is_required_or_made_required_by_generators() -> None:
    # openapi-typescript (and others) make a property with a `default` required in
    # the generated type, though a body may omit it; the default is described instead.
    schemas = list(_schemas(_document()))
    assert len(schemas) > 20
    for schema in schemas:
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            assert not ("default" in prop and name in required), (schema.get("title"), name)
            assert "default" not in prop, (schema.get("title"), name)


def test_what_an_omitted_property_becomes_is_described() -> None:
    schemas = _document()["components"]["schemas"]
    contact = schemas["ContactCreate"]
    assert {"first_name", "last_name"}.isdisjoint(contact["required"])
    assert contact["properties"]["first_name"]["description"] == 'When omitted: `""`.'
    deal = schemas["DealCreate"]
    assert "stage" not in deal["required"]
    assert deal["properties"]["stage"]["description"] == 'When omitted: `"lead"`.'


def test_the_document_points_to_guides_the_repository_holds() -> None:
    document = _document()
    root = DOCUMENT.parent.parent
    text = json.dumps(document)
    named = set(re.findall(r"docs/[a-z-]+\.md", text))
    assert (
        "docs/authentication.md"
        in document["components"]["securitySchemes"]["apiKey"]["description"]
    )
    assert "docs/README.md" in document["info"]["description"]
    assert len(named) >= 8
    for guide in named:
        assert (root / guide).is_file(), guide


# A real server, shared by the tests below


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    env = clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_ADMIN_TOKEN=ADMIN_TOKEN,
        # Fuzzing makes thousands of calls, many of them refused, from one address.
        CRM_RATE_LIMIT_FREE="10000000/minute",
        CRM_AUTH_FAILURE_LIMIT="10000000/minute",
    )
    with running_server(env) as running:
        yield running


# A client generated from the committed document


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package `openapi-python-client` generates from the committed document."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.json"
    # No post hooks: the formatter they run need not be on PATH, and without them
    # every remaining warning is about the document, so --fail-on-warning is meaningful.
    config.write_text(json.dumps({"post_hooks": []}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(root / CLIENT_PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(CLIENT_PACKAGE)
        # The package's __init__ imports only the clients; the tests use these too.
        importlib.import_module(f"{CLIENT_PACKAGE}.models")
        importlib.import_module(f"{CLIENT_PACKAGE}.types")
        yield package
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.partition(".")[0] == CLIENT_PACKAGE]:
            del sys.modules[name]


def operation(package: ModuleType, name: str) -> Any:
    """The generated module of the operation `name` (its operationId), whatever its tag."""
    api = Path(package.__file__ or "").parent / "api"
    found = sorted(api.glob(f"*/{name}.py"))
    assert len(found) == 1, f"no single generated module for operation {name!r}: {found}"
    return importlib.import_module(f"{package.__name__}.api.{found[0].parent.name}.{name}")


async def test_a_generated_client_creates_pages_and_reads_problems_on_a_real_server(
    client: httpx.AsyncClient, server: Server, generated: ModuleType
) -> None:
    models = generated.models
    create_contact = operation(generated, "create_contact")
    list_contacts = operation(generated, "list_contacts")
    get_contact = operation(generated, "get_contact")
    tenant = await make_company(client)

    async with generated.AuthenticatedClient(
        base_url=server.base, token=tenant.owner.key, raise_on_unexpected_status=True
    ) as api:
        created: list[str] = []
        for n in range(5):
            body = models.ContactCreate.from_dict(
                {"first_name": f"Page{n}", "phones": [{"number": "+15550102000"}]}
            )
            response = await create_contact.asyncio_detailed(client=api, body=body)
            assert response.status_code == 201, response.content
            assert isinstance(response.parsed, models.Contact)
            assert response.parsed.full_name == f"Page{n}"
            assert response.headers["Location"].endswith(response.parsed.id)
            created.append(response.parsed.id)

        seen: list[str] = []
        cursor: Any = generated.types.UNSET
        for _ in range(len(created) + 2):
            page = await list_contacts.asyncio_detailed(client=api, limit=2, cursor=cursor)
            assert page.status_code == 200, page.content
            assert isinstance(page.parsed, models.ContactPage)
            assert len(page.parsed.data) <= 2
            seen += [contact.id for contact in page.parsed.data]
            cursor = page.parsed.next_cursor
            if cursor is None:
                break
        assert cursor is None, "next_cursor never became null"
        assert sorted(seen) == sorted(created)
        assert len(seen) == len(set(seen))

        missing = await get_contact.asyncio_detailed(client=api, contact_id=str(uuid.uuid4()))
        assert missing.status_code == 404
        assert missing.headers["Content-Type"] == "application/problem+json"
        assert isinstance(missing.parsed, models.Problem)
        assert (missing.parsed.status, missing.parsed.code) == (404, "not_found")

        invalid = await create_contact.asyncio_detailed(
            client=api,
            body=models.ContactCreate.from_dict(
                {"first_name": "Invalid", "phones": [{"number": "+999 123456"}]}
            ),
        )
        assert invalid.status_code == 422
        assert invalid.headers["Content-Type"] == "application/problem+json"
        assert isinstance(invalid.parsed, models.Problem)
        assert (invalid.parsed.status, invalid.parsed.code) == (422, "validation_failed")
        assert [e.field for e in invalid.parsed.errors] == ["phones[0].number"]


async def test_a_nul_character_in_a_text_field_is_a_documented_422(
    client: httpx.AsyncClient, server: Server, generated: ModuleType
) -> None:
    models = generated.models
    create_contact = operation(generated, "create_contact")
    tenant = await make_company(client)
    async with generated.AuthenticatedClient(
        base_url=server.base, token=tenant.owner.key, raise_on_unexpected_status=True
    ) as api:
        response = await create_contact.asyncio_detailed(
            client=api, body=models.ContactCreate.from_dict({"first_name": "a\x00b"})
        )
    assert response.status_code == 422
    assert isinstance(response.parsed, models.Problem)
    assert response.parsed.code == "validation_failed"


# Fuzzing a real server with schemathesis


async def test_schemathesis_finds_no_failures_on_v1_and_health(
    client: httpx.AsyncClient, server: Server, tmp_path: Path
) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis is not None, "schemathesis is not installed next to this Python"
    tenant = await make_company(client)
    report = tmp_path / "schemathesis.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG, encoding="utf-8")
    (tmp_path / "crm_schemathesis_hooks.py").write_text(SCHEMATHESIS_HOOKS, encoding="utf-8")
    command = [
        schemathesis,
        "--config-file",
        str(config),
        "run",
        f"{server.base}/openapi.json",
        "--url",
        server.base,
        "--checks",
        "all",
        # The operator API and the payment webhooks take other credentials than an
        # API key; they have tests of their own.
        "--include-path-regex",
        "^/(v1|health)/",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        SCHEMATHESIS_MAX_EXAMPLES,
        "--seed",
        SCHEMATHESIS_SEED,
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    log_offset = server.log_size()
    # In a thread: the session's event loop keeps serving the in-process app meanwhile.
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "CRM_SCHEMATHESIS_KEY": tenant.owner.key,
            "SCHEMATHESIS_HOOKS": "crm_schemathesis_hooks",
            "PYTHONPATH": str(tmp_path),
        },
    )
    print(result.stdout, result.stderr, sep="\n")
    summary = json.loads(report.read_text(encoding="utf-8"))
    server_errors = server.errors_since(log_offset)
    print(f"schemathesis ran {summary['test_cases']['generated']} test cases")
    print("server errors:", *server_errors or ["none"], sep="\n  ")
    assert summary["operations"]["tested"] > 0
    assert result.returncode == 0, "schemathesis found failures: see its output above"
