"""`X-Request-Id` on every response: the client's when it sent a sane one, else ours."""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any

from litestar.types import Message, Scope

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# Ours: a random per-process part and a counter. Unique across processes and
# hosts without a system call per request; an id is a label, not a secret.
_PROCESS = secrets.token_hex(6)
_counter = itertools.count(1)


def request_id(scope: Scope | dict[str, Any]) -> str:
    """The request's id, decided once and kept in the ASGI scope."""
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        sent = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
        text = sent.decode("latin-1") if sent else ""
        rid = text if _SANE.match(text) else f"req_{_PROCESS}{next(_counter):010x}"
        state["request_id"] = rid
    return str(rid)


async def add_request_id(message: Message, scope: Scope) -> None:
    """A `before_send` hook: stamp the id on the response's headers."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", ()))
        headers.append((b"x-request-id", request_id(scope).encode("latin-1")))
        message["headers"] = headers
