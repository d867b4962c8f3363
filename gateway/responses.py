"""What every `/v1` route shares: the acting agent, problem responses in OpenAPI,
versions as ETags, `If-Match`, and 201 answers with a `Location`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

import msgspec
from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter

from crm.errors import PreconditionFailed, ValidationFailed
from crm.policy import Actor
from crm.schemas import parse_timestamp
from gateway.problems import MEDIA_TYPE

T = TypeVar("T")


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem. `code` is stable and machine-readable."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[FieldProblem] | msgspec.UnsetType = msgspec.UNSET
    violated_policies: list[str] | msgspec.UnsetType = msgspec.UNSET


_DESCRIPTIONS = {
    400: "Malformed JSON, bad query syntax or a bad cursor (`bad_request`)",
    401: "No credential, or a malformed, unknown, revoked or expired one (`unauthenticated`)",
    403: "The key lacks the scope (`insufficient_scope`), or the role may not (`forbidden`)",
    404: "No such record, or one the caller may not see (`not_found`)",
    409: "The request conflicts with the current state (`conflict`)",
    412: "`If-Match` does not match the record's version (`precondition_failed`)",
    413: "The body is over 1 MiB (`payload_too_large`)",
    422: "The body or a parameter breaks the schema or a rule (`validation_failed`)",
    429: "Over the company's rate limit (`rate_limited`)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can answer with."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


AUTHED = (401, 403, 429)
READ_ONE = problems(*AUTHED, 404)
LIST = problems(*AUTHED, 400, 422)
CREATE = problems(*AUTHED, 400, 409, 413, 422)
UPDATE = problems(*AUTHED, 400, 404, 409, 412, 413, 422)
DELETE = problems(*AUTHED, 404, 409)

ETAG = ResponseHeader(
    name="ETag",
    documentation_only=True,
    description='The record\'s version, quoted: `"3"`. Send it back in `If-Match`.',
)
LOCATION = ResponseHeader(
    name="Location", documentation_only=True, description="The new record's URL."
)

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description='Apply the change only to this version (the `ETag`, e.g. `"3"`); else 412.',
    ),
]
Limit = Annotated[
    int,
    QueryParameter(
        description="Page size, 1 to 200.",
        schema_extra={"minimum": 1, "maximum": 200},
    ),
]
Cursor = Annotated[
    str | None,
    QueryParameter(description="`next_cursor` of the previous page; omit for the first page."),
]


# A time in a query string. Taken as text and read by `timestamp_query`: the
# framework's own reading is lenient (`0.5` would be half a second after 1970).
TimestampQuery = Annotated[
    str | None,
    QueryParameter(
        description="RFC 3339 with a time zone, e.g. `2026-11-21T10:00:00Z`.",
        format="date-time",
    ),
]


def timestamp_query(name: str, text: str | None) -> datetime | None:
    """The time a `TimestampQuery` parameter names, in UTC; 422 naming `name` otherwise."""
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise ValidationFailed.one(name, f"must be RFC 3339 with a time zone ({exc})") from None


def sort_parameter(values: list[str], default: str) -> Any:
    """The `sort` query parameter: one of `values`, checked by the service (422)."""
    return QueryParameter(
        description=f"Sort order (default `{default}`).", schema_extra={"enum": values}
    )


# The acting agent, put in place by the `/v1` router's authentication.
CurrentActor = NamedDependency[Actor]


def actor_of(request: Request[Any, Any, Any]) -> Actor:
    actor: Actor = request.state["actor"]
    return actor


# Versions are PostgreSQL `integer`s: a tag of more digits names no version.
MAX_VERSION = 2**31 - 1
_MAX_VERSION_DIGITS = len(str(MAX_VERSION))


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header asks for; None for no header or `*`.

    A tag that cannot be a version (weak, unquoted, not ASCII digits, or past the
    largest version) never matches: 412, whatever its length or script.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    digits = tag[1:-1]
    if (
        len(tag) >= 3
        and tag[0] == tag[-1] == '"'
        and len(digits) <= _MAX_VERSION_DIGITS
        and digits.isascii()
        and digits.isdigit()
    ):
        version = int(digits)
        if version <= MAX_VERSION:
            return version
        raise PreconditionFailed(f"The record's version does not match If-Match {tag}.")
    raise PreconditionFailed('If-Match must be a version ETag, e.g. "3" (weak tags never match).')


def with_etag(record: V, status_code: int = 200) -> Response[V]:
    return Response(record, status_code=status_code, headers={"ETag": f'"{record.version}"'})


def created(record: T, location: str) -> Response[T]:
    headers = {"Location": location}
    if hasattr(record, "version"):
        headers["ETag"] = f'"{record.version}"'
    return Response(record, status_code=201, headers=headers)
