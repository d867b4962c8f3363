"""RFC 9457 problem details: every error leaves the gateway the same way.

`crm` errors carry their status, code and title; framework errors (unknown
route, wrong method, malformed JSON, schema violations, oversized bodies) are
translated into the same shape. Anything else is a bug: logged with the request
id, answered 500 without internals. `problem_response` is the one renderer:
Litestar's exception handlers return it, and the middlewares in front of the
handlers (`gateway.pipeline`, `gateway.transaction`) send it with `send_problem`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Scope

from crm.db import UNAVAILABLE_ERRORS
from crm.errors import (
    BadRequest,
    Conflict,
    CRMError,
    FieldError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from gateway.request_id import request_id

log = logging.getLogger("gateway")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://crm.example/problems/"


class MethodNotAllowed(CRMError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class InternalError(CRMError):
    status, code, title = 500, "internal_error", "Internal error"


class RequestTimeout(CRMError):
    status, code, title = 408, "request_timeout", "Request timeout"


def problem_body(error: CRMError, rid: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.code.replace("_", "-"),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "request_id": rid,
    }
    body.update(error.extra())
    return body


def problem_response(
    error: CRMError, scope: Scope, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    """The problem+json response of `error`: the only place a problem is rendered."""
    headers = dict(headers or {})
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = "1"
    return Response(
        problem_body(error, request_id(scope)),
        status_code=error.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


# Races the database settles by refusing one side: the client may simply retry.
CONCURRENCY_ERRORS = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.ForeignKeyViolationError,
    asyncpg.UniqueViolationError,
)

_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]+)`")


def _field_errors(extra: Any) -> list[FieldError] | None:
    """Litestar's validation messages as our field errors; None when the body is absent."""
    errors = []
    for item in extra if isinstance(extra, list) else []:
        key, message = str(item.get("key", "")), str(item.get("message", ""))
        if key == "data" and message == "'data'":
            return None  # no body at all
        prefix = "" if key in ("data", "") else key
        for pattern in (_UNKNOWN_FIELD, _MISSING_FIELD):
            if m := pattern.match(message):
                key = f"{prefix}.{m.group(1)}" if prefix else m.group(1)
                message = "unknown field" if pattern is _UNKNOWN_FIELD else "this field is required"
                break
        errors.append(FieldError(key if key not in ("data", "") else "body", message))
    return errors


def translate(exc: Exception) -> CRMError:
    if isinstance(exc, CRMError):
        return exc
    if isinstance(exc, ValidationException):
        # A body or a query parameter that breaks the schema: 422, naming each field.
        errors = _field_errors(exc.extra)
        if errors is None:
            return BadRequest("This request needs a JSON body.")
        return ValidationFailed(errors or [FieldError("body", str(exc.detail))])
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 404:
            return NotFound("No such route.")
        if status == 405:
            return MethodNotAllowed("This route does not answer that method.")
        if status == 413:
            return PayloadTooLarge("The request body is over 1 MiB.")
        if status == 401:
            return Unauthenticated(str(exc.detail))
        if status == 400:
            detail = str(exc.detail)
            if "JSON" in detail or "decode" in detail.lower():
                return BadRequest("The request body is not valid JSON.")
            return BadRequest(detail)
        if status == 503:
            return ServiceUnavailable(str(exc.detail))
        if 400 <= status < 500:
            generic: type[CRMError] = type(
                "ClientError",
                (CRMError,),
                {"status": status, "code": "bad_request", "title": "Bad request"},
            )
            return generic(str(exc.detail))
    if isinstance(exc, CONCURRENCY_ERRORS):
        return Conflict("The records changed concurrently with this request; retry it.")
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return ServiceUnavailable("The database is unavailable; try again shortly.")
    return InternalError("An unexpected error occurred; it has been logged.")


def translate_and_log(exc: Exception, scope: Scope) -> CRMError:
    """`translate`, logging what is a bug (a 5xx other than the database being away)."""
    error = translate(exc)
    if error.status >= 500 and not isinstance(error, ServiceUnavailable):
        log.exception(
            "unhandled error on %s %s (request %s)",
            scope.get("method"),
            scope.get("path"),
            request_id(scope),
            exc_info=exc,
        )
    return error


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar's exception handler: every error raised in a route, as a problem."""
    error = translate_and_log(exc, request.scope)
    headers = getattr(exc, "headers", None) if isinstance(exc, HTTPException) else None
    return problem_response(error, request.scope, headers=headers)


async def send_problem(scope: Any, receive: Any, send: Any, exc: Exception) -> None:
    """Answer `exc` as a problem from ASGI middleware (in front of the route handlers)."""
    error = translate_and_log(exc, scope)
    request: Request[Any, Any, Any] = Request(scope, receive)
    response = problem_response(error, scope)
    await response.to_asgi_response(None, request)(scope, receive, send)
