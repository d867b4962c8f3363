"""POST /webhooks/payments: signatures checked on raw bytes, events applied once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import pytest
import stripe
from standardwebhooks.webhooks import Webhook

from crm import db
from crm.settings import Settings
from gateway.app import create_app
from tests.conftest import SECRET_KEY, STANDARD_SECRET, STRIPE_SECRET, serve
from tests.factories import Tenant, make_company, unique

PATH = "/webhooks/payments"


def stripe_header(body: bytes, secret: str = STRIPE_SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    header = f"t={at},v1={signature}"
    # Stripe's own library must accept what we call a valid signature.
    if abs(at - time.time()) <= 300 and secret == STRIPE_SECRET:
        stripe.WebhookSignature.verify_header(body.decode(), header, secret, tolerance=300)
    return header


def standard_headers(
    body: bytes, secret: str = STANDARD_SECRET, at: int | None = None
) -> dict[str, str]:
    from datetime import UTC, datetime

    at = int(time.time()) if at is None else at
    msg_id = "msg_" + secrets.token_hex(6)
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(at), "webhook-signature": signature}


def event(
    customer: str | None,
    type_: str = "customer.subscription.updated",
    *,
    plan: str | None = "pro",
    status: str = "active",
    created: int | None = None,
    event_id: str | None = None,
    via_metadata: bool = False,
    metadata: dict[str, Any] | None = None,
) -> bytes:
    obj: dict[str, Any] = {"id": "sub_1", "object": "subscription"}
    if customer is not None:
        obj["customer"] = customer
    if metadata is not None:
        obj["metadata"] = dict(metadata)
    if type_.startswith("customer.subscription"):
        obj["status"] = status
        if plan is not None and via_metadata:
            obj.setdefault("metadata", {})["plan"] = plan
        elif plan is not None:
            obj["items"] = {"data": [{"price": {"lookup_key": plan}}]}
    return json.dumps(
        {
            "id": event_id or "evt_" + secrets.token_hex(8),
            "type": type_,
            "created": int(time.time()) if created is None else created,
            "data": {"object": obj},
        }
    ).encode()


async def deliver(client: httpx.AsyncClient, body: bytes, scheme: str = "stripe") -> httpx.Response:
    headers = (
        {"Stripe-Signature": stripe_header(body)} if scheme == "stripe" else standard_headers(body)
    )
    return await client.post(PATH, content=body, headers=headers)


async def billed_company(client: httpx.AsyncClient, plan: str = "free") -> tuple[Tenant, str]:
    customer = unique("cus")
    tenant = await make_company(client, plan=plan, billing_customer_id=customer)
    return tenant, customer


async def company_state(client: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    body = (await client.get("/v1/company", headers=tenant.owner.headers)).json()
    return body["plan"], body["subscription_status"]


async def stored(event_id: str) -> Any:
    async with db.transaction() as tx:
        return await tx.connection.fetchrow(
            "SELECT outcome, reason, deliveries, company_id FROM billing_events WHERE id = $1",
            event_id,
        )


# Signatures -----------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["stripe", "standard"])
async def test_a_signed_event_is_applied(client: httpx.AsyncClient, scheme: str) -> None:
    tenant, customer = await billed_company(client)
    response = await deliver(client, event(customer, plan="pro"), scheme)
    assert response.status_code == 200
    assert response.json()["outcome"] == "applied"
    assert await company_state(client, tenant) == ("pro", "active")


async def test_several_v1_signatures_any_one_matching_is_enough(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    body = event(customer, plan="enterprise")
    good = stripe_header(body)
    bogus = "v1=" + "0" * 64
    response = await client.post(
        PATH, content=body, headers={"Stripe-Signature": f"{good},{bogus}"}
    )
    assert response.status_code == 200
    assert await company_state(client, tenant) == ("enterprise", "active")


async def test_either_configured_secret_signs_during_a_rotation(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    # The Standard Webhooks secret used for the Stripe scheme: its UTF-8 bytes are the key.
    body = event(customer, plan="pro")
    header = stripe_header(body, secret=STANDARD_SECRET)
    response = await client.post(PATH, content=body, headers={"Stripe-Signature": header})
    assert response.status_code == 200
    assert await company_state(client, tenant) == ("pro", "active")


def _now() -> int:
    return int(time.time())


def _refusals() -> list[tuple[str, Any]]:
    return [
        ("no signature", lambda b: {}),
        ("wrong secret", lambda b: {"Stripe-Signature": stripe_header(b, secret="whsec_wrong")}),
        ("tampered body", lambda b: {"Stripe-Signature": stripe_header(b + b" ")}),
        ("301 s old", lambda b: {"Stripe-Signature": stripe_header(b, at=_now() - 301)}),
        ("301 s ahead", lambda b: {"Stripe-Signature": stripe_header(b, at=_now() + 301)}),
        ("no timestamp", lambda b: {"Stripe-Signature": "v1=" + "a" * 64}),
        ("no v1", lambda b: {"Stripe-Signature": f"t={_now()}"}),
        ("garbage", lambda b: {"Stripe-Signature": "%%% not a signature"}),
        ("hex junk", lambda b: {"Stripe-Signature": f"t={_now()},v1=zz"}),
        ("sw wrong secret", lambda b: standard_headers(b, secret="whsec_" + "QUJD" * 8)),
        ("sw 301 s old", lambda b: standard_headers(b, at=_now() - 301)),
        ("sw 301 s ahead", lambda b: standard_headers(b, at=_now() + 301)),
        ("sw missing id", lambda b: {**standard_headers(b), "webhook-id": ""}),
        ("sw malformed", lambda b: {**standard_headers(b), "webhook-signature": "v1"}),
        ("sw bad base64", lambda b: {**standard_headers(b), "webhook-signature": "v1,@@@"}),
    ]


@pytest.mark.parametrize(("case", "headers_for"), _refusals(), ids=[c for c, _ in _refusals()])
async def test_a_bad_signature_is_400_and_changes_nothing(
    client: httpx.AsyncClient, case: str, headers_for: Any
) -> None:
    tenant, customer = await billed_company(client)
    body = event(customer, plan="enterprise")
    event_id = json.loads(body)["id"]
    response = await client.post(PATH, content=body, headers=headers_for(body))
    assert response.status_code == 400, case
    assert response.json()["code"] == "invalid_signature"
    assert response.headers["content-type"] == "application/problem+json"
    assert await company_state(client, tenant) == ("free", "active")
    assert await stored(event_id) is None


async def test_a_signed_body_that_is_no_event_is_400(client: httpx.AsyncClient) -> None:
    body = b'{"hello": "world"}'
    response = await client.post(
        PATH, content=body, headers={"Stripe-Signature": stripe_header(body)}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


async def test_without_a_configured_secret_the_route_is_404(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY))
    async with serve(app) as bare:
        body = event("cus_x")
        response = await bare.post(
            PATH, content=body, headers={"Stripe-Signature": stripe_header(body)}
        )
    assert response.status_code == 404


# The event table -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("trialing", "trialing"),
        ("active", "active"),
        ("past_due", "past_due"),
        ("unpaid", "past_due"),
        ("canceled", "cancelled"),
        ("incomplete_expired", "cancelled"),
    ],
)
@pytest.mark.parametrize(
    "type_", ["customer.subscription.created", "customer.subscription.updated"]
)
async def test_subscription_events_set_plan_and_status(
    client: httpx.AsyncClient, type_: str, status: str, expected: str
) -> None:
    tenant, customer = await billed_company(client)
    response = await deliver(client, event(customer, type_, plan="enterprise", status=status))
    assert response.json()["outcome"] == "applied"
    assert await company_state(client, tenant) == ("enterprise", expected)


async def test_the_plan_may_come_from_metadata(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    await deliver(client, event(customer, plan="pro", via_metadata=True))
    assert await company_state(client, tenant) == ("pro", "active")


async def test_subscription_deleted_cancels_and_falls_back_to_free(
    client: httpx.AsyncClient,
) -> None:
    tenant, customer = await billed_company(client, plan="enterprise")
    await deliver(client, event(customer, "customer.subscription.deleted"))
    assert await company_state(client, tenant) == ("free", "cancelled")


async def test_a_failed_payment_makes_the_subscription_past_due(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client, plan="pro")
    await deliver(client, event(customer, "invoice.payment_failed"))
    assert await company_state(client, tenant) == ("pro", "past_due")


async def test_a_paid_invoice_makes_the_subscription_active(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client, plan="pro")
    await deliver(client, event(customer, "invoice.payment_failed", created=int(time.time()) - 60))
    await deliver(client, event(customer, "invoice.paid"))
    assert await company_state(client, tenant) == ("pro", "active")


async def test_an_unknown_type_is_recorded_and_acknowledged(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    body = event(customer, "charge.refunded")
    response = await deliver(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    row = await stored(json.loads(body)["id"])
    assert row["outcome"] == "ignored"
    assert "charge.refunded" in row["reason"]
    assert await company_state(client, tenant) == ("free", "active")


async def test_an_unknown_customer_is_recorded_and_acknowledged(client: httpx.AsyncClient) -> None:
    body = event("cus_nobody_" + secrets.token_hex(4))
    response = await deliver(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    row = await stored(json.loads(body)["id"])
    assert "no company" in row["reason"]
    assert row["company_id"] is None


async def test_an_unknown_plan_changes_nothing(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    response = await deliver(client, event(customer, plan="platinum"))
    assert response.json()["outcome"] == "ignored"
    assert await company_state(client, tenant) == ("free", "active")


# Which company an event is about ------------------------------------------------


async def customer_of(tenant: Tenant) -> str | None:
    async with db.transaction() as tx:
        customer: str | None = await tx.connection.fetchval(
            "SELECT billing_customer_id FROM companies WHERE id = $1", tenant.id
        )
    return customer


async def test_the_tenant_cannot_detach_to_dodge_a_cancellation(client: httpx.AsyncClient) -> None:
    """The attack of the security review: detach, let the cancellation be ignored, reattach."""
    tenant, customer = await billed_company(client, plan="enterprise")
    detach = await client.patch(
        "/v1/company", json={"billing_customer_id": None}, headers=tenant.owner.headers
    )
    assert detach.status_code == 422
    assert detach.json()["errors"][0]["field"] == "billing_customer_id"
    body = event(customer, "customer.subscription.deleted")
    response = await deliver(client, body)
    assert response.json()["outcome"] == "applied"
    assert (await stored(json.loads(body)["id"]))["company_id"] == tenant.id
    reattach = await client.patch(
        "/v1/company", json={"billing_customer_id": customer}, headers=tenant.owner.headers
    )
    assert reattach.status_code == 422
    assert await company_state(client, tenant) == ("free", "cancelled")
    assert await customer_of(tenant) == customer


async def test_a_tenant_cannot_claim_a_customer_to_take_its_upgrade(
    client: httpx.AsyncClient,
) -> None:
    payer, customer = await billed_company(client)
    claimant = await make_company(client)
    claim = await client.patch(
        "/v1/company", json={"billing_customer_id": customer}, headers=claimant.owner.headers
    )
    assert claim.status_code == 422
    await deliver(client, event(customer, plan="enterprise"))
    assert await company_state(client, payer) == ("enterprise", "active")
    assert await company_state(client, claimant) == ("free", "active")


async def test_metadata_company_id_links_a_company_without_a_customer(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    customer = unique("cus")
    body = event(customer, "customer.subscription.created", metadata={"company_id": tenant.id})
    response = await deliver(client, body)
    assert response.json()["outcome"] == "applied"
    assert customer in response.json()["reason"]
    assert await customer_of(tenant) == customer
    assert await company_state(client, tenant) == ("pro", "active")
    row = await stored(json.loads(body)["id"])
    assert (row["outcome"], row["company_id"]) == ("applied", tenant.id)
    # From then on the customer alone finds the company.
    await deliver(client, event(customer, "invoice.payment_failed"))
    assert await company_state(client, tenant) == ("pro", "past_due")


async def test_metadata_company_id_of_the_company_with_that_customer_applies(
    client: httpx.AsyncClient,
) -> None:
    tenant, customer = await billed_company(client)
    body = event(customer, plan="enterprise", metadata={"company_id": tenant.id})
    response = await deliver(client, body)
    assert (response.json()["outcome"], response.json()["reason"]) == ("applied", None)
    assert await company_state(client, tenant) == ("enterprise", "active")


async def test_metadata_company_id_wins_over_the_customer(client: httpx.AsyncClient) -> None:
    named, customer = await billed_company(client)
    other, other_customer = await billed_company(client)
    # The named company has another customer: ignored, though the customer is the other's.
    body = event(other_customer, plan="enterprise", metadata={"company_id": named.id})
    response = await deliver(client, body)
    assert response.json()["outcome"] == "ignored"
    row = await stored(json.loads(body)["id"])
    assert (row["outcome"], row["company_id"]) == ("ignored", named.id)
    assert "another billing customer" in row["reason"]
    assert await company_state(client, named) == ("free", "active")
    assert await company_state(client, other) == ("free", "active")
    assert (await customer_of(named), await customer_of(other)) == (customer, other_customer)


async def test_a_named_company_with_another_customer_ignores_the_event(
    client: httpx.AsyncClient,
) -> None:
    tenant, customer = await billed_company(client, plan="enterprise")
    stranger = unique("cus")
    body = event(stranger, "customer.subscription.deleted", metadata={"company_id": tenant.id})
    response = await deliver(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert "another billing customer" in response.json()["reason"]
    assert await company_state(client, tenant) == ("enterprise", "active")
    assert await customer_of(tenant) == customer


async def test_a_customer_of_another_company_is_not_linked_to_the_named_one(
    client: httpx.AsyncClient,
) -> None:
    holder, customer = await billed_company(client)
    named = await make_company(client)
    body = event(customer, plan="enterprise", metadata={"company_id": named.id})
    response = await deliver(client, body)
    assert response.json()["outcome"] == "ignored"
    row = await stored(json.loads(body)["id"])
    assert (row["company_id"], "linked to another company" in row["reason"]) == (named.id, True)
    assert await customer_of(named) is None
    assert await company_state(client, named) == ("free", "active")
    assert await company_state(client, holder) == ("free", "active")


@pytest.mark.parametrize(
    "company_id",
    [
        "01900000-0000-7000-8000-000000000000",
        "not-a-company",
        "",
        "x" * 10_000,
        42,
        ["a list"],
        {"id": "an object"},
        True,
    ],
    ids=["unknown", "malformed", "empty", "huge", "number", "list", "object", "boolean"],
)
async def test_metadata_company_id_that_is_not_one_of_ours_is_recorded_as_ignored(
    client: httpx.AsyncClient, company_id: object
) -> None:
    tenant, customer = await billed_company(client)
    body = event(customer, plan="enterprise", metadata={"company_id": company_id})
    response = await deliver(client, body)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    row = await stored(json.loads(body)["id"])
    assert (row["outcome"], row["company_id"]) == ("ignored", None)
    assert "is not one of our companies" in row["reason"]
    assert len(row["reason"]) < 200
    assert await company_state(client, tenant) == ("free", "active")


async def test_a_named_company_is_not_linked_by_an_event_without_a_customer(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    body = event(None, plan="enterprise", metadata={"company_id": tenant.id})
    response = await deliver(client, body)
    assert (response.json()["outcome"], response.json()["reason"]) == (
        "ignored",
        "the event names no customer",
    )
    assert (await stored(json.loads(body)["id"]))["company_id"] == tenant.id
    assert await company_state(client, tenant) == ("free", "active")


@pytest.mark.parametrize(
    ("type_", "plan"),
    [("charge.refunded", "pro"), ("customer.subscription.updated", "platinum")],
    ids=["a type we do not act on", "an unknown plan"],
)
async def test_an_event_that_does_not_apply_links_no_customer(
    client: httpx.AsyncClient, type_: str, plan: str
) -> None:
    tenant = await make_company(client)
    body = event(unique("cus"), type_, plan=plan, metadata={"company_id": tenant.id})
    response = await deliver(client, body)
    assert response.json()["outcome"] == "ignored"
    assert (await stored(json.loads(body)["id"]))["company_id"] == tenant.id
    assert await customer_of(tenant) is None


async def test_a_stale_event_links_no_customer(client: httpx.AsyncClient) -> None:
    from tests.conftest import ADMIN_TOKEN

    tenant, customer = await billed_company(client)
    now = int(time.time())
    await deliver(client, event(customer, plan="enterprise", created=now))
    unlink = await client.patch(
        f"/admin/v1/companies/{tenant.id}",
        json={"billing_customer_id": None},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert unlink.status_code == 200
    late = event(unique("cus"), plan="pro", created=now - 30, metadata={"company_id": tenant.id})
    response = await deliver(client, late)
    assert response.json()["outcome"] == "stale"
    assert await customer_of(tenant) is None
    assert await company_state(client, tenant) == ("enterprise", "active")


async def test_an_unlinked_customers_events_are_ignored(client: httpx.AsyncClient) -> None:
    from tests.conftest import ADMIN_TOKEN

    tenant, customer = await billed_company(client, plan="pro")
    await client.patch(
        f"/admin/v1/companies/{tenant.id}",
        json={"billing_customer_id": None},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    response = await deliver(client, event(customer, "customer.subscription.deleted"))
    assert response.json()["outcome"] == "ignored"
    assert await company_state(client, tenant) == ("pro", "active")


async def test_concurrent_events_linking_one_company_link_it_once(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    customers = [unique("cus") for _ in range(4)]
    bodies = [event(c, metadata={"company_id": tenant.id}) for c in customers]
    responses = await asyncio.gather(*[deliver(client, body) for body in bodies])
    assert [r.status_code for r in responses] == [200] * 4
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["applied", "ignored", "ignored", "ignored"]
    (winner,) = [
        c for c, r in zip(customers, responses, strict=True) if r.json()["outcome"] == "applied"
    ]
    assert await customer_of(tenant) == winner


async def test_concurrent_events_linking_one_customer_to_two_companies_link_one(
    client: httpx.AsyncClient,
) -> None:
    first, second = await make_company(client), await make_company(client)
    customer = unique("cus")
    bodies = [event(customer, metadata={"company_id": t.id}) for t in (first, second)]
    responses = await asyncio.gather(*[deliver(client, body) for body in bodies])
    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["outcome"] for r in responses) == ["applied", "ignored"]
    linked = [await customer_of(t) for t in (first, second)]
    assert sorted(linked, key=str) == sorted([customer, None], key=str)


# Exactly once ---------------------------------------------------------------


async def test_a_redelivered_event_changes_nothing_again(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    first_body = event(customer, plan="pro", created=int(time.time()) - 100)
    await deliver(client, first_body)
    await deliver(client, event(customer, "invoice.payment_failed", created=int(time.time()) - 50))
    again = await deliver(client, first_body)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert await company_state(client, tenant) == ("pro", "past_due")
    assert (await stored(json.loads(first_body)["id"]))["deliveries"] == 2


async def test_an_older_event_does_not_overwrite_newer_state(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    now = int(time.time())
    await deliver(client, event(customer, plan="enterprise", created=now))
    late = event(customer, plan="pro", status="past_due", created=now - 30)
    response = await deliver(client, late)
    assert response.json()["outcome"] == "stale"
    assert await company_state(client, tenant) == ("enterprise", "active")
    assert (await stored(json.loads(late)["id"]))["outcome"] == "stale"


async def test_concurrent_deliveries_of_one_event_apply_it_once(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    body = event(customer, plan="pro")
    responses = await asyncio.gather(*[deliver(client, body) for _ in range(6)])
    assert [r.status_code for r in responses] == [200] * 6
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 5
    async with db.transaction() as tx:
        version = await tx.connection.fetchval(
            "SELECT version FROM companies WHERE id = $1", tenant.id
        )
    assert version == 2  # created at 1, changed once
    assert (await stored(json.loads(body)["id"]))["deliveries"] == 6


async def test_the_new_plan_is_seen_by_the_next_request(client: httpx.AsyncClient) -> None:
    tenant, customer = await billed_company(client)
    before = await client.get("/v1/company", headers=tenant.owner.headers)
    await deliver(client, event(customer, plan="enterprise"))
    after = await client.get("/v1/company", headers=tenant.owner.headers)
    assert before.json()["plan"] == "free"
    assert after.json()["plan"] == "enterprise"
    assert after.headers["ratelimit-policy"] != before.headers["ratelimit-policy"]


# The operator's audit view -----------------------------------------------------


async def test_the_operator_lists_events_with_their_outcomes(client: httpx.AsyncClient) -> None:
    from tests.conftest import ADMIN_TOKEN

    tenant, customer = await billed_company(client)
    applied = event(customer, plan="pro")
    await deliver(client, applied)
    await deliver(client, applied)
    await deliver(client, event(customer, "charge.refunded"))
    response = await client.get(
        f"/admin/v1/billing-events?company_id={tenant.id}",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [(r["type"], r["outcome"], r["deliveries"]) for r in rows] == [
        ("charge.refunded", "ignored", 1),
        ("customer.subscription.updated", "applied", 2),
    ]


async def test_tenants_never_see_billing_events(client: httpx.AsyncClient) -> None:
    tenant, _ = await billed_company(client)
    response = await client.get("/admin/v1/billing-events", headers=tenant.owner.headers)
    assert response.status_code == 401
