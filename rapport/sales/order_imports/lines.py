"""Judging one line of an orders file: pure Python, no database.

A file has one row per order line; the lines of one order share its external id and repeat the
order's own columns (date, customer, channel, currency) on every line. A line is judged with the
same rules as `record_purchase` (`clean_quantity`, `clean_money`, `parse_ordered_at`, the e-mail
and domain normalisers), and comes out either accepted, with its values, or rejected, naming the
column and the reason.

Shop exports repeat the same few values (dates, prices, quantities, customers) thousands of
times, so each judgement of a cell is kept: a million lines cost a few hundred thousand judgements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from rapport.core.errors import ValidationFailed
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email

from ..currencies import CURRENCIES, clean_currency, clean_money, round_money
from ..models import OrderChannel
from ..services.orders import EXTERNAL_ID_LIMIT, check_not_future, clean_quantity, parse_ordered_at

# Column name -> what it holds. Headers are matched case-insensitively, spaces and dashes as "_".
COLUMNS = {
    "external_id": "external_id", "order_id": "external_id", "order_number": "external_id", "order": "external_id",
    "ordered_at": "ordered_at", "order_date": "ordered_at", "date": "ordered_at",
    "contact_email": "contact_email", "email": "contact_email", "customer_email": "contact_email",
    "company_domain": "company_domain", "domain": "company_domain",
    "channel": "channel", "currency": "currency", "sku": "sku", "product_sku": "sku",
    "quantity": "quantity", "qty": "quantity", "unit_price": "unit_price", "price": "unit_price",
}
REQUIRED = ("external_id", "ordered_at", "currency", "sku", "quantity", "unit_price")
EXPECTED = "external_id, ordered_at, contact_email and/or company_domain, channel, currency, sku, quantity, unit_price"
HEAD = ("ordered_at", "contact_email", "company_domain", "channel", "currency")
CACHE_LIMIT = 200_000  # cached judgements per kind of cell; beyond it, judged afresh


def header_key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def map_columns(headers: list[str]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """(field -> cell index, field -> the file's header, headers ignored), or ValidationFailed
    ({"file": reason}) naming what is missing or named twice."""
    index: dict[str, int] = {}
    names: dict[str, str] = {}
    ignored: list[str] = []
    for i, header in enumerate(headers):
        target = COLUMNS.get(header_key(header))
        if target is None:
            ignored.append(header)
            continue
        if target in index:
            raise ValidationFailed({"file": f"The columns '{names[target]}' and '{header}' both hold {target}; "
                                            "keep one of them."})
        index[target], names[target] = i, header
    missing = [name for name in REQUIRED if name not in index]
    if "contact_email" not in index and "company_domain" not in index:
        missing.append("contact_email or company_domain")
    if missing:
        raise ValidationFailed({"file": f"The file has no column for: {', '.join(missing)}. An orders file has "
                                        f"one row per order line with the columns {EXPECTED}. Its columns are: "
                                        f"{', '.join(headers)}."})
    return index, names, ignored


@dataclass(slots=True)
class Line:
    """An accepted line. `head` is what every line of its order must repeat:
    (ordered_at, contact_email, company_domain, channel, currency)."""

    number: int
    external_id: str
    head: tuple
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


@dataclass(slots=True)
class BadLine:
    number: int
    external_id: str
    column: str
    reason: str


class LineJudge:
    """Judges lines against the products known by SKU (`products`: sku -> id)."""

    def __init__(self, index: dict[str, int], names: dict[str, str], products: dict[str, int], *,
                 now: dt.datetime | None = None):
        self.names = names
        self.products = products
        self.width = max(index.values()) + 1
        self.i_external = index["external_id"]
        self.i_sku, self.i_quantity, self.i_price = index["sku"], index["quantity"], index["unit_price"]
        self.i_head = [index.get(name) for name in HEAD]
        self.now = now or dt.datetime.now(dt.UTC)
        self._heads: dict[tuple, tuple | tuple[str, str]] = {}
        self._quantities: dict[str, Decimal | str] = {}
        self._prices: dict[tuple[str, str], Decimal | str] = {}

    def column(self, field: str) -> str:
        return self.names.get(field, field)

    def judge(self, number: int, cells: list[str]) -> Line | BadLine:
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        external_id = cells[self.i_external].strip()
        if not external_id:
            return BadLine(number, "", self.column("external_id"), "the order's id is required: it groups the lines "
                                                                   "of one order")
        if len(external_id) > EXTERNAL_ID_LIMIT:
            return BadLine(number, external_id, self.column("external_id"), f"at most {EXTERNAL_ID_LIMIT} characters")
        problems: list[tuple[str, str]] = []
        raw_head = tuple(cells[i].strip() if i is not None else "" for i in self.i_head)
        head = self._heads.get(raw_head)
        if head is None:
            head = self._judge_head(raw_head)
            if len(self._heads) < CACHE_LIMIT:
                self._heads[raw_head] = head
        if len(head) == 2:  # (column, reason)
            problems.append(head)
            currency = None
        else:
            currency = head[4]
        sku = cells[self.i_sku].strip()
        product_id = self.products.get(sku)
        if product_id is None:
            problems.append((self.column("sku"), f"no product with SKU '{sku[:64]}'" if sku else "the SKU is required"))
        raw_quantity = cells[self.i_quantity].strip()
        quantity = self._quantities.get(raw_quantity)
        if quantity is None:
            try:
                quantity = clean_quantity(raw_quantity, field="quantity")
            except ValidationFailed as exc:
                quantity = exc.errors["quantity"]
            if len(self._quantities) < CACHE_LIMIT:
                self._quantities[raw_quantity] = quantity
        if isinstance(quantity, str):
            problems.append((self.column("quantity"), quantity))
        price = None
        if currency is not None:
            raw_price = cells[self.i_price].strip()
            key = (currency, raw_price)
            price = self._prices.get(key)
            if price is None:
                try:
                    price = clean_money(raw_price, currency, field="unit_price")
                except ValidationFailed as exc:
                    price = exc.errors["unit_price"]
                if len(self._prices) < CACHE_LIMIT:
                    self._prices[key] = price
            if isinstance(price, str):
                problems.append((self.column("unit_price"), price))
        if problems:
            return BadLine(number, external_id, "; ".join(c for c, _ in problems), "; ".join(r for _, r in problems))
        return Line(number, external_id, head, product_id, quantity, price,
                    round_money(quantity * price, currency))

    def _judge_head(self, raw: tuple[str, ...]) -> tuple:
        """The order's own values from one line, or (column, reason) for the first bad one."""
        when_text, email_text, domain_text, channel_text, currency_text = raw
        problems = []
        when = email = domain = None
        try:
            when = parse_ordered_at(when_text)
            check_not_future(when, self.now)
        except ValueError as exc:
            problems.append((self.column("ordered_at"), str(exc)))
        if email_text:
            try:
                email = normalize_email(email_text)
            except InvalidValue as exc:
                problems.append((self.column("contact_email"), str(exc)))
        if domain_text:
            try:
                domain = normalize_domain(domain_text)
            except InvalidValue as exc:
                problems.append((self.column("company_domain"), str(exc)))
            else:
                domain = domain or None
        if not email_text and not domain_text:
            column = self.column("contact_email") if "contact_email" in self.names else self.column("company_domain")
            problems.append((column, "give the customer's e-mail address or company domain"))
        channel = channel_text.lower() or OrderChannel.OTHER
        if channel not in OrderChannel.values:
            problems.append((self.column("channel"), f"choose one of: {', '.join(OrderChannel.values)}"))
        currency = currency_text.upper()
        if currency not in CURRENCIES:
            try:
                clean_currency(currency_text)
            except ValidationFailed as exc:
                problems.append((self.column("currency"), exc.errors["currency"]))
        if problems:
            return "; ".join(c for c, _ in problems), "; ".join(r for _, r in problems)
        return (when, email, domain, channel, currency)


def head_difference(first: tuple, other: tuple) -> str | None:
    """The first of the order's own values in which two lines of one order disagree."""
    for name, a, b in zip(HEAD, first, other, strict=True):
        if a != b:
            return name
    return None
