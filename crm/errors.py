"""Domain errors. Each carries its HTTP status, stable `code` and title.

The gateway renders every subclass the same way, as RFC 9457 problem details;
nothing in `crm` knows about HTTP beyond these three class attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One broken rule, named by its path in the body or by a query parameter."""

    field: str
    message: str


class CRMError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, object]:
        """Members added to the problem body beyond the standard ones."""
        return {}


class BadRequest(CRMError):
    status, code, title = 400, "bad_request", "Bad request"


class InvalidSignature(CRMError):
    status, code, title = 400, "invalid_signature", "Invalid signature"


class Unauthenticated(CRMError):
    status, code, title = 401, "unauthenticated", "Unauthenticated"


class Forbidden(CRMError):
    status, code, title = 403, "forbidden", "Forbidden"


class InsufficientScope(CRMError):
    status, code, title = 403, "insufficient_scope", "Insufficient scope"


class NotFound(CRMError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(CRMError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(CRMError):
    status, code, title = 412, "precondition_failed", "Precondition failed"


class PayloadTooLarge(CRMError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class ValidationFailed(CRMError):
    status, code, title = 422, "validation_failed", "Validation failed"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        self.errors = list(errors)
        if detail is None:
            detail = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(detail)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])

    def extra(self) -> dict[str, object]:
        return {"errors": [{"field": e.field, "message": e.message} for e in self.errors]}


class IdempotencyKeyReused(CRMError):
    status, code, title = 422, "idempotency_key_reused", "Idempotency key reused"


class RateLimited(CRMError):
    status, code, title = 429, "rate_limited", "Rate limited"

    def __init__(self, detail: str, *, violated_policies: Sequence[str], retry_after: int) -> None:
        super().__init__(detail)
        self.violated_policies = list(violated_policies)
        self.retry_after = retry_after

    def extra(self) -> dict[str, object]:
        return {"violated_policies": self.violated_policies}


class ServiceUnavailable(CRMError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class ConfigError(Exception):
    """The configuration is unusable; the message says which setting and why."""
