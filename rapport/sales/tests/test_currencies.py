"""Currency codes, money judging and conversion through dated exchange rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.core.errors import ValidationFailed
from rapport.sales.currencies import (
    CURRENCIES,
    MissingRate,
    RateBook,
    clean_currency,
    clean_money,
    convert,
    convert_totals,
    format_money,
)
from rapport.sales.models import ExchangeRate

D = Decimal


def reason(exc_info, field):
    return exc_info.value.errors[field]


# --- the table ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code, places", [
    ("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("CLP", 0), ("ISK", 0), ("VND", 0),
    ("KWD", 3), ("BHD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3), ("LYD", 3), ("IQD", 3), ("CLF", 4),
])
def test_minor_units_follow_iso_4217(code, places):
    assert CURRENCIES[code] == places


def test_table_holds_only_three_letter_codes_and_no_withdrawn_or_unit_codes():
    assert len(CURRENCIES) > 150
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in CURRENCIES)
    for gone in ("DEM", "FRF", "HRK", "XAU", "XDR", "XTS", "XXX", "ZWL"):
        assert gone not in CURRENCIES


# --- clean_currency -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, code", [("eur", "EUR"), (" usd ", "USD"), ("JPY", "JPY")])
def test_clean_currency_upper_cases_known_codes(value, code):
    assert clean_currency(value) == code


@pytest.mark.parametrize("value, expected", [
    ("XYZ", "unknown currency 'XYZ'"),
    ("euro", "unknown currency 'euro'"),
    ("€", "unknown currency '€'"),
    ("", "choose a currency (ISO 4217 code, e.g. EUR)"),
    ("   ", "choose a currency (ISO 4217 code, e.g. EUR)"),
    (None, "choose a currency (ISO 4217 code, e.g. EUR)"),
    (978, "a currency is a three-letter ISO 4217 code, e.g. EUR"),
])
def test_clean_currency_rejects_with_a_reason_naming_the_field(value, expected):
    with pytest.raises(ValidationFailed) as exc:
        clean_currency(value, field="prices.currency")
    assert exc.value.errors == {"prices.currency": expected}


def test_clean_currency_shortens_a_long_unknown_value_in_its_message():
    with pytest.raises(ValidationFailed) as exc:
        clean_currency("x" * 500)
    assert len(reason(exc, "currency")) < 40


# --- clean_money --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, currency, expected", [
    ("10", "EUR", D("10.00")),
    ("10.5", "EUR", D("10.50")),
    (" 10.50 ", "eur", D("10.50")),
    ("10.500", "EUR", D("10.50")),  # trailing zeros are not extra precision
    (10, "USD", D("10.00")),
    (19.99, "USD", D("19.99")),
    (D("0"), "EUR", D("0.00")),
    ("1200", "JPY", D("1200")),
    ("1200.0", "JPY", D("1200")),
    ("1.234", "KWD", D("1.234")),
    ("1e3", "EUR", D("1000.00")),
    ("999999999999.99", "EUR", D("999999999999.99")),
])
def test_clean_money_accepts_amounts_and_sets_the_currency_minor_units(value, currency, expected):
    result = clean_money(value, currency, field="unit_price")
    assert result == expected
    assert result.as_tuple().exponent == -CURRENCIES[currency.strip().upper()]


@pytest.mark.parametrize("value, currency, expected", [
    ("10.005", "EUR", "at most 2 decimal places for EUR"),
    ("0.001", "USD", "at most 2 decimal places for USD"),
    ("12.5", "JPY", "no decimal places for JPY"),
    ("1.2345", "KWD", "at most 3 decimal places for KWD"),
    ("-1", "EUR", "must not be negative"),
    ("-0.01", "EUR", "must not be negative"),
    ("abc", "EUR", "not a number"),
    ("1,200.50", "EUR", "not a number"),
    ("12 EUR", "EUR", "not a number"),
    ("NaN", "EUR", "not a number"),
    ("Infinity", "EUR", "not a number"),
    (float("nan"), "EUR", "not a number"),
    (True, "EUR", "not a number"),
    (None, "EUR", "not a number"),
    ([10], "EUR", "not a number"),
    ({"amount": 10}, "EUR", "not a number"),
    ("", "EUR", "enter an amount"),
    ("1e12", "EUR", "too large (at most 999,999,999,999)"),
    ("10", "XYZ", "unknown currency 'XYZ'"),
    ("10", "", "choose a currency (ISO 4217 code, e.g. EUR)"),
])
def test_clean_money_rejects_naming_the_field_and_the_reason(value, currency, expected):
    with pytest.raises(ValidationFailed) as exc:
        clean_money(value, currency, field="unit_price")
    assert exc.value.errors == {"unit_price": expected}


def test_clean_money_may_allow_negative_amounts_but_still_checks_decimals():
    assert clean_money("-5.25", "EUR", field="amount", allow_negative=True) == D("-5.25")
    with pytest.raises(ValidationFailed) as exc:
        clean_money("-5.255", "EUR", field="amount", allow_negative=True)
    assert reason(exc, "amount") == "at most 2 decimal places for EUR"


def test_format_money_groups_and_uses_minor_units():
    assert format_money(D("1234.5"), "EUR") == "1,234.50 EUR"
    assert format_money(D("1200"), "JPY") == "1,200 JPY"
    assert format_money(D("0.1255"), "KWD") == "0.126 KWD"
    assert format_money(None, "EUR") == ""


# --- conversion ---------------------------------------------------------------------------------

@pytest.fixture
def rates(db, settings):
    settings.RAPPORT_BASE_CURRENCY = "EUR"
    rows = [
        ("USD", "0.9000000000", dt.date(2024, 1, 1)),
        ("USD", "0.8000000000", dt.date(2024, 6, 1)),
        ("GBP", "1.2000000000", dt.date(2024, 1, 1)),
        ("JPY", "0.0062500000", dt.date(2024, 3, 1)),
    ]
    ExchangeRate.objects.bulk_create(ExchangeRate(currency=c, rate=D(r), valid_from=d) for c, r, d in rows)


def test_convert_to_the_base_uses_the_latest_rate_on_or_before_the_date(rates):
    assert convert(D("100"), "USD", "EUR", dt.date(2024, 1, 1)) == D("90.00")
    assert convert(D("100"), "USD", "EUR", dt.date(2024, 5, 31)) == D("90.00")
    assert convert(D("100"), "USD", "EUR", dt.date(2024, 6, 1)) == D("80.00")
    assert convert(D("100"), "USD", "EUR", dt.date(2030, 1, 1)) == D("80.00")


def test_convert_from_the_base_and_across_through_the_base(rates):
    assert convert(D("90"), "EUR", "USD", dt.date(2024, 2, 1)) == D("100.00")
    # 100 GBP = 120 EUR = 150 USD at 0.8 EUR per USD
    assert convert(D("100"), "GBP", "USD", dt.date(2024, 7, 1)) == D("150.00")
    # 160 EUR -> JPY at 0.00625 EUR per yen = 25,600 yen, rounded to whole yen
    assert convert(D("160.01"), "EUR", "JPY", dt.date(2024, 3, 1)) == D("25602")


def test_convert_same_currency_needs_no_rate(db):
    assert convert(D("12.34"), "CHF", "CHF", dt.date(2000, 1, 1)) == D("12.34")


def test_convert_takes_floats_and_ints_by_their_written_value(rates):
    assert convert(0.1, "USD", "EUR", dt.date(2024, 2, 1)) == D("0.09")
    assert convert(100, "USD", "EUR", dt.date(2024, 2, 1)) == D("90.00")
    total, unconverted = convert_totals([(0.1, "CHF", dt.date(2024, 2, 1))], "EUR")
    assert unconverted == {"CHF": D("0.1")}


def test_convert_takes_an_aware_datetime_on_its_utc_date(rates):
    from zoneinfo import ZoneInfo

    # 00:30 on 1 June in Berlin is still 31 May in UTC: the old rate applies.
    moment = dt.datetime(2024, 6, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert convert(D("100"), "USD", "EUR", moment) == D("90.00")


def test_convert_before_the_first_rate_raises_a_clear_missing_rate(rates):
    with pytest.raises(MissingRate) as exc:
        convert(D("100"), "USD", "EUR", dt.date(2023, 12, 31))
    assert exc.value.currency == "USD"
    assert exc.value.on_date == dt.date(2023, 12, 31)
    assert "no exchange rate for USD on or before 2023-12-31" in str(exc.value)
    assert "EUR" in str(exc.value)


def test_convert_with_no_rate_for_the_target_raises_missing_rate(rates):
    with pytest.raises(MissingRate) as exc:
        convert(D("100"), "EUR", "CHF", dt.date(2024, 6, 1))
    assert exc.value.currency == "CHF"


def test_the_base_currency_follows_the_setting(rates, settings):
    settings.RAPPORT_BASE_CURRENCY = "USD"
    # The stored rates were against EUR; against a USD base a USD amount needs no rate...
    assert convert(D("5"), "USD", "USD", dt.date(2024, 6, 1)) == D("5.00")
    # ...and EUR, now a foreign currency, has no rate of its own.
    with pytest.raises(MissingRate):
        convert(D("5"), "EUR", "USD", dt.date(2024, 6, 1))


def test_convert_totals_adds_what_it_can_and_keeps_the_rest_apart(rates):
    rows = [
        (D("100"), "USD", dt.date(2024, 2, 1)),     # 90 EUR
        (D("100"), "USD", dt.date(2024, 7, 1)),     # 80 EUR
        (D("10.00"), "EUR", dt.date(2019, 1, 1)),   # base, no rate needed
        (D("1200"), "JPY", dt.date(2024, 2, 1)),    # before the first yen rate
        (D("800"), "JPY", dt.date(2024, 4, 1)),     # 5 EUR
        (D("300"), "JPY", dt.date(2024, 1, 15)),    # no rate either
        (D("50"), "CHF", dt.date(2024, 4, 1)),      # never had a rate
        (None, "USD", dt.date(2024, 4, 1)),         # no amount: skipped
    ]
    total, unconverted = convert_totals(rows, "EUR")
    assert total == D("185.00")
    assert unconverted == {"JPY": D("1500"), "CHF": D("50")}


def test_convert_totals_rounds_once_at_the_end(rates):
    # Three amounts of 0.01 USD are 0.009 EUR each: rounding each would make 0.03, not 0.027.
    total, unconverted = convert_totals([(D("0.01"), "USD", dt.date(2024, 2, 1))] * 3, "EUR")
    assert total == D("0.03")
    total, _ = convert_totals([(D("0.01"), "USD", dt.date(2024, 2, 1))] * 100, "EUR")
    assert total == D("0.90")
    assert unconverted == {}


def test_convert_totals_into_a_currency_without_a_rate_converts_only_that_currency(rates):
    total, unconverted = convert_totals([(D("5"), "CHF", dt.date(2024, 1, 1)), (D("7"), "EUR", dt.date(2024, 1, 1))],
                                        "CHF")
    assert total == D("5.00")
    assert unconverted == {"EUR": D("7")}


def test_convert_totals_reads_each_currency_rates_once(rates, django_assert_num_queries):
    rows = [(D("1"), "USD", dt.date(2024, 1, 1) + dt.timedelta(days=i)) for i in range(300)]
    rows += [(D("1"), "GBP", dt.date(2024, 1, 1) + dt.timedelta(days=i)) for i in range(300)]
    with django_assert_num_queries(2):
        total, unconverted = convert_totals(rows, "EUR")
    assert unconverted == {}
    assert total > 0


def test_rate_book_reports_the_rate_in_force(rates):
    book = RateBook()
    assert book.rate("USD", dt.date(2024, 6, 2)) == D("0.8")
    assert book.rate("EUR", dt.date(1990, 1, 1)) == D("1")
