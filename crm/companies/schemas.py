from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from crm.schemas import Email, Input, Name, Region


class Plan(StrEnum):
    """What a company pays for: its rate limit follows its plan."""

    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class SubscriptionStatus(StrEnum):
    """Where the company's subscription stands, as payment events last said."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"


CustomerId = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=255, description="The payment provider's customer id."),
]


class Company(msgspec.Struct):
    id: str
    name: str
    slug: str
    plan: Plan
    subscription_status: SubscriptionStatus
    billing_email: str | None
    billing_customer_id: str | None
    default_region: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class CompanyUpdate(Input):
    """A tenant's changes to its company.

    `plan`, `subscription_status` and `billing_customer_id` are not among them:
    payment events and the operator set those, and a body naming one is refused
    like any unknown field (a tenant that could detach or claim a billing
    customer could dodge a downgrade or take another's upgrade).
    """

    name: Name | msgspec.UnsetType = msgspec.UNSET
    billing_email: Email | msgspec.UnsetType | None = msgspec.UNSET
    default_region: Region | msgspec.UnsetType | None = msgspec.UNSET


class CompanyBillingLink(Input):
    """The operator's link from a company to its payment customer; null detaches it."""

    billing_customer_id: CustomerId | None


class BillingState(msgspec.Struct):
    """What payment events need of a company: its customer and its newest applied event."""

    id: str
    billing_customer_id: str | None
    billing_event_at: datetime | None


class CompanyBootstrap(Input):
    """A new company with its first owner; `plan` is `free` when omitted."""

    name: Name
    owner_email: Email
    owner_name: Name
    plan: Plan = Plan.FREE
    billing_customer_id: CustomerId | None = None
    default_region: Region | None = None
