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
from typing import TypeAlias

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

# The last row's value of the sort column, as a cursor carries it (None: a null).
SortValue: TypeAlias = str | float | datetime | date | Decimal | None


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
    value: SortValue
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
        if name != sort.name:
            raise BadRequest("The cursor was made for another sort order.")
        if check_id(last_id) is None:
            raise ValueError("not one of our ids")
        if raw_value is None and not sort.nullable:
            raise ValueError("null value for a column that has none")
        value = None if raw_value is None else _read_value(raw_value, sort.kind)
    except BadRequest:
        raise
    except (ValueError, binascii.Error, msgspec.DecodeError, InvalidOperation):
        raise BadRequest("The cursor is not valid: pass next_cursor back as it was.") from None
    return Cursor(sort=name, value=value, last_id=last_id)


def _read_value(raw: str | float, kind: type) -> SortValue:
    """A cursor's sort value as the column's `kind`; ValueError when it cannot be one."""
    if isinstance(raw, float) != (kind is float):
        raise ValueError("a value of the wrong type")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("not a finite number")
        return raw
    if kind is datetime:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return to_utc(moment)  # an offset that leaves years 1..9999: ValueError
    if kind is date:
        return date.fromisoformat(raw)
    if kind is Decimal:
        amount = Decimal(raw)
        if not (amount.is_finite() and abs(amount) < MAX_CURSOR_DECIMAL):
            raise ValueError("not an amount")
        return amount
    return raw
