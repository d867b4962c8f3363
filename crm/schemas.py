"""Pieces shared by every domain's schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec


# Request bodies refuse unknown fields (422), so a typo is never silently ignored.
class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def given(self) -> dict[str, Any]:
        """The fields the client sent (an update body leaves the others UNSET)."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not msgspec.UNSET}


Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="An email address.",
    ),
]
# A name has at least one visible character: "   " is no name.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Region = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country code, e.g. `US`.",
    ),
]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="An id.")]
Timestamp = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="RFC 3339 with a time zone, e.g. `2026-11-21T10:00:00Z`."),
]
