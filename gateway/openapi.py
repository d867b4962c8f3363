"""The OpenAPI document, made exact where the framework's generator stops short.

Litestar derives paths, parameters, bodies and schemas from the handlers. This
module adds what it cannot know, in one place, so every route is described
the same way:

- request bodies refuse unknown fields (`additionalProperties: false`), as the
  server does (422);
- only the statuses a route declares are listed (the generator adds a generic
  400 to every route with parameters), and every error is problem+json;
- the headers of the contract: `X-Request-Id` on every response, `RateLimit`
  and `RateLimit-Policy` on every `/v1` response, `Retry-After` on 429,
  `Idempotency-Key` on `/v1` POST and PATCH with `Idempotent-Replayed` on their
  answers;
- the payment webhook's body and signature headers (its handler reads the raw
  bytes, so the generator sees no body).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from crm.schemas import Input
from gateway.problems import MEDIA_TYPE

PROBLEM = Reference(ref="#/components/schemas/Problem")
STRING = Schema(type=OpenAPIType.STRING)


def _header(description: str, schema: Schema = STRING) -> OpenAPIHeader:
    return OpenAPIHeader(schema=schema, description=description, required=False)


REQUEST_ID = _header("The request's id: the client's `X-Request-Id` when it sent one, else ours.")
RATE_LIMIT_POLICY = _header(
    'The rate-limit policy (IETF structured header): `"plan";q=<quota>;w=<window seconds>`.'
)
RATE_LIMIT = _header(
    'What is left of it: `"plan";r=<remaining>;t=<seconds until the quota is whole>`.'
)
RETRY_AFTER = _header(
    "Seconds to wait before retrying.", Schema(type=OpenAPIType.INTEGER, minimum=1)
)
REPLAYED = _header(
    "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
    Schema(type=OpenAPIType.STRING, enum=["true"]),
)
IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    description="Makes a retry safe: the first completed answer is kept 24 hours for this "
    "API key and replayed to a retry of the same request; the same key with another "
    "request is 422, while the first is still running 409.",
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255),
)
SIGNATURE_HEADERS = [
    Parameter(
        name=name,
        param_in=ParamType.HEADER,
        required=False,
        description=description,
        schema=STRING,
    )
    for name, description in [
        (
            "Stripe-Signature",
            "Stripe-compatible: `t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>`.",
        ),
        ("webhook-id", "Standard Webhooks: the message id."),
        ("webhook-timestamp", "Standard Webhooks: unix seconds."),
        ("webhook-signature", "Standard Webhooks: space-separated `v1,<base64>` entries."),
    ]
]
EVENT_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "type", "created", "data"],
    properties={
        "id": Schema(type=OpenAPIType.STRING, description="The event id, e.g. `evt_...`."),
        "type": Schema(type=OpenAPIType.STRING, description="e.g. `invoice.paid`."),
        "created": Schema(type=OpenAPIType.INTEGER, description="Unix seconds."),
        "data": Schema(
            type=OpenAPIType.OBJECT,
            required=["object"],
            properties={"object": Schema(type=OpenAPIType.OBJECT)},
        ),
    },
)


def _input_names() -> set[str]:
    names, todo = set(), list(Input.__subclasses__())
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _declared(app: Litestar) -> dict[str, set[str]]:
    """operationId -> the statuses its handler declares (success included)."""
    declared: dict[str, set[str]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            operation_id = handler.operation_id
            if isinstance(operation_id, str):
                statuses = {str(handler.status_code)}
                statuses |= {str(s) for s in (handler.responses or {})}
                declared[operation_id] = statuses
    return declared


def refine(app: Litestar) -> OpenAPI:
    document = app.openapi_schema
    components = document.components.schemas or {}
    for name in _input_names():
        schema = components.get(name)
        if isinstance(schema, Schema):
            schema.additional_properties = False
    declared = _declared(app)
    for path, item in (document.paths or {}).items():
        for method in ("get", "post", "patch", "delete", "put"):
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            _refine_operation(path, method, operation, declared.get(operation.operation_id or ""))
    return document


def _refine_operation(
    path: str, method: str, operation: Operation, declared: set[str] | None
) -> None:
    responses: dict[str, Any] = operation.responses or {}
    if declared is not None:
        for status in list(responses):
            if status not in declared:
                del responses[status]
    v1 = path.startswith("/v1/")
    for status, response in responses.items():
        if not isinstance(response, OpenAPIResponse):
            continue
        headers: dict[str, Any] = dict(response.headers or {})
        for header in headers.values():
            if isinstance(header, OpenAPIHeader) and header.schema is None:
                header.schema = STRING
        headers["X-Request-Id"] = REQUEST_ID
        if v1:
            headers["RateLimit-Policy"] = RATE_LIMIT_POLICY
            headers["RateLimit"] = RATE_LIMIT
        if status == "429":
            headers["Retry-After"] = RETRY_AFTER
        if v1 and method in ("post", "patch") and status[0] in "24":
            headers["Idempotent-Replayed"] = REPLAYED
        response.headers = headers
        if status[0] in "45":
            response.content = {MEDIA_TYPE: OpenAPIMediaType(schema=PROBLEM)}
    parameters = list(operation.parameters or [])
    if v1 and method in ("post", "patch"):
        parameters.append(IDEMPOTENCY_KEY)
    if path == "/webhooks/payments":
        parameters.extend(SIGNATURE_HEADERS)
        operation.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=EVENT_SCHEMA)},
            required=True,
            description="The event, exactly as signed: the signature covers these bytes.",
        )
    operation.parameters = parameters or None
