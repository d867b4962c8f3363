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
  bytes, so the generator sees no body);
- the operator and webhook routes even where they are not mounted (no
  `CRM_ADMIN_TOKEN`, no `CRM_PAYMENT_WEBHOOK_SECRETS`), with the 404 they then
  answer, so the document is the same on every server;
- no `default` on a property: client generators (openapi-typescript among them)
  make a property with a default required, while a body may omit it; what the
  server assumes for an omitted property is said in its description instead.

The guides in `docs/` explain what the document only lists; descriptions name
them by their path in the repository.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from litestar import Litestar, Router
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import (
    Components,
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
    'The rate-limit policy (IETF structured header): `"plan";q=<quota>;w=<window seconds>`. '
    "See `docs/rate-limits.md`."
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
    "request is 422, while the first is still running 409. See `docs/idempotency.md`.",
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


# Routes mounted only when configured, and the setting whose absence makes them 404.
UNCONFIGURED = {
    "/admin/": "the operator API is off on this server (`CRM_ADMIN_TOKEN` is unset)",
    "/webhooks/payments": "payment webhooks are off on this server "
    "(`CRM_PAYMENT_WEBHOOK_SECRETS` is unset)",
}


def refine(
    app: Litestar,
    *,
    unmounted: Sequence[Router] = (),
    config: Callable[[], OpenAPIConfig] | None = None,
) -> OpenAPI:
    """Make `app`'s document exact; `unmounted` routers are documented as if mounted.

    `config` makes the OpenAPI configuration of `app` afresh (a configuration's
    router belongs to one app); it is needed only with `unmounted`.
    """
    document = app.openapi_schema
    declared = _declared(app)
    if unmounted:
        if config is None:
            raise ValueError("documenting unmounted routers needs the app's OpenAPI config")
        shadow = Litestar(
            route_handlers=list(unmounted), openapi_config=config(), logging_config=None
        )
        _merge(document, shadow.openapi_schema)
        declared.update(_declared(shadow))
    components = (document.components or Components()).schemas or {}
    for name in _input_names():
        schema = components.get(name)
        if isinstance(schema, Schema):
            schema.additional_properties = False
    for schema in components.values():
        if isinstance(schema, Schema) and schema.enum is not None:
            # A shared enum (Plan) takes the default of whichever body first used
            # it; a default belongs to that body's property, not to every user.
            schema.default = None
        _describe_defaults(schema)
    for path, item in (document.paths or {}).items():
        for method in ("get", "post", "patch", "delete", "put"):
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            _refine_operation(path, method, operation, declared.get(operation.operation_id or ""))
    return document


def _merge(document: OpenAPI, other: OpenAPI) -> None:
    """Add `other`'s paths and the schemas they use to `document`."""
    paths = document.paths if document.paths is not None else {}
    for path, item in (other.paths or {}).items():
        if path in paths:
            raise ValueError(f"{path} is both mounted and documented as unmounted")
        paths[path] = item
    document.paths = paths
    if document.components is None:
        document.components = Components()
    schemas = document.components.schemas if document.components.schemas is not None else {}
    for name, schema in ((other.components and other.components.schemas) or {}).items():
        schemas.setdefault(name, schema)
    document.components.schemas = schemas


def _describe_defaults(schema: Schema | Reference) -> None:
    """Move each property's `default` into its description (see the module's docstring)."""
    if not isinstance(schema, Schema):
        return
    for child in (schema.properties or {}).values():
        if isinstance(child, Schema) and child.default is not None:
            omitted = f"When omitted: `{json.dumps(child.default, ensure_ascii=False)}`."
            child.description = f"{child.description} {omitted}" if child.description else omitted
            child.default = None
        _describe_defaults(child)
    for nested in [*(schema.one_of or []), *(schema.any_of or []), *(schema.all_of or [])]:
        _describe_defaults(nested)
    if isinstance(schema.items, Schema):
        _describe_defaults(schema.items)


def _refine_operation(
    path: str, method: str, operation: Operation, declared: set[str] | None
) -> None:
    responses: dict[str, Any] = operation.responses or {}
    if declared is not None:
        for status in list(responses):
            if status not in declared:
                del responses[status]
    for prefix, why in UNCONFIGURED.items():
        if path.startswith(prefix):
            responses["404"] = _unconfigured(responses.get("404"), why)
            operation.responses = responses
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
            description="The event, exactly as signed: the signature covers these bytes. "
            "See `docs/payment-webhooks.md`.",
        )
    operation.parameters = parameters or None


def _unconfigured(response: Any, why: str) -> OpenAPIResponse:
    """A 404 response that also says when the route is not there at all."""
    if isinstance(response, OpenAPIResponse):
        response.description = f"{response.description}; or {why}"
        return response
    return OpenAPIResponse(description=f"Not found: {why}")
