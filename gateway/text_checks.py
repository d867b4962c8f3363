"""Text a handler must never see: a body that is not readable JSON, and the NUL character.

JSON bodies are read by `JSONRequest.json`, the one reader every handler and hook
uses: a body nested too deeply to read, or bytes that are not UTF-8, is a 400
like any other malformed JSON (the JSON parser signals both with exceptions of
its own, not with its decode error).

JSON may carry `\\u0000` and a query string `%00`; PostgreSQL's text types
refuse the character. Checked for every request before its handler runs, so the
answer names the field instead of failing deep inside a query.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException

from crm.errors import BadRequest, FieldError, ValidationFailed

MESSAGE = "must not contain the NUL character (U+0000)"


class JSONRequest(Request[Any, Any, Any]):
    """A request whose JSON body is either read or refused with a 400, never a 500."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise BadRequest("The JSON body is nested too deeply to be read.") from None
        except UnicodeDecodeError:
            raise BadRequest("The request body is not valid UTF-8.") from None


def _nul_paths(value: Any) -> list[str]:
    """The paths of the strings and keys holding a NUL, in document order.

    Iterative: a body may be nested as deeply as the JSON reader allows.
    """
    found: list[str] = []
    pending: list[tuple[Any, str, bool]] = [(value, "", False)]
    while pending:
        item, path, bad_key = pending.pop()
        if bad_key:
            found.append(path)
        if isinstance(item, str):
            if "\x00" in item:
                found.append(path or "body")
        elif isinstance(item, dict):
            children = [
                (child, f"{path}.{key}" if path else str(key), "\x00" in str(key))
                for key, child in item.items()
            ]
            pending.extend(reversed(children))
        elif isinstance(item, list):
            children = [(child, f"{path}[{index}]", False) for index, child in enumerate(item)]
            pending.extend(reversed(children))
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
            with contextlib.suppress(SerializationException):
                fields += _nul_paths(await request.json())
    if fields:
        raise ValidationFailed([FieldError(field, MESSAGE) for field in fields])
    if request.method in ("POST", "PATCH", "PUT") and await request.body():
        with contextlib.suppress(SerializationException):
            _check_types_strictly(request.route_handler, await request.json())


_BODY_TYPES: dict[int, type | None] = {}
_AT = re.compile(r"^(.*) - at `\$\.?(.*)`$")


def _check_types_strictly(handler: Any, body: Any) -> None:
    """422 for a body whose values fit its schema only by conversion (`0` for `false`).

    The framework reads bodies leniently, as it must read query strings, so a
    number would pass for a boolean; the document promises JSON's own types.
    A body the lenient reading refuses too is left to it, with its own messages;
    malformed JSON is left to the handler, which answers 400 for it.
    """
    key = id(handler)
    if key not in _BODY_TYPES:
        field = handler.parsed_fn_signature.parameters.get("data")
        _BODY_TYPES[key] = field.annotation if field is not None else None
    body_type = _BODY_TYPES[key]
    if body_type is None:
        return
    try:
        msgspec.convert(body, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        try:
            msgspec.convert(body, type=body_type, strict=False)
        except msgspec.ValidationError:
            return
        message, path = str(exc), ""
        if m := _AT.match(message):
            message, path = m.group(1), m.group(2)
        raise ValidationFailed([FieldError(path or "body", message)]) from None
