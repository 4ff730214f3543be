"""Currencies: which codes exist, how amounts in them are judged, and how reports convert them.

One place judges money so that a price typed on a form, sent to the API or read from an order
file is accepted or refused for the same reason. Conversion never guesses: an amount whose
currency has no exchange rate on its date stays apart as "unconverted" instead of being added
to a total it does not belong in.

An `ExchangeRate` row says what one unit of its currency is worth in the base currency
(`settings.RAPPORT_BASE_CURRENCY`) from `valid_from` on. Converting between two other
currencies goes through the base: amount x rate(from) / rate(to).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

from rapport.core.errors import ValidationFailed

# ISO 4217 active currency codes and their minor units (decimal places). Precious metals,
# the test code and other units without minor units (XAU, XDR, XTS, XXX...) are left out:
# nobody prices a product in them.
CURRENCIES: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
    "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2,
    "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "COU": 2,
    "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
    "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2,
    "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0,
    "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2,
    "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2,
    "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2,
    "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
    "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
    "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2,
    "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2,
    "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2,
    "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2,
    "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0,
    "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

# The money columns hold 16 digits, 4 after the point: 12 before it.
LARGEST_AMOUNT = Decimal("1e12")


class MissingRate(LookupError):
    """No exchange rate lets this amount be converted on this date."""

    def __init__(self, currency: str, on_date: dt.date):
        self.currency = currency
        self.on_date = on_date
        super().__init__(
            f"no exchange rate for {currency} on or before {on_date.isoformat()} "
            f"(rates are against {base_currency()}; an admin adds them under Products → Exchange rates)"
        )


def base_currency() -> str:
    return settings.RAPPORT_BASE_CURRENCY


def minor_units(currency: str) -> int:
    return CURRENCIES[currency]


def currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in CURRENCIES]


def clean_currency(value, *, field: str = "currency") -> str:
    """The ISO 4217 code in capitals, or ValidationFailed({field: reason})."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed({field: "choose a currency (ISO 4217 code, e.g. EUR)"})
    if not isinstance(value, str):
        raise ValidationFailed({field: "a currency is a three-letter ISO 4217 code, e.g. EUR"})
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise ValidationFailed({field: f"unknown currency '{value.strip()[:10]}'"})
    return code


def parse_decimal(value, field: str) -> Decimal:
    """A finite Decimal from a string or number, or ValidationFailed({field: "not a number"})."""
    # bool is an int to Python, but `true` is not a price.
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValidationFailed({field: "not a number"})
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValidationFailed({field: "not a number"}) from None
    if not number.is_finite():
        raise ValidationFailed({field: "not a number"})
    return number


def decimal_places(number: Decimal) -> int:
    """Places the value needs: "10.50" needs 1 and "10.500" too; trailing zeros cost nothing."""
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def clean_money(value, currency, *, field: str, allow_negative: bool = False) -> Decimal:
    """An amount of `currency` as a Decimal with the currency's minor units.

    Refuses, naming `field`: an unknown currency, anything that is not a number, a negative
    amount (unless allowed: refunds, credit notes), more decimals than the currency has
    (10.005 EUR is not a price anyone can pay) and amounts too large to store.
    """
    code = clean_currency(currency, field=field)
    if isinstance(value, str) and not value.strip():
        raise ValidationFailed({field: "enter an amount"})
    number = parse_decimal(value, field)
    if number < 0 and not allow_negative:
        raise ValidationFailed({field: "must not be negative"})
    places = CURRENCIES[code]
    if decimal_places(number) > places:
        reason = f"no decimal places for {code}" if places == 0 else f"at most {places} decimal places for {code}"
        raise ValidationFailed({field: reason})
    if abs(number) >= LARGEST_AMOUNT:
        raise ValidationFailed({field: "too large (at most 999,999,999,999)"})
    return number.quantize(Decimal(1).scaleb(-places))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's minor units (the usual commercial rounding)."""
    return amount.quantize(Decimal(1).scaleb(-CURRENCIES.get(currency, 2)), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | None, currency: str) -> str:
    """1234.5, "EUR" -> "1,234.50 EUR": grouped, with the currency's own minor units."""
    if amount is None:
        return ""
    places = CURRENCIES.get(currency, 2)
    return f"{round_money(Decimal(amount), currency):,.{places}f} {currency}"


def _amount(value) -> Decimal:
    # Through str for floats: Decimal(0.1) is 0.1000000000000000055511151231257827...
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _as_date(on_date) -> dt.date:
    # An aware datetime counts on its UTC date, the zone everything is stored in.
    if isinstance(on_date, dt.datetime):
        if on_date.tzinfo is not None:
            on_date = on_date.astimezone(dt.UTC)
        return on_date.date()
    if isinstance(on_date, dt.date):
        return on_date
    raise TypeError(f"on_date must be a date or datetime, not {type(on_date).__name__}")


class RateBook:
    """Exchange rates read once per currency and looked up by date in memory.

    A report converting a hundred thousand orders asks the database once per currency, not
    once per order.
    """

    def __init__(self):
        self.base = base_currency()
        self._dates: dict[str, list[dt.date]] = {}
        self._rates: dict[str, list[Decimal]] = {}

    def _load(self, currency: str) -> None:
        from .models import ExchangeRate

        rows = list(ExchangeRate.objects.filter(currency=currency).order_by("valid_from").values_list("valid_from", "rate"))
        self._dates[currency] = [d for d, _ in rows]
        self._rates[currency] = [r for _, r in rows]

    def rate(self, currency: str, on_date) -> Decimal:
        """Units of the base currency one unit of `currency` is worth on `on_date`."""
        if currency == self.base:
            return Decimal(1)
        if currency not in self._dates:
            self._load(currency)
        day = _as_date(on_date)
        i = bisect.bisect_right(self._dates[currency], day)
        if i == 0:
            raise MissingRate(currency, day)
        return self._rates[currency][i - 1]

    def convert_exact(self, amount: Decimal, currency: str, to_currency: str, on_date) -> Decimal:
        """Unrounded, so a total of many converted amounts is rounded once, at the end."""
        amount = _amount(amount)
        if currency == to_currency:
            return amount
        return amount * self.rate(currency, on_date) / self.rate(to_currency, on_date)


def convert(amount, currency: str, to_currency: str, on_date) -> Decimal:
    """`amount` of `currency` in `to_currency`, with the latest rates on or before `on_date`,
    rounded to `to_currency`'s minor units. Raises MissingRate when either side has no rate."""
    book = RateBook()
    return round_money(book.convert_exact(amount, currency, to_currency, on_date), to_currency)


def convert_totals(rows: Iterable[tuple], to_currency: str, *, book: RateBook | None = None
                   ) -> tuple[Decimal, dict[str, Decimal]]:
    """Add up (amount, currency, date) rows in `to_currency`.

    Returns (total, unconverted): the rounded total of every row that could be converted, and
    per currency the sum of the rows that could not (no rate on or before their date), so a
    page can say "plus 1,200 JPY without a rate" instead of quietly leaving them out or adding
    yen to euros. Rows with no amount are skipped.
    """
    book = book or RateBook()
    total = Decimal(0)
    unconverted: dict[str, Decimal] = {}
    for amount, currency, on_date in rows:
        if amount is None:
            continue
        try:
            total += book.convert_exact(amount, currency, to_currency, on_date)
        except MissingRate:
            unconverted[currency] = unconverted.get(currency, Decimal(0)) + _amount(amount)
    return round_money(total, to_currency), unconverted
