"""The values of an order, judged the same way by the service, the API and the file importer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from rapport.core.errors import ValidationFailed

from ...currencies import format_money, round_money
from ...models import OrderChannel

EXTERNAL_ID_LIMIT = 100
QUANTITY_PLACES = 3
LARGEST_QUANTITY = Decimal("1e11")  # 14 digits, 3 after the point
# An order dated this far ahead is a typing or time-zone mistake, not a purchase.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def clean_quantity(value: Any, *, field: str = "quantity") -> Decimal:
    """A quantity bought: a number above zero with at most three decimals (1, 2.5, 0.125 kg)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValidationFailed({field: "enter a quantity"})
    text = value.strip() if isinstance(value, str) else str(value)
    if not text:
        raise ValidationFailed({field: "enter a quantity"})
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed({field: "not a number"}) from None
    if not number.is_finite():
        raise ValidationFailed({field: "not a number"})
    if number <= 0:
        raise ValidationFailed({field: "must be more than zero"})
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > QUANTITY_PLACES:
        raise ValidationFailed({field: f"at most {QUANTITY_PLACES} decimal places"})
    if number >= LARGEST_QUANTITY:
        raise ValidationFailed({field: "too large"})
    return number.quantize(Decimal(1).scaleb(-QUANTITY_PLACES))


def line_total(quantity: Decimal, unit_price: Decimal, currency: str) -> Decimal:
    """Quantity x unit price, rounded half up to the currency's minor units."""
    return round_money(quantity * unit_price, currency)


def parse_ordered_at(value: Any) -> dt.datetime:
    """An ISO 8601 date or date and time; a date alone is midnight UTC, a time without an offset
    is UTC (the zone everything is stored in). Raises ValueError with the reason."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("enter the date of the order")
        try:
            when = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
        except ValueError:
            raise ValueError(f"'{text[:40]}' is not a date; use 2026-01-31 or 2026-01-31T14:30:00Z") from None
    else:
        raise ValueError("use a date such as 2026-01-31 or 2026-01-31T14:30:00Z")
    if timezone.is_naive(when):
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def check_not_future(when: dt.datetime, now: dt.datetime) -> None:
    if when > now + FUTURE_TOLERANCE:
        raise ValueError("an order cannot be dated in the future")


CHANNEL_LABELS = dict(OrderChannel.choices)  # read once: the enum builds its lists on every access


def purchase_summary(total: Decimal, currency: str, channel: str, lines: int) -> str:
    label = CHANNEL_LABELS.get(channel, channel)
    return f"Purchase: {format_money(total, currency)} · {lines} line{'s' if lines != 1 else ''} · {label}"[:300]


def purchase_payload(order_id: int, total: Decimal, currency: str, channel: str, categories: list[str]) -> dict:
    return {"order": order_id, "total": str(total), "currency": currency, "channel": channel,
            "categories": sorted(set(categories))}


