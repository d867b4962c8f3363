"""Text PostgreSQL cannot store: the NUL character, refused at the edge with a 422.

JSON may carry `\\u0000` and a query string `%00`; PostgreSQL's text types
refuse the character. Checked for every request before its handler runs, so the
answer names the field instead of failing deep inside a query.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request

from crm.errors import FieldError, ValidationFailed

MESSAGE = "must not contain the NUL character (U+0000)"


def _nul_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found.append(child)
            found += _nul_paths(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nul_paths(item, f"{path}[{index}]")
    return found


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """A `before_request` hook: 422 naming each field or parameter holding a NUL."""
    query = request.scope.get("query_string", b"")
    fields = (
        [
            name
            for name, value in parse_qsl(query.decode("latin-1"))
            if "\x00" in name or "\x00" in value
        ]
        if b"%00" in query
        else []
    )
    if request.method in ("POST", "PATCH", "PUT"):
        body = await request.body()
        if b"\\u0000" in body:
            # Malformed JSON is left to the handler, which answers 400 for it.
            with contextlib.suppress(msgspec.DecodeError):
                fields += _nul_paths(msgspec.json.decode(body), "")
    if fields:
        raise ValidationFailed([FieldError(field, MESSAGE) for field in fields])
