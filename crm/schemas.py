"""Pieces shared by every domain's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

# The database driver writes the first and the last instant Python can hold as
# PostgreSQL's -infinity and infinity (and reads them back without a zone): the
# range a timestamp may take leaves both out.
FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)
TIME_RANGE = "must fall strictly between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z"


def to_utc(value: datetime) -> datetime:
    """`value` (aware) in UTC; ValueError when that leaves years 1 to 9999.

    RFC 3339 allows `0001-01-01T00:00:00+14:00`, which is in year 0 in UTC: neither
    Python nor the database driver can hold it.
    """
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(TIME_RANGE) from None
    if not FIRST_INSTANT < utc < LAST_INSTANT:
        raise ValueError(TIME_RANGE)
    return utc


# Request bodies refuse unknown fields (422), so a typo is never silently ignored.
class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def __post_init__(self) -> None:
        # Every timestamp in UTC, or a validation error naming its field (msgspec's
        # ` - at `$.field`` suffix is how a decoder's error names a field).
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime) and value.tzinfo is not None:
                try:
                    setattr(self, name, to_utc(value))
                except ValueError as exc:
                    raise ValueError(f"{exc} - at `$.{name}`") from None

    def given(self) -> dict[str, Any]:
        """The fields the client sent (an update body leaves the others UNSET)."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not msgspec.UNSET}


# The end of the text, in Python's `re` (which checks patterns here) and in
# ECMA-262 (which reads them from the OpenAPI document) alike: `$` would also match
# before a final newline in Python, and let `"a@b.co\n"` through.
END = r"(?![\s\S])"

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=rf"^[^@\s]+@[^@\s]+\.[^@\s]+{END}",
        description="An email address.",
    ),
]
# A name has at least one visible character: "   " is no name.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Region = Annotated[
    str,
    msgspec.Meta(
        pattern=rf"^[A-Z]{{2}}{END}",
        description="ISO 3166-1 alpha-2 country code, e.g. `US`.",
    ),
]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="An id.")]
Timestamp = Annotated[
    datetime,
    msgspec.Meta(tz=True, description="RFC 3339 with a time zone, e.g. `2026-11-21T10:00:00Z`."),
]


def parse_timestamp(text: str) -> datetime:
    """RFC 3339 text with a zone, in UTC; ValueError otherwise.

    Strict: a number (`0.5`, read by lenient parsers as Unix time), a date alone or
    a time without a zone is refused, as in a body.
    """
    try:
        value = msgspec.convert(text, Timestamp)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
    return to_utc(value)
