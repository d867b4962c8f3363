"""Every `/v1` route, read from the app itself, refuses a request without a credential (401)
and a key that lacks the route's scope (403 `insufficient_scope`).

Nothing here lists the routes or their scopes: a new route is swept as soon as the app
serves it. A route's scopes are found by asking it: the company's owner mints one key per
scope, each holding every scope but that one, and the route must refuse at least one of
those keys, naming the scope the key lacks. A route that checks no scope accepts them all
and fails here; one that checks another resource's scope shares no scope family (`deals`)
with the other routes of its collection, and fails too.

What a route is asked about exists, so that its answer comes from its scope check and not
from a missing record or a body it cannot read: a path parameter is the id of a record
created just before through the collection the parameter follows (`POST /v1/teams` for
`/v1/teams/{team_id}`), and a body is the smallest one the route's schema accepts.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from crm.ids import new_id
from crm.settings import Settings
from gateway.app import create_app
from tests.conftest import SECRET_KEY
from tests.factories import Member, make_company

PROBLEM = "application/problem+json"
PARAMETER = re.compile(r"\{[^}]+\}")
# The API contract: `/v1/me` answers any valid key, whatever its scopes.
OPEN_TO_EVERY_KEY = {("GET", "/v1/me")}
# Fields a rule needs that a schema cannot say (422 otherwise), added to the schema's minimum.
RULED_FIELDS: dict[str, dict[str, object]] = {
    "POST /v1/contacts": {"first_name": "Sweep"},  # a name, an email or a company name
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as the app declares it: `/v1/contacts/{contact_id:str}`
    handler: HTTPRouteHandler

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def body(self) -> Any:
        """The smallest body the route's schema accepts; None for a route that reads none."""
        data = self.handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            return None
        info = msgspec.inspect.type_info(data.annotation)
        assert isinstance(info, msgspec.inspect.StructType), f"{self}: body is not a struct"
        minimum = {f.encode_name: example(f.type) for f in info.fields if f.required}
        return {**minimum, **RULED_FIELDS.get(str(self), {})}


def example(info: msgspec.inspect.Type) -> Any:
    """A value that `info` accepts, for a required field of a request body; texts are
    unique, so that names and emails never clash with an earlier record's."""
    if isinstance(info, msgspec.inspect.Metadata):
        return example(info.type)
    if isinstance(info, msgspec.inspect.StrType):
        token = secrets.token_hex(4)
        for text in (f"Sweep {token}", f"sweep-{token}@example.com", "US", new_id()):
            if (
                len(text) >= (info.min_length or 0)
                and len(text) <= (info.max_length or len(text))
                and (info.pattern is None or re.search(info.pattern, text))
            ):
                return text
        raise AssertionError(f"no example text matches {info}: add one to `example`")
    if isinstance(info, msgspec.inspect.LiteralType):
        return info.values[0]
    if isinstance(info, msgspec.inspect.EnumType):
        return next(iter(info.cls)).value
    if isinstance(info, msgspec.inspect.BoolType):
        return False
    if isinstance(info, msgspec.inspect.UnionType):
        others = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        return example(others[0])
    raise AssertionError(f"the sweep cannot make an example of {info}: teach `example` it")


def v1_endpoints(app: Litestar) -> list[Endpoint]:
    return sorted(
        (
            Endpoint(method, route.path, handler)
            for route in app.routes
            if isinstance(route, HTTPRoute) and route.path.startswith("/v1/")
            for handler in route.route_handlers
            for method in handler.http_methods
            if method != "OPTIONS"  # the framework's own CORS preflight answer
        ),
        key=str,
    )


# Collected from an app of its own: the routes do not depend on the database.
ENDPOINTS = v1_endpoints(
    create_app(Settings(database_url="postgresql://collection-only", secret_key=SECRET_KEY))
)
CREATORS = {e.path: e for e in ENDPOINTS if e.method == "POST"}


def test_the_sweep_covers_every_v1_route_of_the_app_under_test(app: Litestar) -> None:
    assert [str(e) for e in v1_endpoints(app)] == [str(e) for e in ENDPOINTS]
    assert len(ENDPOINTS) > len(OPEN_TO_EVERY_KEY)
    assert {(e.method, e.path) for e in ENDPOINTS} >= OPEN_TO_EVERY_KEY


# 401 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_every_v1_route_answers_401_without_a_credential(
    client: httpx.AsyncClient, endpoint: Endpoint
) -> None:
    url = PARAMETER.sub(lambda _: new_id(), endpoint.path)
    response = await client.request(endpoint.method, url, json=endpoint.body())
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "unauthenticated"


# 403 ----------------------------------------------------------------------------------------


@dataclass
class Company:
    owner: Member
    keys: dict[str, str]  # scope -> a key of the owner with every scope but that one
    refusals: dict[str, set[str]] = field(default_factory=dict)  # endpoint -> scopes


@pytest.fixture(scope="module")
async def company(client: httpx.AsyncClient) -> Company:
    tenant = await make_company(client, plan="enterprise")
    me = await client.get("/v1/me", headers=tenant.owner.headers)
    every_scope = me.json()["api_key"]["scopes"]  # the bootstrap key has them all
    assert len(every_scope) > 1
    keys = {}
    for lacking in every_scope:
        response = await client.post(
            "/v1/api-keys",
            json={"name": f"without {lacking}", "scopes": [s for s in every_scope if s != lacking]},
            headers=tenant.owner.headers,
        )
        assert response.status_code == 201, response.text
        keys[lacking] = response.json()["key"]
    return Company(tenant.owner, keys)


async def url_of_records(client: httpx.AsyncClient, company: Company, path: str) -> str:
    """`path` with each parameter the id of a new record of the collection it follows."""
    url, done = "", 0
    for parameter in PARAMETER.finditer(path):
        collection = path[: parameter.start()].rstrip("/")
        creator = CREATORS.get(collection)
        assert creator is not None, f"no POST {collection} makes a record for {path}"
        url += path[done : parameter.start()].rstrip("/")
        response = await client.post(url, json=creator.body(), headers=company.owner.headers)
        assert response.status_code == 201, f"POST {collection}: {response.text}"
        # A record is named by its id, or by the field the parameter names (`{email}`).
        record = response.json()
        name = parameter.group(0)[1:].split(":")[0]
        url += "/" + str(record[name] if name in record else record["id"])
        done = parameter.end()
    return url + path[done:]


async def refusals(client: httpx.AsyncClient, company: Company, endpoint: Endpoint) -> set[str]:
    """The scopes whose absence makes `endpoint` answer 403 `insufficient_scope`."""
    if str(endpoint) in company.refusals:
        return company.refusals[str(endpoint)]
    refused_for: set[str] = set()
    for lacking, key in company.keys.items():
        # A record of its own for each key: a DELETE allowed to one key leaves the next one
        # something to refuse.
        url = await url_of_records(client, company, endpoint.path)
        response = await client.request(
            endpoint.method, url, json=endpoint.body(), headers={"Authorization": f"Bearer {key}"}
        )
        if response.status_code == 403 and response.json()["code"] == "insufficient_scope":
            assert response.headers["content-type"].startswith(PROBLEM)
            assert lacking in response.json()["detail"], response.text
            refused_for.add(lacking)
        else:
            # Any other refusal would hide a missing scope check behind it.
            assert response.status_code < 400, f"{endpoint} lacking {lacking}: {response.text}"
    company.refusals[str(endpoint)] = refused_for
    return refused_for


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_every_v1_route_answers_403_insufficient_scope_to_a_key_lacking_its_scope(
    client: httpx.AsyncClient, company: Company, endpoint: Endpoint
) -> None:
    refused_for = await refusals(client, company, endpoint)
    if (endpoint.method, endpoint.path) in OPEN_TO_EVERY_KEY:
        assert refused_for == set()
        return
    kind = ":read" if endpoint.method == "GET" else ":write"
    assert any(scope.endswith(kind) for scope in refused_for), (
        f"{endpoint} refuses no key that lacks a '*{kind}' scope (refused: {sorted(refused_for)})"
    )


def collection_of(endpoint: Endpoint) -> str:
    return "/".join(endpoint.path.split("/")[:3])  # `/v1/contacts`


COLLECTIONS = sorted(
    {collection_of(e) for e in ENDPOINTS if (e.method, e.path) not in OPEN_TO_EVERY_KEY}
)


@pytest.mark.parametrize("collection", COLLECTIONS)
async def test_the_routes_of_one_collection_need_scopes_of_one_family(
    client: httpx.AsyncClient, company: Company, collection: str
) -> None:
    # `deals:read` and `deals:write` are one family: a route of `/v1/deals` that checked
    # `contacts:read` instead would have a scope, but the wrong one.
    families = [
        {scope.partition(":")[0] for scope in await refusals(client, company, endpoint)}
        for endpoint in ENDPOINTS
        if collection_of(endpoint) == collection
    ]
    assert set.intersection(*families), f"{collection}: no scope family common to {families}"
