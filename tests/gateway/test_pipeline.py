"""The front door of /v1: authentication, scopes, rate limits and idempotency."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from crm import db
from crm.security import generate_api_key
from crm.settings import RateLimit, Settings
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve
from tests.factories import Tenant, make_agent, make_company, make_team

pytestmark = pytest.mark.asyncio


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def sql(query: str, *args: object) -> object:
    async with db.transaction() as tx:
        return await tx.connection.fetchval(query, *args)


# Authentication -------------------------------------------------------------


async def test_a_valid_key_is_accepted(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    response = await client.get("/v1/me", headers=tenant.owner.headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer crm_short"},
    ],
    ids=["no header", "empty", "wrong scheme", "no key", "malformed", "truncated"],
)
async def test_missing_or_malformed_credentials_are_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_well_formed_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me", headers=bearer(generate_api_key().key))
    assert response.status_code == 401


async def test_a_wrong_secret_for_a_real_prefix_is_401(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    prefix = tenant.owner.key.split("_")[1]
    forged = generate_api_key().key.split("_")
    # Same public prefix as the real key, another secret with a valid checksum.
    from crm.security import _checksum

    body = f"crm_{prefix}_{forged[2][:43]}"
    response = await client.get("/v1/me", headers=bearer(body + _checksum(body)))
    assert response.status_code == 401


async def test_a_tampered_key_is_401(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    key = tenant.owner.key
    tampered = key[:-8] + ("A" if key[-8] != "A" else "B") + key[-7:]
    response = await client.get("/v1/me", headers=bearer(tampered))
    assert response.status_code == 401


async def test_a_revoked_key_is_401_on_the_next_request(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    second = await client.post("/v1/api-keys", json={"name": "ci"}, headers=tenant.owner.headers)
    key = second.json()["key"]
    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    revoke = await client.delete(
        f"/v1/api-keys/{second.json()['id']}", headers=tenant.owner.headers
    )
    assert revoke.status_code == 204
    response = await client.get("/v1/me", headers=bearer(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


async def test_an_expired_key_is_401(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    created = await client.post(
        "/v1/api-keys",
        json={"name": "short-lived", "expires_at": "2099-01-01T00:00:00Z"},
        headers=tenant.owner.headers,
    )
    key = created.json()["key"]
    assert (await client.get("/v1/me", headers=bearer(key))).status_code == 200
    await sql(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1",
        created.json()["id"],
    )
    # Expiry is not an event: the next request must see it without any notification.
    await _forget_cached(client, created.json()["prefix"])
    response = await client.get("/v1/me", headers=bearer(key))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def _forget_cached(client: httpx.AsyncClient, prefix: str) -> None:
    # The expiry was changed behind the service's back (no such route exists):
    # drop the cached copy the way a notification would.
    await sql("SELECT pg_notify('crm_auth', $1)", f"key:{prefix}")
    await asyncio.sleep(0.2)


async def test_a_deactivated_agents_keys_are_401(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    agent = await make_agent(tenant)
    assert (await client.get("/v1/me", headers=agent.headers)).status_code == 200
    deactivate = await client.patch(
        f"/v1/agents/{agent.id}", json={"is_active": False}, headers=tenant.owner.headers
    )
    assert deactivate.status_code == 200
    response = await client.get("/v1/me", headers=agent.headers)
    assert response.status_code == 401


async def test_every_401_carries_rate_limit_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["ratelimit-policy"].startswith('"auth";q=')
    assert response.headers["ratelimit"].startswith('"auth";r=')


async def test_the_full_key_never_reaches_the_logs(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_company(client)
    created = await client.post("/v1/api-keys", json={"name": "x"}, headers=tenant.owner.headers)
    key = created.json()["key"]
    await client.get("/v1/me", headers=bearer(key))
    await client.get("/v1/me", headers=bearer(key[:-1] + "0"))
    assert key not in caplog.text
    assert tenant.owner.key not in caplog.text


# Scopes ---------------------------------------------------------------------


async def test_a_key_without_the_scope_is_403_insufficient_scope(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    created = await client.post(
        "/v1/api-keys",
        json={"name": "read only", "scopes": ["contacts:read"]},
        headers=tenant.owner.headers,
    )
    key = created.json()["key"]
    assert (await client.get("/v1/contacts", headers=bearer(key))).status_code == 200
    write = await client.post("/v1/contacts", json={"first_name": "A"}, headers=bearer(key))
    assert write.status_code == 403
    assert write.json()["code"] == "insufficient_scope"
    deals = await client.get("/v1/deals", headers=bearer(key))
    assert deals.json()["code"] == "insufficient_scope"


async def test_a_key_cannot_mint_a_key_with_scopes_it_lacks(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    narrow = await client.post(
        "/v1/api-keys",
        json={"name": "agents", "scopes": ["agents:write", "agents:read"]},
        headers=tenant.owner.headers,
    )
    response = await client.post(
        "/v1/api-keys",
        json={"name": "escalate", "scopes": ["contacts:write"]},
        headers=bearer(narrow.json()["key"]),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


async def test_a_key_never_exceeds_its_agents_role_after_a_demotion(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    team = await make_team(tenant)
    leader = await make_agent(tenant, role="team_leader", team_id=team)
    mate = await make_agent(tenant, role="agent", team_id=team)
    made = await client.post("/v1/contacts", json={"first_name": "Mate's"}, headers=mate.headers)
    contact = made.json()["id"]
    seen = await client.get(f"/v1/contacts/{contact}", headers=leader.headers)
    assert seen.status_code == 200
    demote = await client.patch(
        f"/v1/agents/{leader.id}", json={"role": "agent"}, headers=tenant.owner.headers
    )
    assert demote.status_code == 200
    after = await client.get(f"/v1/contacts/{contact}", headers=leader.headers)
    assert after.status_code == 404
    listed = await client.get("/v1/contacts", headers=leader.headers)
    assert contact not in {c["id"] for c in listed.json()["data"]}


# Rate limits ----------------------------------------------------------------


@pytest.fixture
async def limited(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose plans allow 5, 8 and 13 requests a minute, 3 failed logins per address."""
    app: Litestar = create_app(
        Settings(
            database_url=database_url,
            secret_key=SECRET_KEY,
            admin_token=ADMIN_TOKEN,
            rate_limit_free=RateLimit(5, 60),
            rate_limit_pro=RateLimit(8, 60),
            rate_limit_enterprise=RateLimit(13, 60),
            auth_failure_limit=RateLimit(3, 60),
        )
    )
    async with serve(app) as http:
        yield http


async def test_a_company_gets_exactly_its_quota_then_429(limited: httpx.AsyncClient) -> None:
    tenant = await make_company(limited)
    statuses = [
        (await limited.get("/v1/me", headers=tenant.owner.headers)).status_code for _ in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2


async def test_rate_limit_headers_count_down(limited: httpx.AsyncClient) -> None:
    tenant = await make_company(limited)
    first = await limited.get("/v1/me", headers=tenant.owner.headers)
    second = await limited.get("/v1/me", headers=tenant.owner.headers)
    assert first.headers["ratelimit-policy"] == '"plan";q=5;w=60'
    assert first.headers["ratelimit"].startswith('"plan";r=4;t=')
    assert second.headers["ratelimit"].startswith('"plan";r=3;t=')
    seconds = int(second.headers["ratelimit"].rsplit("t=", 1)[1])
    assert 0 < seconds <= 60


async def test_a_429_is_a_problem_with_retry_after_and_the_violated_policy(
    limited: httpx.AsyncClient,
) -> None:
    tenant = await make_company(limited)
    for _ in range(5):
        await limited.get("/v1/me", headers=tenant.owner.headers)
    response = await limited.get("/v1/me", headers=tenant.owner.headers)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["violated_policies"] == ["plan"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit"].startswith('"plan";r=0;')


async def test_every_key_of_a_company_shares_its_limit(limited: httpx.AsyncClient) -> None:
    tenant = await make_company(limited)
    other = await limited.post("/v1/api-keys", json={"name": "b"}, headers=tenant.owner.headers)
    keys = [tenant.owner.key, other.json()["key"]]
    statuses = [
        (await limited.get("/v1/me", headers=bearer(keys[i % 2]))).status_code for i in range(5)
    ]
    # The key creation above counted too: 1 + 4 allowed, then the quota is spent.
    assert statuses == [200] * 4 + [429]


async def test_companies_do_not_share_limits(limited: httpx.AsyncClient) -> None:
    first, second = await make_company(limited), await make_company(limited)
    for _ in range(5):
        await limited.get("/v1/me", headers=first.owner.headers)
    assert (await limited.get("/v1/me", headers=first.owner.headers)).status_code == 429
    assert (await limited.get("/v1/me", headers=second.owner.headers)).status_code == 200


@pytest.mark.parametrize(("plan", "quota"), [("free", 5), ("pro", 8), ("enterprise", 13)])
async def test_the_quota_follows_the_plan(
    limited: httpx.AsyncClient, plan: str, quota: int
) -> None:
    tenant = await make_company(limited, plan=plan)
    response = await limited.get("/v1/me", headers=tenant.owner.headers)
    assert response.headers["ratelimit-policy"] == f'"plan";q={quota};w=60'


async def test_a_cancelled_subscription_gets_the_free_limit(limited: httpx.AsyncClient) -> None:
    tenant = await make_company(limited, plan="enterprise")
    await sql("UPDATE companies SET subscription_status = 'cancelled' WHERE id = $1", tenant.id)
    await sql("SELECT pg_notify('crm_auth', $1)", f"company:{tenant.id}")
    await asyncio.sleep(0.2)
    response = await limited.get("/v1/me", headers=tenant.owner.headers)
    assert response.headers["ratelimit-policy"] == '"plan";q=5;w=60'


async def test_failed_authentication_is_throttled_per_address(
    limited: httpx.AsyncClient,
) -> None:
    tenant = await make_company(limited)
    wrong = bearer(generate_api_key().key)
    statuses = [(await limited.get("/v1/me", headers=wrong)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    throttled = await limited.get("/v1/me", headers=wrong)
    assert throttled.json()["violated_policies"] == ["auth"]
    assert int(throttled.headers["retry-after"]) >= 1
    # A valid key that is already verified is not held up by others' failures.
    del tenant


# Idempotency ----------------------------------------------------------------


async def count_contacts(tenant: Tenant, first_name: str) -> int:
    value = await sql(
        "SELECT count(*) FROM contacts WHERE company_id = $1 AND first_name = $2",
        tenant.id,
        first_name,
    )
    assert isinstance(value, int)
    return value


async def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "create-ada-1"}
    first = await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=headers)
    again = await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_contacts(tenant, "Ada") == 1


async def test_the_same_key_with_another_body_is_422(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "k-2"}
    await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=headers)
    other = await client.post("/v1/contacts", json={"first_name": "Bob"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert await count_contacts(tenant, "Bob") == 0


async def test_the_same_key_on_another_path_is_422(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "k-3"}
    await client.post("/v1/contacts", json={"first_name": "Ada"}, headers=headers)
    other = await client.post("/v1/teams", json={"first_name": "Ada"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


async def test_keys_are_per_api_key(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    other = await client.post("/v1/api-keys", json={"name": "b"}, headers=tenant.owner.headers)
    body = {"first_name": "Cy"}
    one = await client.post(
        "/v1/contacts", json=body, headers={**tenant.owner.headers, "Idempotency-Key": "same"}
    )
    two = await client.post(
        "/v1/contacts",
        json=body,
        headers={**bearer(other.json()["key"]), "Idempotency-Key": "same"},
    )
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


async def test_a_refusal_is_replayed_too(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "bad-phone"}
    body = {"first_name": "D", "phones": [{"number": "12"}]}
    first = await client.post("/v1/contacts", json=body, headers=headers)
    again = await client.post("/v1/contacts", json=body, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["errors"] == first.json()["errors"]


async def test_patch_is_idempotent_too(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    made = await client.post("/v1/contacts", json={"first_name": "E"}, headers=tenant.owner.headers)
    path = f"/v1/contacts/{made.json()['id']}"
    headers = {**tenant.owner.headers, "Idempotency-Key": "rename-e"}
    first = await client.patch(path, json={"last_name": "Ex"}, headers=headers)
    again = await client.patch(path, json={"last_name": "Ex"}, headers=headers)
    assert first.json()["version"] == again.json()["version"] == 2
    assert again.headers["etag"] == '"2"'


async def test_concurrent_duplicates_create_one_record(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *[
            client.post("/v1/contacts", json={"first_name": "Burst"}, headers=headers)
            for _ in range(8)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    assert await count_contacts(tenant, "Burst") == 1
    in_flight = [r for r in responses if r.status_code == 409]
    assert all(r.json()["code"] == "conflict" for r in in_flight)
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1


async def test_an_idempotency_key_over_255_characters_is_422(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "k" * 256}
    response = await client.post("/v1/contacts", json={"first_name": "F"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_answers_older_than_a_day_are_purged_and_the_key_is_free_again(
    client: httpx.AsyncClient,
) -> None:
    from crm.idempotency.service import purge_expired

    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "yesterday"}
    await client.post("/v1/contacts", json={"first_name": "Old"}, headers=headers)
    await sql(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1",
        "yesterday",
    )
    async with db.transaction():
        assert await purge_expired() >= 1
    again = await client.post("/v1/contacts", json={"first_name": "Old"}, headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert await count_contacts(tenant, "Old") == 2


# last_used_at ---------------------------------------------------------------


async def test_last_used_at_is_recorded_without_a_write_per_request(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    tenant = await make_company(client)
    created = await client.post("/v1/api-keys", json={"name": "u"}, headers=tenant.owner.headers)
    key_id = created.json()["id"]
    for _ in range(3):
        await client.get("/v1/me", headers=bearer(created.json()["key"]))
    assert await sql("SELECT last_used_at FROM api_keys WHERE id = $1", key_id) is None
    await app.state.gateway.keys.flush_uses()
    used = await sql("SELECT last_used_at FROM api_keys WHERE id = $1", key_id)
    assert isinstance(used, datetime)
    assert datetime.now(UTC) - used < timedelta(minutes=1)


# Secrets and idempotency --------------------------------------------------------


async def test_a_secret_is_never_stored_and_a_replay_answers_without_it(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "mint-once"}
    first = await client.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    again = await client.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert first.status_code == again.status_code == 201
    secret = first.json()["key"]
    assert secret.startswith("crm_")
    assert again.headers["idempotent-replayed"] == "true"
    assert "key" not in again.json()
    assert again.json() == {k: v for k, v in first.json().items() if k != "key"}
    stored = await sql(
        "SELECT body FROM idempotency_keys WHERE company_id = $1 AND key = $2",
        tenant.id,
        "mint-once",
    )
    assert isinstance(stored, bytes)
    assert secret.encode() not in stored
    assert b'"prefix"' in stored


async def test_an_answer_without_secrets_is_stored_whole(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "team-whole"}
    first = await client.post("/v1/teams", json={"name": "Whole"}, headers=headers)
    again = await client.post("/v1/teams", json={"name": "Whole"}, headers=headers)
    assert again.json() == first.json()


SECRET_NAMES = {"key", "secret", "api_key", "token", "password"}


def _struct_of(annotation: object) -> type[msgspec.Struct] | None:
    import typing

    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
            return candidate
    return None


async def test_every_idempotent_route_answering_a_secret_names_it_for_the_store(
    app: Litestar,
) -> None:
    # A route whose answer has a field that holds a secret must name it, or the
    # idempotency store would keep it and a replay would answer it again.
    from gateway.idempotency import SECRET_FIELDS

    checked = {}
    for route in app.routes:
        if not route.path.startswith("/v1"):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not set(handler.http_methods) & {"POST", "PATCH"}:
                continue
            struct = _struct_of(handler.parsed_fn_signature.return_type.annotation)
            secrets = SECRET_NAMES & set(struct.__struct_fields__) if struct else set()
            if secrets:
                checked[handler.handler_name] = set(handler.opt.get(SECRET_FIELDS, ()))
                assert checked[handler.handler_name] >= secrets, handler.handler_name
    assert checked == {"create_api_key": {"key"}}


async def test_a_server_error_keeps_nothing_so_the_retry_runs(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm.contacts import service as contacts

    tenant = await make_company(client)
    headers = {**tenant.owner.headers, "Idempotency-Key": "fails-once"}
    original = contacts.create_contact
    calls = 0

    async def fails_once(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return await original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(contacts, "create_contact", fails_once)
    first = await client.post("/v1/contacts", json={"first_name": "Once"}, headers=headers)
    again = await client.post("/v1/contacts", json={"first_name": "Once"}, headers=headers)
    assert first.status_code == 500
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert await count_contacts(tenant, "Once") == 1


# Bodies -----------------------------------------------------------------------


async def _call(
    app: Litestar, scope_extra: dict[str, object], receive: object
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/contacts",
        "raw_path": b"/v1/contacts",
        "root_path": "",
        "query_string": b"",
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        **scope_extra,
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_a_body_that_does_not_arrive_in_time_is_408_without_a_connection(
    client: httpx.AsyncClient, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.transaction as transaction

    monkeypatch.setattr(transaction, "BODY_SECONDS", 0.3)
    tenant = await make_company(client)
    pool = app.state.pool
    in_use_before = pool.get_size() - pool.get_idle_size()

    async def trickle() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        seen = pool.get_size() - pool.get_idle_size()
        assert seen == in_use_before  # no connection is taken while the body arrives
        return {"type": "http.request", "body": b" ", "more_body": True}

    headers = [(b"authorization", f"Bearer {tenant.owner.key}".encode())]
    sent = await _call(app, {"headers": headers}, trickle)
    assert sent[0]["status"] == 408
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert b'"code":"request_timeout"' in body


async def test_a_declared_length_over_one_mebibyte_is_413_before_the_body_is_read(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    tenant = await make_company(client)

    async def never() -> dict[str, Any]:
        raise AssertionError("the body was read")

    headers = [
        (b"authorization", f"Bearer {tenant.owner.key}".encode()),
        (b"content-length", str(1024 * 1024 + 1).encode()),
    ]
    sent = await _call(app, {"headers": headers}, never)
    assert sent[0]["status"] == 413
