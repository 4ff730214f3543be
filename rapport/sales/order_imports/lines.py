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
from decimal import ROUND_HALF_UP, Decimal
from json import dumps
from json.encoder import encode_basestring as quote_json
from operator import itemgetter

from rapport.core.errors import ValidationFailed
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email

from ..currencies import CURRENCIES, clean_currency, clean_money
from ..models import OrderChannel
from ..services.orders import (
    EXTERNAL_ID_LIMIT,
    check_not_future,
    clean_quantity,
    parse_ordered_at,
    purchase_summary,
)

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
    """An accepted line. `head` is what every line of its order must repeat: (ordered_at,
    contact_email, company_domain, channel, currency), then ordered_at as the database stores it and
    as the audit log writes it."""

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


CHANNELS = frozenset(OrderChannel.values)
ROUNDING = {code: Decimal(1).scaleb(-places) for code, places in CURRENCIES.items()}


class LineJudge:
    """Judges lines against the products known by SKU (`products`: sku -> id). `db_time` turns an
    aware datetime into what the database stores (done once per order here rather than per row)."""

    def __init__(self, index: dict[str, int], names: dict[str, str], products: dict[str, int], *,
                 now: dt.datetime | None = None, db_time=None, categories: dict[int, str] | None = None,
                 fmt=None):
        self.fmt = fmt  # the file's format (encoding, delimiter), for parsing chunks where lines are judged
        self.names = names
        self.products = products
        self.category_of = categories or {}
        self.sku_json = {pid: quote_json(sku) for sku, pid in products.items()}
        self._categories_json: dict[tuple, str] = {}
        self.width = max(index.values()) + 1
        self.i_external = index["external_id"]
        self.i_sku, self.i_quantity, self.i_price = index["sku"], index["quantity"], index["unit_price"]
        # An optional column the file lacks reads the empty cell appended at the end (index -1).
        self.lacks_column = any(index.get(name) is None for name in HEAD)
        self.head_cells = itemgetter(*[-1 if index.get(name) is None else index[name] for name in HEAD])
        self.now = now or dt.datetime.now(dt.UTC)
        self.db_time = db_time or (lambda when: when)
        self._heads: dict[tuple, tuple] = {}
        self._quantities: dict[str, Decimal | str] = {}
        self._prices: dict[tuple[str, str], Decimal | str] = {}
        self._totals: dict[tuple, Decimal] = {}
        # Until the importer says how its order rows look: just the drafted values, in this order.
        self.set_order_row(["external_id", "ordered_at", "channel", "currency", "total"], [None] * 5,
                           money_as_text=True)

    def column(self, field: str) -> str:
        return self.names.get(field, field)

    def set_order_row(self, columns: list[str], template: list, *, money_as_text: bool) -> None:
        """How an order's row looks after its id and customer columns: `columns` in insert order,
        `template` their values for a new order. Set by the importer before any line is judged."""
        self._order_template = template
        self._order_at = [columns.index(name) for name in ("external_id", "ordered_at", "channel", "currency", "total")]
        self.money_as_text = money_as_text

    def order_rest(self, external_id, when_db, channel, currency, total) -> tuple:
        row = self._order_template.copy()
        i_ext, i_when, i_channel, i_currency, i_total = self._order_at
        row[i_ext], row[i_when], row[i_channel], row[i_currency], row[i_total] = (
            external_id, when_db, channel, currency, total)
        return tuple(row)

    def categories_json(self, names: list[str]) -> str:
        key = tuple(names)
        found = self._categories_json.get(key)
        if found is None:
            found = self._categories_json[key] = dumps(sorted(set(names)))
        return found

    def judge(self, number: int, cells: list[str]) -> Line | BadLine:
        """One line. Every cell judgement is remembered (see the module's docstring)."""
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        external_id = cells[self.i_external].strip()
        if not external_id:
            return BadLine(number, "", self.column("external_id"), "the order's id is required: it groups the lines "
                                                                   "of one order")
        if len(external_id) > EXTERNAL_ID_LIMIT:
            return BadLine(number, external_id, self.column("external_id"), f"at most {EXTERNAL_ID_LIMIT} characters")
        problems: list[tuple[str, str]] | None = None
        raw_head = self.head_cells(cells + [""] if self.lacks_column else cells)
        head = self._heads.get(raw_head)
        if head is None:
            head = self._judge_head(raw_head)
            if len(self._heads) >= CACHE_LIMIT:
                self._heads.clear()  # dates rarely repeat far apart: start afresh rather than grow
            self._heads[raw_head] = head
        if len(head) == 2:  # (column, reason)
            problems = [head]
            currency = None
        else:
            currency = head[4]
        sku = cells[self.i_sku]
        product_id = self.products.get(sku)
        if product_id is None:
            sku = sku.strip()
            product_id = self.products.get(sku)
            if product_id is None:
                problems = problems or []
                problems.append((self.column("sku"),
                                 f"no product with SKU '{sku[:64]}'" if sku else "the SKU is required"))
        raw_quantity = cells[self.i_quantity]
        quantity = self._quantities.get(raw_quantity)
        if quantity is None:
            try:
                quantity = clean_quantity(raw_quantity, field="quantity")
            except ValidationFailed as exc:
                quantity = exc.errors["quantity"]
            if len(self._quantities) < CACHE_LIMIT:
                self._quantities[raw_quantity] = quantity
        if quantity.__class__ is str:
            problems = problems or []
            problems.append((self.column("quantity"), quantity))
        price = None
        if currency is not None:
            key = (currency, cells[self.i_price])
            price = self._prices.get(key)
            if price is None:
                try:
                    price = clean_money(key[1], currency, field="unit_price")
                except ValidationFailed as exc:
                    price = exc.errors["unit_price"]
                if len(self._prices) < CACHE_LIMIT:
                    self._prices[key] = price
            if price.__class__ is str:
                problems = problems or []
                problems.append((self.column("unit_price"), price))
        if problems:
            return BadLine(number, external_id, "; ".join(c for c, _ in problems), "; ".join(r for _, r in problems))
        key = (quantity, price, currency)
        total = self._totals.get(key)
        if total is None:
            total = (quantity * price).quantize(ROUNDING[currency], rounding=ROUND_HALF_UP)
            if len(self._totals) < CACHE_LIMIT:
                self._totals[key] = total
        return Line(number, external_id, head, product_id, quantity, price, total)

    def _judge_head(self, raw: tuple[str, ...]) -> tuple:
        """The order's own values from one line, or (column, reason) for what is wrong with them."""
        when_text, email_text, domain_text, channel_text, currency_text = (cell.strip() for cell in raw)
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
        channel = channel_text.lower() or OrderChannel.OTHER.value
        if channel not in CHANNELS:
            problems.append((self.column("channel"), f"choose one of: {', '.join(sorted(CHANNELS))}"))
        currency = currency_text.upper()
        if currency not in CURRENCIES:
            try:
                clean_currency(currency_text)
            except ValidationFailed as exc:
                problems.append((self.column("currency"), exc.errors["currency"]))
        if problems:
            return "; ".join(c for c, _ in problems), "; ".join(r for _, r in problems)
        return (when, email, domain, channel, currency, self.db_time(when), when.isoformat())


def head_difference(first: tuple, other: tuple) -> str | None:
    """The first of the order's own values in which two lines of one order disagree."""
    for name, a, b in zip(HEAD, first, other):  # noqa: B905 - the stored form of the date follows the date
        if a != b:
            return name
    return None


# --- whole orders -----------------------------------------------------------------------------
# What the writing process needs of each order, drafted where lines are judged (in worker
# processes for big files) as plain tuples, which marshal carries between processes cheaply:
#   accepted: ("o", external_id, line numbers, e-mail, domain, ordered_at as stored, ordered_at
#              as audited, channel, currency, total, event summary, line rows (product id,
#              quantity, unit price, line total as text), audit tail, event payload tail)
#   rejected: ("r", external_id, line numbers, [(line number, column, reason), ...])
# The writing process adds what needs the database: ids of the order and its customer, owner
# and team, written into the audit entry's head and the event payload's head.

def draft_orders(judge: LineJudge, rows: list[tuple[int, list[str]]]) -> list[tuple]:
    """Judge the lines of whole orders (rows never split an order) and draft each order."""
    drafts: list[tuple] = []
    group: list[Line | BadLine] = []
    current = None
    judge_line = judge.judge
    for number, cells in rows:
        item = judge_line(number, cells)
        external_id = item.external_id
        if group and (external_id != current or not external_id):
            drafts.append(_draft(judge, group))
            group = []
        group.append(item)
        current = external_id
    if group:
        drafts.append(_draft(judge, group))
    return drafts


def _draft(judge: LineJudge, group: list[Line | BadLine]) -> tuple:
    external_id = group[0].external_id
    numbers = [item.number for item in group]
    bad = [item for item in group if item.__class__ is BadLine]
    if not bad and len(group) > 1:
        head = group[0].head
        for item in group[1:]:
            differs = head_difference(head, item.head)
            if differs:
                bad.append(BadLine(item.number, external_id, judge.column(differs),
                                   f"differs from line {numbers[0]} of the same order; every line of an order "
                                   f"repeats its {differs}"))
    if bad:
        own = {item.number: item for item in bad}
        first = bad[0]
        problems = []
        for number in numbers:
            item = own.get(number)
            if item is not None:
                problems.append((number, item.column, item.reason))
            else:
                problems.append((number, "", f"line {first.number} of order {external_id} was rejected "
                                             f"({first.column}); an order is imported whole or not at all"))
        return ("r", external_id, numbers, problems)
    when, email, domain, channel, currency, when_db, when_iso = group[0].head
    total = sum([line.line_total for line in group])
    sku_json, category_of = judge.sku_json, judge.category_of
    rows, audit_lines, categories = [], [], []
    for line in group:
        product_id, quantity, unit_price = line.product_id, str(line.quantity), str(line.unit_price)
        rows.append((product_id, quantity, unit_price, str(line.line_total)))
        audit_lines.append(f'[{sku_json[product_id]}, "{quantity}", "{unit_price}"]')
        category = category_of.get(product_id)
        if category is not None:
            categories.append(category)
    total_text = str(total)
    audit_tail = (f', "ordered_at": [null, "{when_iso}"], "channel": [null, "{channel}"], '
                  f'"currency": [null, "{currency}"], "total": [null, "{total_text}"], '
                  f'"is_subscription": [null, false], "lines": [null, [{", ".join(audit_lines)}]]}}')
    payload_tail = (f', "total": "{total_text}", "currency": "{currency}", "channel": "{channel}", '
                    f'"categories": {judge.categories_json(categories)}}}')
    # The order's row but for its id and customer (filled in where they are known), and the start of
    # its audit entry: built here, in the worker, so the writing process only joins pieces.
    order_rest = judge.order_rest(external_id, when_db, channel, currency, total_text if judge.money_as_text else total)
    audit_head = f'{{"external_id": [null, {quote_json(external_id)}]'
    return ("o", external_id, numbers, email, domain, when_db, when_iso, channel, currency, total_text,
            purchase_summary(total, currency, channel, len(group)), rows, audit_tail, payload_tail,
            order_rest, audit_head)
