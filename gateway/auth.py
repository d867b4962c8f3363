"""The acting agent of a `/v1` request, from its `Authorization: Bearer` API key."""

from __future__ import annotations

from typing import Any

from litestar import Request

from crm.api_keys.service import authenticate
from crm.errors import Unauthenticated
from crm.policy import Actor


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("Send an API key: 'Authorization: Bearer <key>'.")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("Use the Bearer scheme: 'Authorization: Bearer <key>'.")
    return await authenticate(key.strip())
