"""Money: amounts quantised to their currency's minor units, never rounded, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.money import (
    CURRENCIES,
    InvalidMoney,
    check_currency,
    format_amount,
    minor_units,
    parse_amount,
)


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        pytest.param("1250", "USD", "1250.00", id="usd-whole"),
        pytest.param("1250.5", "USD", "1250.50", id="usd-one-place"),
        pytest.param("0.01", "EUR", "0.01", id="eur-cent"),
        pytest.param("1250", "JPY", "1250", id="jpy-whole"),
        pytest.param("1250", "KWD", "1250.000", id="kwd-whole"),
        pytest.param("1.234", "KWD", "1.234", id="kwd-three-places"),
        pytest.param("0.1", "BHD", "0.100", id="bhd-one-place"),
        pytest.param("7.1234", "CLF", "7.1234", id="clf-four-places"),
        pytest.param("0", "GBP", "0.00", id="zero"),
    ],
)
def test_an_amount_is_quantised_to_its_currencys_minor_units(
    text: str, currency: str, amount: str
) -> None:
    parsed = parse_amount(text, currency)
    assert isinstance(parsed, Decimal)
    assert str(parsed) == amount


@pytest.mark.parametrize(
    ("text", "currency", "places"),
    [
        pytest.param("1250.5", "JPY", 0, id="jpy-has-none"),
        pytest.param("0.001", "USD", 2, id="usd-has-two"),
        pytest.param("1.2345", "KWD", 3, id="kwd-has-three"),
        pytest.param("5.1", "KRW", 0, id="krw-has-none"),
    ],
)
def test_more_decimals_than_the_currency_has_are_refused_not_rounded(
    text: str, currency: str, places: int
) -> None:
    with pytest.raises(InvalidMoney) as caught:
        parse_amount(text, currency)
    assert str(caught.value) == f"{currency} has {places} decimal places"


def test_trailing_zeros_beyond_the_minor_units_are_still_the_same_amount() -> None:
    assert str(parse_amount("1250.00", "JPY")) == "1250"
    assert str(parse_amount("3.1000", "USD")) == "3.10"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("-1", id="negative"),
        pytest.param("1e3", id="exponent"),
        pytest.param("1,000.00", id="thousands-separator"),
        pytest.param("12.", id="trailing-point"),
        pytest.param(".5", id="leading-point"),
        pytest.param("1.23456", id="five-places"),
        pytest.param("", id="empty"),
        pytest.param(" 1", id="leading-space"),
        pytest.param("NaN", id="nan"),
        pytest.param("Infinity", id="infinity"),
    ],
)
def test_anything_but_a_plain_decimal_string_is_refused(text: str) -> None:
    with pytest.raises(InvalidMoney) as caught:
        parse_amount(text, "USD")
    assert str(caught.value) == 'must be a non-negative decimal string, e.g. "1250.00"'


def test_the_largest_amount_keeps_every_digit() -> None:
    assert str(parse_amount("999999999999999.99", "USD")) == "999999999999999.99"
    assert str(parse_amount("999999999999999.9999", "CLF")) == "999999999999999.9999"


def test_more_than_fifteen_whole_digits_are_refused() -> None:
    with pytest.raises(InvalidMoney):
        parse_amount("1" + "0" * 15, "USD")


@pytest.mark.parametrize(
    ("currency", "places"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_minor_units_follow_iso_4217(currency: str, places: int) -> None:
    assert minor_units(currency) == places


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD", "XCG", "ZWG"])
def test_an_active_currency_code_is_accepted(currency: str) -> None:
    assert check_currency(currency) == currency


@pytest.mark.parametrize(
    "currency",
    [
        pytest.param("usd", id="lower-case"),
        pytest.param("US", id="two-letters"),
        pytest.param("XXX", id="no-currency-code"),
        pytest.param("BTC", id="not-iso"),
        pytest.param("DEM", id="withdrawn"),
        pytest.param("", id="empty"),
    ],
)
def test_an_unknown_currency_code_is_refused(currency: str) -> None:
    with pytest.raises(InvalidMoney) as caught:
        check_currency(currency)
    assert str(caught.value) == "is not an active ISO 4217 currency code"


def test_every_listed_currency_is_three_capital_letters() -> None:
    assert all(len(code) == 3 and code.isascii() and code.isupper() for code in CURRENCIES)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("1250"), "USD", "1250.00"),
        (Decimal("1250"), "JPY", "1250"),
        (Decimal("1.5"), "KWD", "1.500"),
        (Decimal("1.5"), None, "1.50"),
        (Decimal("999999999999999.99"), "USD", "999999999999999.99"),
    ],
)
def test_format_amount_writes_every_minor_unit_of_the_currency(
    amount: Decimal, currency: str | None, text: str
) -> None:
    assert format_amount(amount, currency) == text


@pytest.mark.parametrize(("text", "currency"), [("1250.5", "USD"), ("12", "JPY"), ("0.125", "KWD")])
def test_format_reads_back_what_parse_made(text: str, currency: str) -> None:
    amount = parse_amount(text, currency)
    assert parse_amount(format_amount(amount, currency), currency) == amount
