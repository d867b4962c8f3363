import httpx
import pytest


async def test_live_answers_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ready_answers_200_when_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "detail": None}


async def test_ready_answers_503_with_a_pending_migration(
    client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm import migrations

    known = migrations.migration_ids()
    monkeypatch.setattr(migrations, "migration_ids", lambda: [*known, "9999-12-31T00:00:00"])
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "1 migration(s) pending"


async def test_ready_answers_503_and_requests_fail_fast_when_the_database_is_down() -> None:
    from crm.settings import Settings
    from gateway.app import create_app
    from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve

    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"
    app = create_app(
        Settings(database_url=unreachable, secret_key=SECRET_KEY, admin_token=ADMIN_TOKEN)
    )
    async with serve(app) as down:
        ready = await down.get("/health/ready")
        assert ready.status_code == 503
        request = await down.post(
            "/admin/v1/companies",
            json={"name": "X", "owner_email": "x@example.com", "owner_name": "X"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert request.status_code == 503
        assert request.json()["code"] == "service_unavailable"
