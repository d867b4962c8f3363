"""`OPTIONS` answers with every method its path serves, as the OpenAPI document says."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.factories import make_company

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


async def test_options_allows_exactly_the_documented_methods_of_every_path(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    paths = json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"]
    checked = 0
    for template, item in paths.items():
        if not template.startswith(("/v1/", "/health/")):
            continue  # the operator and webhook routes take other credentials
        path = template.replace("{", "").replace("}", "")  # any id will do
        response = await client.options(path, headers=tenant.owner.headers)
        assert response.status_code == 204, (path, response.text)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        documented = {m.upper() for m in item if m in ("get", "post", "patch", "delete")}
        assert allowed == documented | {"OPTIONS"}, path
        checked += 1
    assert checked >= 15
