"""Money: decimal strings in a currency's own minor units, never floats."""

from __future__ import annotations

import re
from decimal import Decimal

# Active ISO 4217 codes. Minor units are 2 unless listed in _MINOR_UNITS.
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD
    MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB
    PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()
)
_MINOR_UNITS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
# ASCII digits only: Python's \d (and Decimal) read other scripts' digits too.
_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,4})?")


class InvalidMoney(ValueError):
    pass


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def check_currency(currency: str) -> str:
    if currency not in CURRENCIES:
        raise InvalidMoney("is not an active ISO 4217 currency code")
    return currency


def parse_amount(text: str, currency: str) -> Decimal:
    """`"1250"` in USD -> Decimal('1250.00'); more decimals than the currency has: refused."""
    if not _AMOUNT.fullmatch(text):
        raise InvalidMoney('must be a non-negative decimal string, e.g. "1250.00"')
    amount = Decimal(text)
    places = minor_units(currency)
    quantised = amount.quantize(Decimal(1).scaleb(-places))
    if quantised != amount:
        raise InvalidMoney(f"{currency} has {places} decimal places")
    return quantised


def format_amount(amount: Decimal, currency: str | None) -> str:
    places = minor_units(currency) if currency else 2
    return str(amount.quantize(Decimal(1).scaleb(-places)))
