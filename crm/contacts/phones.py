"""Phone numbers: read in any common format, stored and compared in E.164.

A number is accepted when its length and shape are possible for its country
(`is_possible_number`), not only when it falls in a range the library's
metadata already lists as allocated: numbering plans change faster than that
metadata, and a CRM must not refuse a customer's real, newly issued number.
"""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(number: str, default_region: str | None) -> str:
    """`number` in E.164, reading national formats with the company's `default_region`."""
    text = number.strip()
    if not text:
        raise InvalidPhone("must not be empty")
    if not text.startswith("+") and default_region is None:
        raise InvalidPhone(
            "add the country code (e.g. +44...), or set the company's default_region"
        )
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone("is not a possible phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_region(code: str) -> bool:
    """Whether `code` is a country or region whose phone numbers can be read."""
    return code in phonenumbers.SUPPORTED_REGIONS
