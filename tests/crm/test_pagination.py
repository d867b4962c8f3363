"""Keyset cursors: what a cursor carries, every way one is refused, and the SQL a sort makes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from crm.errors import BadRequest, ValidationFailed
from crm.ids import new_id
from crm.pagination import (
    MAX_LIMIT,
    Cursor,
    Sort,
    SortValue,
    check_limit,
    decode_cursor,
    encode_cursor,
    pick_sort,
)
from crm.sql import Params

NEWEST = Sort("-created_at", "c.created_at", datetime)
OLDEST = Sort("created_at", "c.created_at", datetime)
CLOSING = Sort("expected_close_date", "d.expected_close_date", date, nullable=True)
AMOUNT = Sort("-amount", "d.amount", Decimal, nullable=True)
RELEVANCE = Sort("-relevance", "rank", float)

NOT_VALID = "The cursor is not valid: pass next_cursor back as it was."


def raw_cursor(*parts: object) -> str:
    """A cursor made by hand: base64url of any JSON, without padding, as encode_cursor writes."""
    text = json.dumps(list(parts)).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


def refused(text: str, sort: Sort) -> str:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(text, sort)
    assert caught.value.status == 400
    return caught.value.detail


# Round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        pytest.param(NEWEST, datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=UTC), id="datetime"),
        pytest.param(
            OLDEST,
            datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
            id="datetime-offset",
        ),
        pytest.param(CLOSING, date(2027, 1, 31), id="date"),
        pytest.param(AMOUNT, Decimal("1250.50"), id="decimal"),
        pytest.param(AMOUNT, Decimal("0.001"), id="decimal-three-places"),
        pytest.param(AMOUNT, Decimal("999999999999999.9999"), id="decimal-huge"),
        pytest.param(RELEVANCE, 0.0607927, id="float"),
        pytest.param(RELEVANCE, 1.0, id="float-integral"),
        pytest.param(RELEVANCE, 0.0, id="float-zero"),
        pytest.param(CLOSING, None, id="date-null"),
        pytest.param(AMOUNT, None, id="decimal-null"),
    ],
)
def test_a_cursor_gives_back_the_sort_value_and_id_it_was_made_from(
    sort: Sort, value: SortValue
) -> None:
    last_id = new_id()
    cursor = decode_cursor(encode_cursor(sort, value, last_id), sort)
    assert cursor == Cursor(sort=sort.name, value=value, last_id=last_id)
    assert type(cursor.value) is type(value)


def test_a_datetime_keeps_its_instant_through_a_cursor_in_utc() -> None:
    value = datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=-5)))
    cursor = decode_cursor(encode_cursor(OLDEST, value, new_id()), OLDEST)
    assert isinstance(cursor.value, datetime)
    assert cursor.value == value
    assert cursor.value.utcoffset() == timedelta(0)


def test_a_decimal_keeps_its_trailing_zeros_through_a_cursor() -> None:
    cursor = decode_cursor(encode_cursor(AMOUNT, Decimal("10.00"), new_id()), AMOUNT)
    assert str(cursor.value) == "10.00"


def test_a_cursor_is_url_safe_base64_without_padding() -> None:
    for _ in range(20):
        text = encode_cursor(AMOUNT, Decimal("1.5"), new_id())
        assert "=" not in text
        assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_cursor_holds_the_sort_name_the_value_and_the_id() -> None:
    last_id = new_id()
    text = encode_cursor(NEWEST, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), last_id)
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert msgspec.json.decode(raw) == ["-created_at", "2026-01-02T03:04:05+00:00", last_id]


def test_a_cursor_with_its_padding_put_back_is_still_read() -> None:
    last_id = new_id()
    text = encode_cursor(NEWEST, datetime(2026, 1, 2, tzinfo=UTC), last_id)
    padded = text + "=" * (-len(text) % 4)
    assert decode_cursor(padded, NEWEST).last_id == last_id


def test_a_custom_id_check_decides_which_ids_a_cursor_may_carry() -> None:
    text = encode_cursor(NEWEST, datetime(2026, 1, 2, tzinfo=UTC), "evt_42")
    assert decode_cursor(text, NEWEST, lambda s: s if s.startswith("evt_") else None).last_id == (
        "evt_42"
    )
    assert refused(text, NEWEST) == NOT_VALID


# Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("%%%not base64%%%", id="not-base64-alphabet"),
        pytest.param("a", id="truncated-base64"),
        pytest.param("", id="empty"),
    ],
)
def test_text_that_is_not_base64_is_refused(text: str) -> None:
    assert refused(text, NEWEST) == NOT_VALID


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"sort": "-created_at"}', id="object"),
        pytest.param(b'["-created_at", "2026-01-01T00:00:00+00:00"]', id="two-items"),
        pytest.param(b'["-created_at", "2026-01-01T00:00:00+00:00", "x", "y"]', id="four-items"),
        pytest.param(b'[1, "2026-01-01T00:00:00+00:00", "x"]', id="number-as-sort"),
        pytest.param(b'["-created_at", [], "x"]', id="list-as-value"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_base64_of_anything_but_the_cursor_shape_is_refused(payload: bytes) -> None:
    text = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    assert refused(text, NEWEST) == NOT_VALID


def test_a_cursor_made_for_another_sort_is_refused_and_says_so() -> None:
    text = encode_cursor(OLDEST, datetime(2026, 1, 2, tzinfo=UTC), new_id())
    assert refused(text, NEWEST) == "The cursor was made for another sort order."


@pytest.mark.parametrize(
    "last_id",
    [
        pytest.param("42", id="short"),
        pytest.param("not-a-uuid-but-thirty-six-characters", id="36-chars-not-uuid"),
        pytest.param("", id="empty"),
        pytest.param("'; DROP TABLE contacts; --", id="sql"),
    ],
)
def test_a_cursor_whose_id_is_not_one_of_ours_is_refused(last_id: str) -> None:
    assert refused(raw_cursor("-created_at", "2026-01-02T00:00:00+00:00", last_id), NEWEST) == (
        NOT_VALID
    )


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        pytest.param(NEWEST, 1700000000.0, id="number-for-datetime"),
        pytest.param(CLOSING, 20270131.0, id="number-for-date"),
        pytest.param(AMOUNT, 12.5, id="number-for-decimal"),
        pytest.param(RELEVANCE, "0.5", id="text-for-float"),
        pytest.param(NEWEST, "yesterday", id="words-for-datetime"),
        pytest.param(CLOSING, "2027-02-30", id="impossible-date"),
        pytest.param(AMOUNT, "twelve", id="words-for-decimal"),
    ],
)
def test_a_cursor_value_of_the_wrong_type_is_refused(sort: Sort, value: object) -> None:
    assert refused(raw_cursor(sort.name, value, new_id()), sort) == NOT_VALID


def test_a_cursor_with_a_timestamp_without_offset_is_refused() -> None:
    assert refused(raw_cursor("-created_at", "2026-01-02T03:04:05", new_id()), NEWEST) == (
        NOT_VALID
    )


@pytest.mark.parametrize("sort", [NEWEST, OLDEST, RELEVANCE], ids=lambda s: s.name)
def test_a_null_value_is_refused_for_a_sort_that_has_no_nulls(sort: Sort) -> None:
    assert refused(raw_cursor(sort.name, None, new_id()), sort) == NOT_VALID


def test_a_refusal_is_a_400_bad_request() -> None:
    with pytest.raises(BadRequest) as caught:
        decode_cursor("%%%", NEWEST)
    assert (caught.value.status, caught.value.code) == (400, "bad_request")


# Sorts and limits ---------------------------------------------------------------------------


def test_pick_sort_answers_the_named_sort_or_the_default() -> None:
    sorts = {s.name: s for s in (NEWEST, OLDEST)}
    assert pick_sort(sorts, "created_at", "-created_at") is OLDEST
    assert pick_sort(sorts, None, "-created_at") is NEWEST


def test_pick_sort_refuses_an_unknown_sort_naming_the_allowed_ones() -> None:
    sorts = {s.name: s for s in (NEWEST, OLDEST)}
    with pytest.raises(ValidationFailed) as caught:
        pick_sort(sorts, "title", "-created_at")
    assert caught.value.extra() == {
        "errors": [{"field": "sort", "message": "must be one of: -created_at, created_at"}]
    }


@pytest.mark.parametrize("limit", [1, 50, MAX_LIMIT])
def test_a_limit_from_1_to_the_maximum_is_accepted(limit: int) -> None:
    assert check_limit(limit) == limit


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_a_limit_outside_1_to_the_maximum_is_refused(limit: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_limit(limit)
    assert caught.value.extra() == {
        "errors": [{"field": "limit", "message": f"must be between 1 and {MAX_LIMIT}"}]
    }


# SQL shapes ----------------------------------------------------------------------------------


def test_order_by_puts_the_id_after_the_column_in_the_same_direction() -> None:
    assert NEWEST.order_by("c.id") == "c.created_at DESC, c.id DESC"
    assert OLDEST.order_by("c.id") == "c.created_at ASC, c.id ASC"


def test_order_by_keeps_nulls_last_in_both_directions() -> None:
    ascending = Sort("amount", "d.amount", Decimal, nullable=True)
    assert ascending.order_by("d.id") == "d.amount ASC NULLS LAST, d.id ASC"
    assert AMOUNT.order_by("d.id") == "d.amount DESC NULLS LAST, d.id DESC"


def test_after_compares_the_row_value_and_the_id_together() -> None:
    last_id = new_id()
    when = datetime(2026, 1, 2, tzinfo=UTC)
    params = Params("company")
    sql = NEWEST.after(Cursor("-created_at", when, last_id), "c.id", params)
    assert sql == "(c.created_at, c.id) < ($3, $2)"
    assert params.values == ["company", last_id, when]
    params = Params()
    assert OLDEST.after(Cursor("created_at", when, last_id), "c.id", params) == (
        "(c.created_at, c.id) > ($2, $1)"
    )
    assert params.values == [last_id, when]


def test_after_a_value_of_a_nullable_sort_also_takes_every_null() -> None:
    last_id = new_id()
    params = Params()
    sql = AMOUNT.after(Cursor("-amount", Decimal("5.00"), last_id), "d.id", params)
    assert sql == "(d.amount < $2 OR (d.amount = $2 AND d.id < $1) OR d.amount IS NULL)"
    assert params.values == [last_id, Decimal("5.00")]


def test_after_a_null_of_a_nullable_sort_takes_only_later_nulls() -> None:
    last_id = new_id()
    params = Params()
    sql = CLOSING.after(Cursor("expected_close_date", None, last_id), "d.id", params)
    assert sql == "(d.expected_close_date IS NULL AND d.id > $1)"
    assert params.values == [last_id]


def test_descending_is_read_from_the_leading_minus() -> None:
    assert NEWEST.descending
    assert not OLDEST.descending
