"""Bad input is a 4xx problem, never a 500: one test per class of input, over several
members of the class (the fuzzing in `test_fuzz.py` samples the rest)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from tests.conftest import STRIPE_SECRET
from tests.factories import Tenant, make_company, make_contact, make_deal, make_task
from tests.gateway.test_problems import assert_problem

YEAR_0_IN_UTC = "0001-01-01T00:00:00+14:00"
YEAR_10000_IN_UTC = "9999-12-31T23:59:59-14:00"
# The first and last microseconds too: the database driver would store them as
# -infinity and infinity, and read them back without a zone.
OUT_OF_TIME = [
    YEAR_0_IN_UTC,
    YEAR_10000_IN_UTC,
    "0001-01-01T09:59:59+10:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T10:00:00+10:00",
    "9999-12-31T23:59:59.999999Z",
]
EDGES_OF_TIME = [
    "0001-01-01T00:00:00.000001Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999998Z",
    "0001-01-01T10:00:01+10:00",
]


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


def fields_of(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


def forged_cursor(sort: str, value: Any, last_id: str) -> str:
    raw = json.dumps([sort, value, last_id]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Bodies the JSON reader cannot read


def nested(depth: int, kind: str) -> bytes:
    if kind == "arrays":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("kind", ["arrays", "objects"])
@pytest.mark.parametrize("depth", [1_500, 100_000])
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/contacts"), ("PATCH", "/v1/company"), ("POST", "/v1/tasks")]
)
async def test_json_nested_too_deeply_is_400(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, depth: int, kind: str
) -> None:
    body = b'{"first_name": ' + nested(depth, kind) + b"}"
    headers = {**tenant.owner.headers, "Content-Type": "application/json"}
    response = await client.request(method, path, content=body, headers=headers)
    assert_problem(response, 400, "bad_request")


async def test_json_nested_too_deeply_with_a_nul_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # The NUL check reads the body before the handler does: it refuses it the same way.
    body = b'{"first_name": "\\u0000", "tags": ' + nested(50_000, "arrays") + b"}"
    headers = {**tenant.owner.headers, "Content-Type": "application/json"}
    response = await client.post("/v1/contacts", content=body, headers=headers)
    assert_problem(response, 400, "bad_request")


@pytest.mark.parametrize(
    "body",
    [
        b'{"first_name": "\xff"}',
        b'{"first_name": "\xc3"}',  # a sequence cut short
        b'{"first_name": "\xed\xa0\x80"}',  # an encoded surrogate
        b'{"first_name": "\\u0000\xfe"}',  # with a NUL: read by the NUL check first
        b'{"\xff": 1}',
    ],
)
async def test_a_body_that_is_not_utf8_is_400(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes
) -> None:
    headers = {**tenant.owner.headers, "Content-Type": "application/json"}
    response = await client.post("/v1/contacts", content=body, headers=headers)
    assert_problem(response, 400, "bad_request")


# JSON's own types: a value that fits the schema only by conversion is refused


@pytest.mark.parametrize(
    ("field", "value"),
    [("done", 0), ("done", 1), ("done", "true"), ("title", 5), ("due_at", 1700000000)],
)
async def test_a_body_value_of_another_json_type_is_422_naming_it_before_if_match(
    client: httpx.AsyncClient, tenant: Tenant, field: str, value: object
) -> None:
    task = await make_task(tenant.owner)
    # An If-Match that cannot match: the body's fault is told first, and nothing changes.
    headers = {**tenant.owner.headers, "If-Match": '"999"'}
    response = await client.patch(f"/v1/tasks/{task['id']}", json={field: value}, headers=headers)
    assert_problem(response, 422, "validation_failed")
    assert fields_of(response) == [field]
    created = await client.post(
        "/v1/tasks", json={"title": "t", field: value}, headers=tenant.owner.headers
    )
    if field != "title":
        assert_problem(created, 422, "validation_failed")
        assert fields_of(created) == [field]
    after = await client.get(f"/v1/tasks/{task['id']}", headers=tenant.owner.headers)
    assert after.json()["version"] == task["version"]


# Timestamps at the edges of time


@pytest.mark.parametrize("value", OUT_OF_TIME)
async def test_a_body_timestamp_outside_years_1_to_9999_in_utc_is_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    headers = tenant.owner.headers
    task = await make_task(tenant.owner)
    for response, field in [
        (await client.post("/v1/tasks", json={"title": "t", "due_at": value}, headers=headers), "due_at"),
        (await client.patch(f"/v1/tasks/{task['id']}", json={"due_at": value}, headers=headers), "due_at"),
        (await client.post("/v1/api-keys", json={"name": "k", "expires_at": value}, headers=headers), "expires_at"),
    ]:  # fmt: skip
        assert_problem(response, 422, "validation_failed")
        assert fields_of(response) == [field]


@pytest.mark.parametrize("value", EDGES_OF_TIME)
async def test_a_body_timestamp_at_the_edges_of_time_is_kept_in_utc(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.post(
        "/v1/tasks", json={"title": "t", "due_at": value}, headers=tenant.owner.headers
    )
    assert response.status_code == 201, response.text
    expected = datetime.fromisoformat(value).astimezone(UTC)
    assert datetime.fromisoformat(response.json()["due_at"]) == expected
    listed = await client.get(
        "/v1/tasks", params={"sort": "due_at", "limit": 1}, headers=tenant.owner.headers
    )
    assert listed.status_code == 200, listed.text


@pytest.mark.parametrize("value", OUT_OF_TIME)
async def test_a_time_filter_outside_years_1_to_9999_in_utc_is_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.get(
        "/v1/tasks", params={"due_before": value}, headers=tenant.owner.headers
    )
    assert_problem(response, 422, "validation_failed")
    assert fields_of(response) == ["due_before"]


@pytest.mark.parametrize(
    "value",
    ["0.5", "0", "1700000000", "-1", "1e300", "2031-01-01", "2031-01-01T09:00:00", "now", ""],
)
async def test_a_time_filter_must_be_rfc3339_with_a_zone(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.get(
        "/v1/tasks", params={"due_before": value}, headers=tenant.owner.headers
    )
    assert_problem(response, 422, "validation_failed")
    assert fields_of(response) == ["due_before"]


@pytest.mark.parametrize("value", EDGES_OF_TIME)
async def test_a_time_filter_at_the_edges_of_time_is_read(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.get(
        "/v1/tasks", params={"due_before": value}, headers=tenant.owner.headers
    )
    assert response.status_code == 200, response.text


def test_no_route_reads_a_time_from_the_query_string_leniently(app: Litestar) -> None:
    # The framework reads `datetime` query parameters leniently (`0.5` is 1970):
    # every time in a query string is a `TimestampQuery`, read strictly.
    lenient = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for name, parameter in handler.parsed_fn_signature.parameters.items():
                types = [parameter.annotation, *(t.annotation for t in parameter.inner_types)]
                if datetime in types:
                    lenient.append(f"{handler.handler_name}({name})")
    assert lenient == []


# Cursors holding what no row holds


@pytest.mark.parametrize("value", [YEAR_0_IN_UTC, YEAR_10000_IN_UTC, "10000-01-01T00:00:00+00:00"])
async def test_a_cursor_timestamp_outside_years_1_to_9999_is_400(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    contact = await make_contact(tenant.owner)
    for path, sort in [("/v1/contacts", "-created_at"), ("/v1/tasks", "due_at")]:
        response = await client.get(
            path,
            params={"sort": sort, "cursor": forged_cursor(sort, value, contact["id"])},
            headers=tenant.owner.headers,
        )
        assert_problem(response, 400, "bad_request")


@pytest.mark.parametrize(
    "value",
    ["1e999999", "-1e999999", "NaN", "sNaN", "Infinity", "-Infinity", "9" * 5000, "1" + "0" * 16],
)
async def test_a_cursor_amount_no_deal_can_have_is_400(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    deal = await make_deal(tenant.owner, amount="10.00", currency="USD")
    response = await client.get(
        "/v1/deals",
        params={"sort": "amount", "cursor": forged_cursor("amount", value, deal["id"])},
        headers=tenant.owner.headers,
    )
    assert_problem(response, 400, "bad_request")


@pytest.mark.parametrize("raw", [b"1e999", b"-1e999", b"9" * 5000, b"1" + b"0" * 400])
async def test_a_cursor_rank_no_search_can_have_is_400(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    contact = await make_contact(tenant.owner, first_name="Ranked")
    cursor_json = b'["-relevance", ' + raw + b', "' + contact["id"].encode() + b'"]'
    cursor = base64.urlsafe_b64encode(cursor_json).rstrip(b"=").decode()
    response = await client.get(
        "/v1/contacts", params={"q": "ranked", "cursor": cursor}, headers=tenant.owner.headers
    )
    assert_problem(response, 400, "bad_request")


@pytest.mark.parametrize("path", ["/v1/contacts", "/v1/deals", "/v1/tasks", "/v1/teams"])
@pytest.mark.parametrize("sort", ["", " ", "-", "created_at "])
async def test_a_sort_that_names_no_order_is_422_even_when_empty(
    client: httpx.AsyncClient, tenant: Tenant, path: str, sort: str
) -> None:
    response = await client.get(path, params={"sort": sort}, headers=tenant.owner.headers)
    assert_problem(response, 422, "validation_failed")
    assert fields_of(response) == ["sort"]


# Patterns end where the text ends, and digits are ASCII


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/deals", {"title": "t", "amount": "12\n", "currency": "USD"}, "amount"),
        ("/v1/deals", {"title": "t", "amount": "\u0661\u0662", "currency": "USD"}, "amount"),
        ("/v1/deals", {"title": "t", "amount": "\uff11\uff12", "currency": "USD"}, "amount"),
        ("/v1/deals", {"title": "t", "amount": "12", "currency": "USD\n"}, "currency"),
        ("/v1/contacts", {"email": "a@example.com\n"}, "email"),
        ("/v1/agents", {"email": "b@example.com\n", "name": "n", "role": "agent"}, "email"),
    ],
)
async def test_a_trailing_newline_or_another_scripts_digits_break_a_pattern(
    client: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, str], field: str
) -> None:
    response = await client.post(path, json=body, headers=tenant.owner.headers)
    assert_problem(response, 422, "validation_failed")
    assert fields_of(response) == [field]


async def test_a_default_region_with_a_trailing_newline_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        "/v1/company", json={"default_region": "US\n"}, headers=tenant.owner.headers
    )
    assert_problem(response, 422, "validation_failed")
    assert fields_of(response) == ["default_region"]


# Search and folded text


@pytest.mark.parametrize(
    "word",
    [
        "a" * 2048,  # one byte over PostgreSQL's longest lexeme
        "é" * 1024,  # 2048 bytes in UTF-8, 1024 characters
        "\ufdfa" * 120,  # folds to 18 letters per character
        "ß" * 1100,  # folds to twice its length
    ],
)
async def test_a_search_word_longer_than_any_lexeme_finds_nothing(
    client: httpx.AsyncClient, tenant: Tenant, word: str
) -> None:
    await make_contact(tenant.owner, first_name="Findable")
    for q in [word, f"findable {word}"]:
        response = await client.get("/v1/contacts", params={"q": q}, headers=tenant.owner.headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == []


@pytest.mark.parametrize(
    "name", ["\ufb03" * 200, "ß" * 200, "\ufdfa" * 200, "İ" * 200]
)  # ﬃ -> ffi, ß -> ss, ﷺ -> 18 letters, İ -> i + a combining dot
async def test_a_name_that_grows_when_folded_is_stored_and_found(
    client: httpx.AsyncClient, tenant: Tenant, name: str
) -> None:
    headers = tenant.owner.headers
    response = await client.post(
        "/v1/contacts", json={"first_name": name, "last_name": name}, headers=headers
    )
    assert response.status_code == 201, response.text
    contact = response.json()
    assert contact["full_name"] == f"{name} {name}"
    patched = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"last_name": name[:100]}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    found = await client.get("/v1/contacts", params={"q": name[:5]}, headers=headers)
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["data"]] == [contact["id"]]


# Headers


@pytest.mark.parametrize(
    "tag",
    [
        b'"' + b"9" * 5000 + b'"',
        b'"' + b"1" * 4301 + b'"',
        b'"2147483648"',
        b'"\xb2"',  # superscript two: a digit to Python, not a version
        b'"\xb9\xb2\xb3"',
        '"١٢"'.encode(),  # Arabic-Indic digits, as UTF-8 bytes
        b'W/"1"',
    ],
)
async def test_an_if_match_that_cannot_be_a_version_is_412(
    client: httpx.AsyncClient, tenant: Tenant, tag: bytes
) -> None:
    contact = await make_contact(tenant.owner)
    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"first_name": "Changed"},
        headers=[*httpx.Headers(tenant.owner.headers).raw, (b"If-Match", tag)],
    )
    assert_problem(response, 412, "precondition_failed")


def stripe_signature(body: bytes, at: str) -> str:
    signature = hmac.new(
        STRIPE_SECRET.encode(), at.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"t={at},v1={signature}"


def event_body(created: object) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{time.time_ns()}",
            "type": "invoice.paid",
            "created": created,
            "data": {"object": {"customer": "cus_nobody"}},
        }
    ).encode()


@pytest.mark.parametrize(
    "at",
    [
        "9" * 5000,  # over int()'s 4300 digits
        "1" * 13,
        "\xb9\xb2\xb3",  # superscript digits, which int() reads
        "1.7e9",
        " 1",
        "-1",
    ],
)
async def test_a_stripe_signature_timestamp_that_is_not_unix_seconds_is_400(
    client: httpx.AsyncClient, at: str
) -> None:
    body = event_body(int(time.time()))
    # Signed with the right secret over that very timestamp: only its form is wrong.
    header = stripe_signature(body, at).encode("latin-1")
    response = await client.post(
        "/webhooks/payments", content=body, headers=[(b"Stripe-Signature", header)]
    )
    assert_problem(response, 400, "invalid_signature")


@pytest.mark.parametrize("at", ["9" * 5000, "\xb9\xb2\xb3", "1.7e9", "nan", "inf", "0x10"])
async def test_a_webhook_timestamp_that_is_not_unix_seconds_is_400(
    client: httpx.AsyncClient, at: str
) -> None:
    headers = [
        (b"webhook-id", b"msg_1"),
        (b"webhook-timestamp", at.encode("latin-1")),
        (b"webhook-signature", b"v1,AAAA"),
    ]
    response = await client.post("/webhooks/payments", content=event_body(1), headers=headers)
    assert_problem(response, 400, "invalid_signature")


@pytest.mark.parametrize("created", [-1, 253_402_300_800, 10**30, -(10**30), 1e300, "soon"])
async def test_a_signed_event_whose_created_no_clock_can_show_is_400(
    client: httpx.AsyncClient, created: object
) -> None:
    body = event_body(created)
    response = await client.post(
        "/webhooks/payments",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body, str(int(time.time())))},
    )
    assert_problem(response, 400, "bad_request")


@pytest.mark.parametrize("body", [b"[" * 50_000 + b"]" * 50_000, b'{"id": "\xff"}'])
async def test_a_signed_event_that_is_not_readable_json_is_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/webhooks/payments",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body, str(int(time.time())))},
    )
    assert_problem(response, 400, "bad_request")


def test_event_times_span_the_timestamps_a_record_can_hold() -> None:
    from crm.billing.schemas import LAST_UNIX_SECOND, Event

    last = datetime.fromtimestamp(LAST_UNIX_SECOND, UTC)
    assert last == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    event = {"id": "evt_1", "type": "t", "created": LAST_UNIX_SECOND, "data": {"object": {}}}
    assert msgspec.convert(event, Event).created == LAST_UNIX_SECOND
