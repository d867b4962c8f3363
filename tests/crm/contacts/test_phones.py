"""Phone numbers: read in national or international form, kept in E.164."""

from __future__ import annotations

import pytest

from crm.contacts.phones import InvalidPhone, is_region, to_e164


@pytest.mark.parametrize(
    ("number", "region", "e164"),
    [
        pytest.param("020 7946 0018", "GB", "+442079460018", id="gb-national"),
        pytest.param("(415) 555-0132", "US", "+14155550132", id="us-national-brackets"),
        pytest.param("415.555.0132", "US", "+14155550132", id="us-national-dots"),
        pytest.param("030 123456", "DE", "+4930123456", id="de-national"),
        pytest.param("03-1234-5678", "JP", "+81312345678", id="jp-national"),
        pytest.param("0044 20 7946 0018", "GB", "+442079460018", id="gb-international-prefix"),
    ],
)
def test_a_national_number_is_read_with_the_region(number: str, region: str, e164: str) -> None:
    assert to_e164(number, region) == e164


@pytest.mark.parametrize(
    ("number", "region", "e164"),
    [
        pytest.param("+44 20 7946 0018", None, "+442079460018", id="no-region"),
        pytest.param("+1 (415) 555-0132", None, "+14155550132", id="punctuated"),
        pytest.param("+1 415 555 0132", "DE", "+14155550132", id="other-region"),
        pytest.param("+33 1 23 45 67 89", "US", "+33123456789", id="fr-from-us"),
        pytest.param("  +14155550132  ", None, "+14155550132", id="surrounding-spaces"),
        pytest.param("+14155550132", "US", "+14155550132", id="already-e164"),
    ],
)
def test_an_international_number_keeps_its_own_country_whatever_the_region(
    number: str, region: str | None, e164: str
) -> None:
    assert to_e164(number, region) == e164


def test_a_number_in_a_range_the_metadata_does_not_list_is_accepted_when_possible() -> None:
    # US area code 200 is not assigned, but the number has a possible US shape.
    assert to_e164("+1 200 555 0132", None) == "+12005550132"


def test_the_same_number_written_two_ways_is_the_same_e164() -> None:
    assert to_e164("020 7946 0018", "GB") == to_e164("+44 (0)20 7946 0018", None)


def test_a_national_number_without_a_region_is_refused_asking_for_one() -> None:
    with pytest.raises(InvalidPhone) as caught:
        to_e164("4155550132", None)
    assert str(caught.value) == (
        "add the country code (e.g. +44...), or set the company's default_region"
    )


@pytest.mark.parametrize("number", ["", "   "])
def test_an_empty_number_is_refused(number: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        to_e164(number, "US")
    assert str(caught.value) == "must not be empty"


@pytest.mark.parametrize(
    ("number", "region"),
    [
        pytest.param("abc", "US", id="letters"),
        pytest.param("1", "US", id="one-digit"),
        pytest.param("+999 123", None, id="unknown-country-code"),
        pytest.param("0201234567890123456", "GB", id="too-long"),
    ],
)
def test_text_that_is_no_phone_number_is_refused(number: str, region: str | None) -> None:
    with pytest.raises(InvalidPhone) as caught:
        to_e164(number, region)
    assert str(caught.value) == "is not a phone number"


@pytest.mark.parametrize(
    ("number", "region"),
    [
        pytest.param("+44 12", None, id="gb-too-short"),
        pytest.param("555", "US", id="us-too-short"),
        pytest.param("+1 415 555 01329", None, id="us-too-long"),
    ],
)
def test_a_number_of_an_impossible_length_for_its_country_is_refused(
    number: str, region: str | None
) -> None:
    with pytest.raises(InvalidPhone) as caught:
        to_e164(number, region)
    assert str(caught.value) == "is not a possible phone number for its country"


@pytest.mark.parametrize("code", ["US", "GB", "DE", "JP", "BR", "IN"])
def test_a_country_with_phone_numbers_is_a_region(code: str) -> None:
    assert is_region(code)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("us", id="lower-case"),
        pytest.param("UK", id="not-iso"),
        pytest.param("ZZ", id="unknown"),
        pytest.param("USA", id="alpha-3"),
        pytest.param("", id="empty"),
    ],
)
def test_anything_but_a_known_upper_case_country_code_is_no_region(code: str) -> None:
    assert not is_region(code)
