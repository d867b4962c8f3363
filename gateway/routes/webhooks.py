"""`POST /webhooks/payments`: the payment provider's events. The signature is the credential."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, post
from litestar.datastructures import State

from crm.billing import service as billing
from crm.billing.schemas import Event, Receipt
from crm.errors import BadRequest
from gateway import webhooks
from gateway.responses import problems
from gateway.transaction import TransactionMiddleware

_events = msgspec.json.Decoder(Event)


@post(
    "/payments",
    operation_id="receivePaymentEvent",
    summary="Receive a payment event",
    status_code=200,
    responses=problems(400, 413),
    security=[],
)
async def receive_payment_event(request: Request[Any, Any, State]) -> Receipt:
    """Verifies the signature on the raw body (Stripe-Signature or Standard Webhooks), then
    applies the event once: redeliveries and older events change nothing; unknown types and
    customers are recorded and acknowledged."""
    body = await request.body()
    secrets = request.app.state.settings.payment_webhook_secrets
    webhooks.verify(body, request.headers, secrets)
    if b"\\u0000" in body:
        raise BadRequest("The event contains a NUL character, which cannot be stored.")
    try:
        event = _events.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The event is not one we can read: {exc}") from None
    except (RecursionError, UnicodeDecodeError):
        # The JSON reader's own signals for a body nested too deeply or not UTF-8.
        raise BadRequest(
            "The event is not one we can read: not UTF-8 JSON of sane depth."
        ) from None
    return await billing.apply_event(event)


async def _no_hook(request: Request[Any, Any, State]) -> None:
    return None


def router() -> Router:
    return Router(
        path="/webhooks",
        route_handlers=[receive_payment_event],
        middleware=[TransactionMiddleware],
        # Nothing may read the body before its signature is checked: no app-level hook.
        before_request=_no_hook,
        tags=["webhooks"],
    )
