"""The ceiling the gateway is measured against: a bare Litestar route on raw asyncpg.

It serves the same SQL as an owner's `GET /v1/contacts?limit=50` and the same
JSON, with no key, no rate limit, no policy and no per-request transaction.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Response, get

from crm.contacts.queries import COLUMNS
from crm.db import keep_session

SQL = (
    f"SELECT {COLUMNS.sql} FROM contacts c WHERE c.company_id = $1 "
    "ORDER BY c.created_at DESC, c.id DESC LIMIT 51"
)
_phones = msgspec.json.Decoder(list[dict[str, Any]])
_encoder = msgspec.json.Encoder()


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")


def app_from_env() -> Litestar:
    dsn = os.environ["CRM_DATABASE_URL"]
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # The gateway's pool settings (no reset query on release), so the ratio
        # measures the gateway and not a difference in pool configuration.
        state["pool"] = await asyncpg.create_pool(
            dsn, min_size=1, max_size=10, init=_init, reset=keep_session
        )
        try:
            yield
        finally:
            await state["pool"].close()

    @get("/bare/contacts/{company_id:str}")
    async def contacts(company_id: str) -> Response[bytes]:
        rows = await state["pool"].fetch(SQL, company_id)
        data = []
        for row in rows[:50]:
            item = dict(row)
            first, last = item["first_name"], item["last_name"]
            item["full_name"] = f"{first} {last}" if first and last else first or last
            item["phones"] = _phones.decode(item["phones"]) if item["phones"] else []
            data.append(item)
        body = {"data": data, "next_cursor": "x" if len(rows) > 50 else None}
        return Response(_encoder.encode(body), media_type="application/json")

    return Litestar(route_handlers=[contacts], lifespan=[lifespan], openapi_config=None)
