import httpx

from crm.settings import Settings
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve
from tests.factories import unique

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def body(**fields: object) -> dict[str, object]:
    return {
        "name": unique("Acme"),
        "owner_email": f"{unique('ann')}@example.com",
        "owner_name": "Ann Owner",
        **fields,
    }


async def test_creates_company_owner_and_a_working_key(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies",
        json=body(plan="pro", default_region="GB", billing_customer_id=unique("cus")),
        headers=ADMIN,
    )
    assert response.status_code == 201
    result = response.json()
    assert result["company"]["plan"] == "pro"
    assert result["company"]["default_region"] == "GB"
    assert result["company"]["subscription_status"] == "active"
    assert result["company"]["version"] == 1
    assert result["owner"]["role"] == "owner"
    assert result["owner"]["is_active"] is True
    assert result["api_key"].startswith("crm_")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {result['api_key']}"})
    assert me.status_code == 200
    assert me.json()["agent"]["id"] == result["owner"]["id"]


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/v1/companies", json=body())
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_wrong_token_is_401_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies", content=b"{not json", headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401


async def test_without_a_configured_token_every_admin_route_is_404(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY))
    async with serve(app) as no_admin:
        for method, path in [("POST", "/admin/v1/companies"), ("GET", "/admin/v1/companies")]:
            response = await no_admin.request(method, path, json=body(), headers=ADMIN)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"


async def test_duplicate_billing_customer_is_409_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    customer = unique("cus")
    first = await client.post(
        "/admin/v1/companies", json=body(billing_customer_id=customer), headers=ADMIN
    )
    assert first.status_code == 201
    name = unique("Second")
    second = await client.post(
        "/admin/v1/companies", json=body(name=name, billing_customer_id=customer), headers=ADMIN
    )
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    from crm import db

    async with db.transaction() as tx:
        count = await tx.connection.fetchval("SELECT count(*) FROM companies WHERE name = $1", name)
    assert count == 0


async def test_invalid_plan_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/v1/companies", json=body(plan="platinum"), headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "plan"
