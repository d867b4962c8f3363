"""Keyset pagination: sorts, opaque cursors, and the predicate that resumes a list.

A cursor holds the sort's name and the last row's sort value and id, so the next
page starts strictly after that row whatever was inserted meanwhile: no offset,
no cap on depth. Ties are broken by id. Nullable sort columns keep their nulls
last in both directions.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from crm.errors import BadRequest, ValidationFailed
from crm.ids import parse_id
from crm.schemas import to_utc
from crm.sql import Params

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A cursor's numbers come from our own rows: amounts have at most 15 integer digits
# (crm.money) and ranks are small floats. Anything past these bounds is forged, and
# would otherwise reach PostgreSQL as a number it refuses (or as NaN).
MAX_CURSOR_DECIMAL = Decimal("1e16")


@dataclass(frozen=True, slots=True)
class Sort:
    name: str  # as the client writes it: `-created_at`
    column: str  # the SQL column, qualified: `c.created_at`
    kind: type  # datetime, date or Decimal: how a cursor value is read back
    nullable: bool = False

    @property
    def descending(self) -> bool:
        return self.name.startswith("-")

    def order_by(self, id_column: str) -> str:
        direction = "DESC" if self.descending else "ASC"
        nulls = " NULLS LAST" if self.nullable else ""
        return f"{self.column} {direction}{nulls}, {id_column} {direction}"

    def after(self, cursor: Cursor, id_column: str, args: Params) -> str:
        """SQL that is true for the rows that come after `cursor` in this order."""
        op = "<" if self.descending else ">"
        last_id = args.placeholder(cursor.last_id)
        if not self.nullable:
            return (
                f"({self.column}, {id_column}) {op} ({args.placeholder(cursor.value)}, {last_id})"
            )
        if cursor.value is None:
            return f"({self.column} IS NULL AND {id_column} {op} {last_id})"
        value = args.placeholder(cursor.value)
        return (
            f"({self.column} {op} {value} OR ({self.column} = {value} AND {id_column} {op} "
            f"{last_id}) OR {self.column} IS NULL)"
        )


def pick_sort(sorts: dict[str, Sort], name: str | None, default: str) -> Sort:
    """The sort `name` asks for (`default` when absent); any other name, `""` too, is 422."""
    sort = sorts.get(default if name is None else name)
    if sort is None:
        allowed = ", ".join(sorts)
        raise ValidationFailed.one("sort", f"must be one of: {allowed}")
    return sort


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.one("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    value: Any
    last_id: str


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(sort: Sort, value: object, last_id: str) -> str:
    raw = msgspec.json.encode([sort.name, _plain(value), last_id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(
    text: str, sort: Sort, check_id: Callable[[str], str | None] = parse_id
) -> Cursor:
    """Read a cursor made for `sort`; anything else is a 400."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        name, raw_value, last_id = msgspec.json.decode(
            raw, type=tuple[str, str | float | None, str]
        )
        value: Any = raw_value
        if name != sort.name:
            raise BadRequest("The cursor was made for another sort order.")
        if check_id(last_id) is None:
            raise ValueError("not one of our ids")
        if value is not None:
            if isinstance(value, float) != (sort.kind is float):
                raise ValueError("a value of the wrong type")
            if sort.kind is float:
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError("not a finite number")
            elif sort.kind is datetime:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError("naive timestamp")
                value = to_utc(value)  # an offset that leaves years 1..9999: ValueError
            elif sort.kind is date:
                value = date.fromisoformat(value)
            elif sort.kind is Decimal:
                value = Decimal(value)
                if not (value.is_finite() and abs(value) < MAX_CURSOR_DECIMAL):
                    raise ValueError("not an amount")
        elif not sort.nullable:
            raise ValueError("null value for a column that has none")
    except BadRequest:
        raise
    except (ValueError, binascii.Error, msgspec.DecodeError, InvalidOperation):
        raise BadRequest("The cursor is not valid: pass next_cursor back as it was.") from None
    return Cursor(sort=name, value=value, last_id=last_id)
