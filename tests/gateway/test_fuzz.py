"""Fuzzing the app in process: raw bodies, headers and query strings never answer 5xx,
and every error is a problem+json.

Hypothesis writes the bytes itself (not through a schema, as schemathesis does):
JSON nested to any depth, numbers no float holds, bytes that are not UTF-8, lone
surrogates, NUL, timestamps at the edges of time with far offsets, If-Match and
Idempotency-Key of any length and script, bearer tokens with non-ASCII bytes,
signature headers whose timestamps are thousands of digits or in other scripts,
and every query parameter of every operation in the OpenAPI document (forged
cursors included). Header values stay within what HTTP/1.1 can carry (no NUL, CR
or LF: the HTTP parser refuses those before the app sees them).

`CRM_FUZZ_EXAMPLES` sets the examples per test (default 250, under a minute for
the whole file); e.g. `CRM_FUZZ_EXAMPLES=5000 ./dev test tests/gateway/test_fuzz.py -s`
for a long run. With `-s` each test prints how many requests it made and what
statuses came back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADMIN_TOKEN, STANDARD_SECRET, STRIPE_SECRET
from tests.factories import Tenant, make_agent, make_company, make_contact, make_deal, make_task
from tests.factories import make_team as make_team_id

# Bodies of hundreds of kilobytes make long reprs; Hypothesis warns, and that is fine.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "250"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}

DOCUMENT = json.loads(
    (Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text(encoding="utf-8")
)


def _operations() -> list[tuple[str, str, list[str]]]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "patch", "delete"):
                query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
                found.append((method.upper(), path, query))
    return found


def _body_fields() -> dict[tuple[str, str], list[str]]:
    """The properties of each operation's request body, from the document."""
    schemas = DOCUMENT["components"]["schemas"]
    found = {}
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            if ref:
                properties = schemas[ref.rsplit("/", 1)[-1]].get("properties", {})
                found[(method.upper(), path)] = sorted(properties)
    return found


OPERATIONS = _operations()
BODY_FIELDS = _body_fields()
V1_WRITES = [(m, p) for m, p, _ in OPERATIONS if p.startswith("/v1/") and m in ("POST", "PATCH")]
LISTS = [(p, q) for m, p, q in OPERATIONS if m == "GET" and q]
READS = [p for m, p, q in OPERATIONS if m == "GET" and not q]
FIELD_NAMES = sorted(
    {
        name
        for schema in DOCUMENT["components"]["schemas"].values()
        for name in schema.get("properties", {})
    }
)

# What each create takes at the least; the fuzzing changes or adds a field or two.
PLAUSIBLE: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/contacts"): {"first_name": "Fuzz"},
    ("POST", "/v1/deals"): {"title": "Fuzz", "amount": "1.00", "currency": "EUR"},
    ("POST", "/v1/tasks"): {"title": "Fuzz", "due_at": "2031-01-01T00:00:00Z"},
    ("POST", "/v1/teams"): {"name": "Fuzz"},
    ("POST", "/v1/agents"): {"email": "fuzz@example.com", "name": "Fuzz", "role": "agent"},
    ("POST", "/v1/api-keys"): {"name": "Fuzz"},
}

# Tallies of what the fuzzing sent and got, printed per test (see the docstring).
SEEN: Counter[str] = Counter()


# The records and credentials the fuzzed requests name


class Targets:
    def __init__(self, tenant: Tenant, ids: dict[str, str], other_key: str) -> None:
        self.tenant = tenant
        self.ids = ids
        self.other_key = other_key


@pytest.fixture(scope="module")
async def targets(client: httpx.AsyncClient) -> AsyncIterator[Targets]:
    tenant = await make_company(client, plan="enterprise")
    team_id = await make_team_id(tenant)
    # PATCH /v1/agents/{id} aims at this agent, never at the owner whose key fuzzes.
    agent = await make_agent(tenant, team_id=team_id)
    contact = await make_contact(tenant.owner, first_name="Fuzzy", tags=["a"])
    deal = await make_deal(tenant.owner, contact_id=contact["id"], amount="10.00", currency="EUR")
    task = await make_task(tenant.owner, contact_id=contact["id"], due_at="2031-01-01T00:00:00Z")
    ids = {
        "agent_id": agent.id,
        "contact_id": contact["id"],
        "deal_id": deal["id"],
        "task_id": task["id"],
        "team_id": team_id,
        "key_id": "00000000-0000-7000-8000-000000000000",
    }
    yield Targets(tenant, ids, agent.key)
    print(f"\nfuzzing: {SEEN.total()} requests (kind, status: count)")
    for key, count in sorted(SEEN.items()):
        print(f"  {key}: {count}")


# JSON written byte by byte, so that it may be wrong in every way


def _string(text: str, *, ascii_only: bool) -> bytes:
    # ensure_ascii=False with surrogatepass writes a lone surrogate as raw bytes:
    # not UTF-8. ensure_ascii=True writes it as a \\udXXX escape: valid JSON.
    return json.dumps(text, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


odd_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(exclude_categories=[]), max_size=30),  # surrogates too
    st.sampled_from(["\x00", "a\x00b", "\ud800", "\udfff", "\ufeff", "\u202e", "ß" * 300,
                     "\ufdfa" * 50, "\ufb03" * 300, "İ" * 250, "x" * 5000, "😀" * 100]),
)  # fmt: skip


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339 text, mostly at the edges of time, with offsets up to ±23:59."""
    year = draw(st.sampled_from([1, 2, 1969, 1970, 2026, 2038, 9998, 9999]) | st.integers(1, 9999))
    month, day = draw(st.sampled_from([(1, 1), (12, 31), (2, 29), (6, 15)]))
    hour, minute, second = draw(
        st.sampled_from([(0, 0, 0), (23, 59, 59), (23, 59, 60), (12, 0, 0)])
    )
    fraction = draw(st.sampled_from(["", ".000001", ".999999", ".5"]))
    zone = draw(
        st.sampled_from(["Z", "z", "+00:00", "-00:00", "+14:00", "-14:00", "+23:59", "-23:59", ""])
    )
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


numbers = st.one_of(
    st.integers().map(lambda i: str(i).encode()),
    st.integers(min_value=-(2**80), max_value=2**80).map(lambda i: str(i).encode()),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: json.dumps(f).encode()),
    st.sampled_from(
        [b"1e999999", b"-1e999999", b"1E400", b"-0", b"0.5", b"9" * 5000, b"1" + b"0" * 400,
         b"2147483648", b"9223372036854775808", b"-9223372036854775809", b"NaN", b"Infinity"]
    ),
)  # fmt: skip

leaves = st.one_of(
    st.just(b"null"),
    st.booleans().map(lambda b: b"true" if b else b"false"),
    numbers,
    odd_text.map(lambda t: _string(t, ascii_only=True)),
    odd_text.map(lambda t: _string(t, ascii_only=False)),
    timestamps().map(lambda t: _string(t, ascii_only=True)),
    st.binary(max_size=12).map(lambda b: b'"' + b.replace(b'"', b"").replace(b"\\", b"") + b'"'),
)

keys = st.sampled_from(FIELD_NAMES) | odd_text


def _array(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"


def _object(pairs: dict[bytes, bytes]) -> bytes:
    return b"{" + b",".join(k + b":" + v for k, v in pairs.items()) + b"}"


values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4).map(_array)
        | st.dictionaries(keys.map(lambda k: _string(k, ascii_only=True)), inner, max_size=4).map(
            _object
        )
    ),
    max_leaves=12,
)


@st.composite
def deep(draw: st.DrawFn) -> bytes:
    depth = draw(st.integers(1, 3) | st.sampled_from([64, 500, 999, 1000, 1001, 5000, 200_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'[{"b":', b"}]")]))
    middle = draw(leaves)
    closed = draw(st.booleans())
    return opener * depth + middle + (closer * depth if closed else b"")


bodies = st.one_of(
    # An object of the API's own field names: the likeliest to reach a service.
    st.dictionaries(
        st.sampled_from(FIELD_NAMES).map(lambda k: _string(k, ascii_only=True)),
        values,
        max_size=6,
    ).map(_object),
    st.builds(lambda name, inner: b'{"' + name.encode() + b'":' + inner + b"}",
              st.sampled_from(FIELD_NAMES), deep()),
    values,
    deep(),
    st.binary(max_size=64),
)  # fmt: skip


# Headers as bytes that HTTP/1.1 can carry: visible ASCII, Latin-1 bytes, space, tab


header_bytes = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c == 9 or 32 <= c <= 126 or c >= 128).strip()
)
# Arabic-Indic, Persian, Devanagari, Thai, fullwidth, superscript and NKo digits.
other_digits = st.sampled_from(
    [
        "\u0661\u0662",
        "\u06f1\u06f2",
        "\u0967\u0968",
        "\u0e51\u0e52",
        "\uff11\uff12",
        "\xb9\xb2",
        "\u07c1\u07c2",
    ]
)


@st.composite
def if_match(draw: st.DrawFn) -> bytes:
    digits = draw(
        st.integers(0, 2**40).map(str)
        | st.integers(1, 6000).map(lambda n: "9" * n)
        | other_digits
        | st.just("*")
    )
    quoted = draw(st.sampled_from(['"{}"', "{}", 'W/"{}"', '"{}', ' "{}" ', '"{}", "1"']))
    return quoted.format(digits).encode("utf-8") if draw(st.booleans()) else draw(header_bytes)


idempotency_keys = st.one_of(
    st.integers(0, 300).map(lambda n: b"k" * n),
    header_bytes,
    st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass").strip()),
)


def _clean(value: bytes) -> bytes:
    """What HTTP/1.1 can carry in a header value."""
    return bytes(c for c in value if c == 9 or 32 <= c <= 126 or c >= 128).strip()


@st.composite
def write_headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    content_type = draw(
        st.sampled_from([b"application/json", b"application/json; charset=utf-16", b"text/plain",
                         b"multipart/form-data; boundary=x", b"application/x-www-form-urlencoded"])
        | header_bytes
    )  # fmt: skip
    headers = [(b"Content-Type", content_type)] if content_type else []
    if draw(st.booleans()):
        headers.append((b"If-Match", _clean(draw(if_match()))))
    if draw(st.booleans()):
        headers.append((b"Idempotency-Key", _clean(draw(idempotency_keys))))
    return headers


# Query strings


def forged_cursor(value: bytes, sort: str, last_id: str) -> str:
    raw = (
        b"["
        + _string(sort, ascii_only=True)
        + b","
        + value
        + b","
        + json.dumps(last_id).encode()
        + b"]"
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # fmt: skip


SORTS = ["-created_at", "created_at", "amount", "-amount", "due_at", "updated_at",
         "expected_close_date", "next_task_due_at", "-relevance", "-received_at"]  # fmt: skip


@st.composite
def query_values(draw: st.DrawFn, ids: dict[str, str]) -> bytes:
    kind = draw(st.integers(0, 6))
    if kind == 0:  # text of any script, NUL included, percent-encoded as UTF-8
        text = draw(odd_text).encode("utf-8", "surrogatepass")
        return quote_from_bytes(text, safe="").encode()
    if kind == 1:  # bytes that are not UTF-8
        return quote_from_bytes(draw(st.binary(max_size=20)), safe="").encode()
    if kind == 2:
        return quote(draw(timestamps())).encode()
    if kind == 3:
        return draw(numbers).replace(b"+", b"%2B")
    if kind == 4:  # a cursor of our shape holding what no row holds
        value = draw(numbers | timestamps().map(lambda t: _string(t, ascii_only=True)) | leaves)
        last_id = draw(st.sampled_from([*ids.values(), "x"]))
        return forged_cursor(value, draw(st.sampled_from(SORTS)), last_id).encode()
    if kind == 5:
        return draw(st.sampled_from([*ids.values(), *SORTS, "true", "false", "0", "201"])).encode()
    return draw(st.sampled_from([b"", b"%", b"%zz", b"%00", b"%FF%FE", b"+", b"&", b"="]))


@st.composite
def query_strings(draw: st.DrawFn, names: list[str], ids: dict[str, str]) -> bytes:
    chosen = draw(st.lists(st.sampled_from(names), max_size=4))
    parts = [name.encode() + b"=" + draw(query_values(ids)) for name in chosen]
    return b"&".join(parts)


def _path(template: str, ids: dict[str, str], fuzzed: str | None) -> str:
    path = template
    for name, value in ids.items():
        encoded = fuzzed.encode("utf-8", "surrogatepass") if fuzzed else b""
        path = path.replace("{" + name + "}", quote_from_bytes(encoded, safe="") or value)
    return path


# What every answer must be


def check(response: httpx.Response, kind: str, what: str) -> None:
    SEEN[f"{kind}, {response.status_code}"] += 1
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", what
        problem = response.json()
        assert set(problem) >= PROBLEM_KEYS, what
        assert problem["status"] == response.status_code, what
        if response.headers.get("idempotent-replayed") != "true":
            # A replay repeats the first answer, request id included.
            assert problem["request_id"] == response.headers["x-request-id"], what


# The tests


@FUZZ
@given(data=st.data())
async def test_fuzzed_bodies_and_write_headers_never_answer_5xx(
    client: httpx.AsyncClient, targets: Targets, data: st.DataObject
) -> None:
    method, template = data.draw(st.sampled_from(V1_WRITES), label="operation")
    fuzzed_id = data.draw(st.none() | odd_text.filter(lambda t: "/" not in t), label="path id")
    path = _path(template, targets.ids, fuzzed_id)
    if data.draw(st.booleans(), label="plausible"):
        # A body the route would take, but for one or two fields: these reach the
        # services and the database, where odd values used to turn into 500s.
        pairs = {_string(k, ascii_only=True): json.dumps(v).encode()
                 for k, v in PLAUSIBLE.get((method, template), {}).items()}  # fmt: skip
        own = st.sampled_from(BODY_FIELDS.get((method, template), FIELD_NAMES))
        pairs |= data.draw(st.dictionaries(own.map(lambda k: _string(k, ascii_only=True)),
                                           leaves, min_size=1, max_size=2), label="fields")  # fmt: skip
        body = _object(pairs)
    else:
        body = data.draw(bodies, label="body")
    headers = [*data.draw(write_headers(), label="headers"), *_bearer(targets)]
    response = await client.request(method, path, content=body, headers=headers)
    check(response, "bodies", f"{method} {path} {body[:200]!r} {headers}")


@FUZZ
@given(data=st.data())
async def test_fuzzed_query_strings_never_answer_5xx(
    client: httpx.AsyncClient, targets: Targets, data: st.DataObject
) -> None:
    path, names = data.draw(st.sampled_from(LISTS), label="list")
    query = data.draw(query_strings(names, targets.ids), label="query")
    headers = _bearer(targets)
    if path.startswith("/admin/"):
        headers = [(b"Authorization", f"Bearer {ADMIN_TOKEN}".encode())]
    response = await client.get(f"{path}?{query.decode()}", headers=headers)
    check(response, "query strings", f"GET {path}?{query.decode()[:300]}")


@FUZZ
@given(data=st.data())
async def test_fuzzed_credentials_never_answer_5xx(
    client: httpx.AsyncClient, targets: Targets, data: st.DataObject
) -> None:
    path = data.draw(
        st.sampled_from(["/v1/me", "/v1/contacts", *[p for p in READS if "{" not in p]])
    )
    scheme = data.draw(st.sampled_from([b"Bearer ", b"bearer ", b"Basic ", b"", b"Bearer  "]))
    token = data.draw(
        header_bytes
        | st.text(max_size=70).map(lambda t: t.encode("utf-8", "surrogatepass"))
        | st.just(targets.tenant.owner.key.encode()).map(lambda k: k[:-1] + b"\xe9")
        | st.just(b"crm_" + "é".encode("latin-1") * 60)
    )
    header = _clean(scheme + token)
    response = await client.get(path, headers=[(b"Authorization", header)] if header else [])
    check(response, "credentials", f"GET {path} Authorization: {header!r}")


@FUZZ
@given(token=header_bytes.filter(lambda b: any(c >= 128 for c in b)))
async def test_fuzzed_admin_bearers_never_answer_5xx(
    client: httpx.AsyncClient, token: bytes
) -> None:
    response = await client.post(
        "/admin/v1/companies", json={}, headers=[(b"Authorization", b"Bearer " + token)]
    )
    check(response, "admin bearers", f"admin bearer {token!r}")


@FUZZ
@given(data=st.data())
async def test_fuzzed_payment_webhooks_never_answer_5xx(
    client: httpx.AsyncClient, data: st.DataObject
) -> None:
    scheme = data.draw(st.sampled_from(["stripe", "standard", "unsigned"]), label="scheme")
    # Half the deliveries are events signed right, now: they reach the decoder and
    # the billing service. The other half fuzz the body, the timestamp and the signature.
    created = st.integers(0, 253_402_300_799).map(lambda i: str(i).encode()) | numbers
    if data.draw(st.booleans(), label="well signed"):
        body = data.draw(st.builds(_event, created, st.sampled_from(EVENT_TYPES)), label="event")
        at, sign = str(int(time.time())), True
    else:
        events = st.builds(_event, created | timestamps().map(lambda t: _string(t, ascii_only=True)),
                           st.sampled_from(EVENT_TYPES))  # fmt: skip
        body = data.draw(events | bodies, label="body")
        at = data.draw(
            st.integers(-(10**12), 10**12).map(str)
            | st.integers(1, 6000).map(lambda n: "1" * n)
            | other_digits
            | st.sampled_from(["1.7e9", " 1", "0x10", "nan", "inf", "-0", ""]),
            label="timestamp",
        )
        sign = data.draw(st.booleans(), label="signed")
    headers: list[tuple[bytes, bytes]]
    if scheme == "stripe":
        mac = hmac.new(STRIPE_SECRET.encode(), at.encode() + b"." + body, hashlib.sha256)
        value = f"t={at},v1={mac.hexdigest() if sign else 'zz'}"
        headers = [(b"Stripe-Signature", _clean(value.encode()))]
    elif scheme == "standard":
        key = base64.b64decode(STANDARD_SECRET.removeprefix("whsec_"))
        signed = hmac.new(key, b"msg_1." + at.encode() + b"." + body, hashlib.sha256).digest()
        signature = "v1," + base64.b64encode(signed).decode() if sign else data.draw(odd_text)
        headers = [
            (b"webhook-id", b"msg_1"),
            (b"webhook-timestamp", _clean(at.encode())),
            (b"webhook-signature", _clean(signature.encode("utf-8", "surrogatepass"))),
        ]
    else:
        headers = [(data.draw(st.sampled_from([b"Stripe-Signature", b"webhook-signature"])),
                    data.draw(header_bytes))]  # fmt: skip
    response = await client.post("/webhooks/payments", content=body, headers=headers)
    check(response, "webhooks", f"webhook {scheme} {headers} {body[:200]!r}")


EVENT_TYPES = ["invoice.paid", "invoice.payment_failed", "customer.subscription.updated",
               "customer.subscription.deleted", "something.else"]  # fmt: skip


def _event(created: bytes, type_: str) -> bytes:
    return (
        b'{"id": "evt_' + str(time.time_ns()).encode() + b'", "type": "' + type_.encode() + b'", '
        b'"created": ' + created + b', "data": {"object": {"customer": "cus_fuzz", '
        b'"status": "active", "metadata": {"plan": "pro"}}}}'
    )


def _bearer(targets: Targets) -> list[tuple[bytes, bytes]]:
    return [(b"Authorization", f"Bearer {targets.tenant.owner.key}".encode())]


def test_the_fuzzing_covers_every_list_filter_and_every_write() -> None:
    # The operations come from the OpenAPI document: a new filter or route is fuzzed
    # without a change here. These are the ones the contract names today.
    filters = {name for _, names in LISTS for name in names}
    assert {
        "cursor",
        "limit",
        "sort",
        "q",
        "phone",
        "tag",
        "due_before",
        "done",
        "stage",
    } <= filters
    assert ("PATCH", "/v1/company") in V1_WRITES
    assert len(V1_WRITES) >= 12
