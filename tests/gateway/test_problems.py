"""Every error is RFC 9457 problem+json with a stable code and the request id."""

from typing import Any

import asyncpg
import httpx
import pytest

from gateway.problems import translate
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "https://crm.example/problems/" + code.replace("_", "-")
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no/such/route"), 404, "not_found")


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies",
        content=b'{"name": ',
        headers={**ADMIN, "content-type": "application/json"},
    )
    assert_problem(response, 400, "bad_request")


async def test_missing_body_is_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/admin/v1/companies", headers=ADMIN), 400, "bad_request")


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post("/admin/v1/companies", content=big, headers=ADMIN)
    assert_problem(response, 413, "payload_too_large")


async def test_unknown_field_is_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies",
        json={"name": "A", "owner_email": "a@example.com", "owner_name": "A", "colour": "red"},
        headers=ADMIN,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"field": "colour", "message": "unknown field"}]


async def test_wrong_type_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies",
        json={"name": 5, "owner_email": "a@example.com", "owner_name": "A"},
        headers=ADMIN,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["name"]


@pytest.mark.parametrize("sent", ["abc-123", "trace:4bf92f3577b34da6"])
async def test_request_id_is_echoed(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/health/live", headers={"X-Request-Id": sent})
    assert response.headers["x-request-id"] == sent


async def test_request_id_is_generated_when_absent_or_unsafe(client: httpx.AsyncClient) -> None:
    plain = await client.get("/health/live")
    unsafe = await client.get("/health/live", headers={"X-Request-Id": "a b\tc<script>"})
    assert plain.headers["x-request-id"].startswith("req_")
    assert unsafe.headers["x-request-id"].startswith("req_")
    assert plain.headers["x-request-id"] != unsafe.headers["x-request-id"]


async def test_a_nul_character_in_a_body_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    from tests.factories import make_company

    tenant = await make_company(client)
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "a\x00b", "phones": [{"number": "+15550102000", "label": "\x00"}]},
        headers=tenant.owner.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["first_name", "phones[0].label"]


async def test_a_nul_character_in_a_query_parameter_is_422_naming_it(
    client: httpx.AsyncClient,
) -> None:
    from tests.factories import make_company

    tenant = await make_company(client)
    response = await client.get("/v1/contacts?tag=a%00b", headers=tenant.owner.headers)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "tag"


async def test_a_nul_character_in_an_admin_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies",
        json={"name": "a\x00", "owner_email": "a@example.com", "owner_name": "A"},
        headers=ADMIN,
    )
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 12; another operation in progress"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
        ConnectionResetError("reset by peer"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_database_failure_is_a_503_problem(error: Exception) -> None:
    translated = translate(error)
    assert translated.status == 503
    assert translated.code == "service_unavailable"


async def test_a_503_tells_the_client_when_to_retry(database_url: str) -> None:
    from crm.settings import Settings
    from gateway.app import create_app
    from tests.conftest import SECRET_KEY, serve

    app = create_app(
        Settings(
            database_url="postgresql://postgres@127.0.0.1:1/nothing",
            secret_key=SECRET_KEY,
            admin_token=ADMIN_TOKEN,
        )
    )
    async with serve(app) as down:
        response = await down.post(
            "/v1/contacts", json={"first_name": "A"}, headers={"Authorization": "Bearer x"}
        )
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"
