from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from crm.schemas import Email, Input, Name

Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=998, pattern=r"\S")]
# Two parts at their longest, each character JSON-escaped (6 bytes), stay under the 1 MiB body limit.
Body = Annotated[str, msgspec.Meta(max_length=64_000)]


class EmailTemplate(msgspec.Struct):
    id: str
    name: str
    subject: str
    html: str
    text: str
    variables: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class EmailTemplateCreate(Input):
    name: Name
    subject: Subject
    html: Body = ""
    text: Body = ""
    is_active: bool = True


class EmailTemplateUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    subject: Subject | msgspec.UnsetType = msgspec.UNSET
    html: Body | msgspec.UnsetType = msgspec.UNSET
    text: Body | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class EmailTemplatePage(msgspec.Struct, kw_only=True):
    """One page of email templates; `next_cursor` is null on the last page."""

    data: list[EmailTemplate]
    next_cursor: str | None


class EmailSuppression(msgspec.Struct):
    email: str
    reason: Literal["bounced", "complained", "manual"]
    created_at: datetime


class EmailSuppressionCreate(Input):
    email: Email


class EmailSuppressionPage(msgspec.Struct, kw_only=True):
    """One page of suppressed addresses; `next_cursor` is null on the last page."""

    data: list[EmailSuppression]
    next_cursor: str | None
