"""Leads read as columns: one SQL read per table, NumPy arrays out.

Scoring a million leads through the ORM would build a million model instances; these reads
return plain arrays (times as epoch seconds, computed by the database) that the fit, engagement
and predictive code work on whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from rapport.leads.models import Lead
from rapport.people.models import Company, Contact
from rapport.sales.models import Deal
from rapport.timeline.models import Event

from .engagement import window_seconds


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def epoch(column: str) -> str:
    if connection.vendor == "sqlite":
        # unixepoch() (SQLite 3.38+) costs a third of strftime('%s'): seconds over millions of events.
        if connection.Database.sqlite_version_info >= (3, 38):
            return f"unixepoch({column})"
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _json_text(column: str) -> str:
    """A JSON key of `column` as a value (the key is a query parameter)."""
    if connection.vendor == "sqlite":
        return f"json_extract({column}, %s)"
    return f"({column} ->> %s)"


@dataclass
class LeadColumns:
    ids: np.ndarray
    contact: np.ndarray
    created: np.ndarray  # epoch seconds
    first_response: np.ndarray  # epoch seconds, NaN when nobody has answered yet
    source: np.ndarray  # object arrays of text below
    status: np.ndarray
    industry: np.ndarray
    size_band: np.ndarray
    country: np.ndarray
    budget_amount: np.ndarray  # float, NaN when not given
    budget_currency: np.ndarray
    budget_band: np.ndarray
    authority: np.ndarray
    timeline: np.ndarray
    need_text: np.ndarray  # bool
    need_lead: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # index into ids
    need_category: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    custom: dict[str, np.ndarray] = field(default_factory=dict)
    won: np.ndarray | None = None  # outcomes only: 1 won, 0 not
    decided: np.ndarray | None = None  # outcomes only: when the outcome became known (epoch seconds)
    _factors: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def factor(self, name: str) -> tuple[list, np.ndarray]:
        """(distinct values, each lead's index into them) of a text column, or of a custom field
        ("custom:company.key"). Rules and features judge each distinct value once."""
        if name not in self._factors:
            column = self.custom[name[7:]] if name.startswith("custom:") else getattr(self, name)
            index: dict = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in column.tolist()), dtype=np.int64,
                                count=len(column))
            self._factors[name] = (list(index), codes)
        return self._factors[name]

    def take(self, rows: np.ndarray) -> LeadColumns:
        """The leads at `rows` (an index array), with their need categories."""
        remap = np.full(len(self.ids), -1)
        remap[rows] = np.arange(len(rows))
        keep = remap[self.need_lead] >= 0 if len(self.need_lead) else np.zeros(0, dtype=bool)
        simple = {name: getattr(self, name)[rows] for name in (
            "ids", "contact", "created", "first_response", "source", "status", "industry", "size_band", "country",
            "budget_amount", "budget_currency", "budget_band", "authority", "timeline", "need_text")}
        return LeadColumns(**simple, need_lead=remap[self.need_lead[keep]], need_category=self.need_category[keep],
                           custom={k: v[rows] for k, v in self.custom.items()},
                           won=None if self.won is None else self.won[rows],
                           decided=None if self.decided is None else self.decided[rows])


OUTCOME_WON, OUTCOME_LOST = "won", "lost"
PLAIN_SCAN_DAYS = 400  # an event window up to this long is read whole; longer ones only for the leads' contacts
TEXT_SEP = "\x1f"  # the ASCII unit separator: never typed into a name or a value


def _joined(expression: str, *, text: bool, free_text: bool = True) -> str:
    """One aggregate joining a column's values of every matching row into one string.

    A million rows come back as a handful of strings that NumPy splits, instead of a million
    tuples of Python objects (six times less CPU). Every row must give a value (NULLs are turned
    into '' or -1 by the caller), or the columns would not line up. Text drops the separator.
    """
    comma = "','"
    if connection.vendor == "sqlite":
        value = f"REPLACE({expression}, char(31), ' ')" if text and free_text else expression
        return f"group_concat({value}, {'char(31)' if text else comma})"
    value = f"REPLACE(({expression})::text, chr(31), ' ')" if text and free_text else f"({expression})::text"
    return f"string_agg({value}, {'chr(31)' if text else comma})"


def _numbers(joined: str | None, dtype) -> np.ndarray:
    if not joined:
        return np.zeros(0, dtype=dtype)
    return np.fromstring(joined, dtype=dtype, sep=",")


def _texts(joined: str | None, n: int) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype=object)
    return np.array((joined or "").split(TEXT_SEP), dtype=object)


def read_leads(*, where: str, params: list, custom: list[str] = (), outcomes: bool = False) -> LeadColumns:
    """Leads matching `where` (SQL on the lead table `l`), in no particular order.

    `custom` names the custom fields ("company.key" / "contact.key") fit rules look at.
    With `outcomes`, each lead also gets `won` from its deal (converted leads only).
    Missing times and budgets come back as NaN, missing text as ''.
    """
    lead, contact, company, deal = (_q(m._meta.db_table) for m in (Lead, Contact, Company, Deal))
    numeric = {"ids": "l.id", "contact": "l.contact_id", "created": f"COALESCE({epoch('l.created_at')}, -1)",
               "first_response": f"COALESCE({epoch('l.first_response_at')}, -1)",
               "budget_amount": "COALESCE(CAST(l.budget_amount AS DOUBLE PRECISION), -1)",
               "need_text": "CASE WHEN l.need <> '' THEN 1 ELSE 0 END"}
    texts = {"source": "l.source", "status": "l.status", "industry": "COALESCE(co.industry, '')",
             "size_band": "COALESCE(co.size_band, '')", "country": "COALESCE(NULLIF(co.country, ''), c.country, '')",
             "budget_currency": "l.budget_currency", "budget_band": "l.budget_band", "authority": "l.authority",
             "timeline": "l.timeline"}
    join_deal = ""
    if outcomes:
        numeric["won"] = "CASE WHEN d.status = 'won' THEN 1 ELSE 0 END"
        numeric["decided"] = f"COALESCE({epoch('COALESCE(d.closed_at, l.disqualified_at, l.updated_at)')}, -1)"
        join_deal = f" LEFT JOIN {deal} d ON d.id = l.deal_id"
    custom_params = []
    for i, key in enumerate(custom):
        entity, _, name = key.partition(".")
        texts[f"custom{i}"] = f"COALESCE({_json_text('co.custom' if entity == 'company' else 'c.custom')}, '')"
        custom_params.append(f'$."{name}"' if connection.vendor == "sqlite" else name)
    # custom values come first in the text columns: their parameters are the query's first
    text_names = [n for n in texts if n.startswith("custom")] + [n for n in texts if not n.startswith("custom")]
    # values typed by people may hold anything; the others are choices the services checked
    free = {"industry", "country"} | {n for n in texts if n.startswith("custom")}
    aggregates = ["COUNT(*)"] + [_joined(numeric[n], text=False) for n in numeric] + [
        _joined(texts[n], text=True, free_text=n in free) for n in text_names]
    sql = (f"SELECT {', '.join(aggregates)} FROM {lead} l JOIN {contact} c ON c.id = l.contact_id "
           f"LEFT JOIN {company} co ON co.id = l.company_id{join_deal} WHERE {where}")
    with connection.cursor() as cursor:
        cursor.execute(sql, custom_params + list(params))
        row = cursor.fetchone()
    n = int(row[0])
    got = dict(zip([*numeric, *text_names], row[1:], strict=True))

    def number(name: str) -> np.ndarray:
        values = _numbers(got[name], float)
        return np.where(values < 0, np.nan, values)

    out = LeadColumns(
        ids=_numbers(got["ids"], np.int64), contact=_numbers(got["contact"], np.int64),
        created=_numbers(got["created"], float), first_response=number("first_response"),
        budget_amount=number("budget_amount"), need_text=_numbers(got["need_text"], np.int64).astype(bool),
        custom={key: _texts(got[f"custom{i}"], n) for i, key in enumerate(custom)},
        **{name: _texts(got[name], n) for name in texts if not name.startswith("custom")},
    )
    if outcomes:
        out.won = _numbers(got["won"], np.int64).astype(np.int8)
        out.decided = _numbers(got["decided"], float)
    _read_needs(out, where, params)
    return out


def _read_needs(leads: LeadColumns, where: str, params: list) -> None:
    through = Lead.need_categories.through
    table, lead = _q(through._meta.db_table), _q(Lead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_joined('n.lead_id', text=False)}, {_joined('n.productcategory_id', text=False)} "
                       f"FROM {table} n JOIN {lead} l ON l.id = n.lead_id WHERE {where}", list(params))
        lead_ids, categories = (_numbers(v, np.int64) for v in cursor.fetchone())
    if not len(lead_ids) or not len(leads.ids):
        return
    order = np.argsort(leads.ids)
    pos = np.searchsorted(leads.ids[order], lead_ids)
    pos = np.minimum(pos, len(order) - 1)
    found = leads.ids[order][pos] == lead_ids
    leads.need_lead = order[pos[found]]
    leads.need_category = categories[found]


@dataclass
class Events:
    contact: np.ndarray
    time: np.ndarray  # epoch seconds
    weight: np.ndarray  # the kind's points


def read_events(*, leads: LeadColumns, since: float, until: float, weights: dict[str, float],
                lead_where: str | None = None, params: list = ()) -> Events:
    """Events of the leads' contacts between `since` and `until` (epoch seconds) of the kinds
    that carry points. With `lead_where`, the contacts are chosen in SQL (for big reads);
    otherwise the ids are passed in."""
    kinds = {k: float(w) for k, w in weights.items() if w and float(w) > 0}
    empty = Events(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    if not kinds or not len(leads):
        return empty
    event, lead = _q(Event._meta.db_table), _q(Lead._meta.db_table)
    names = list(kinds)
    case = "CASE e.kind " + " ".join("WHEN %s THEN " + str(i) for i in range(len(names))) + " END"
    kind_in = ", ".join(["%s"] * len(names))
    since_at, until_at = _timestamp(since), _timestamp(until)
    columns = ("e.contact_id", epoch("e.occurred_at"), case)
    joined = ", ".join(_joined(c, text=False) for c in columns)
    base = (f"SELECT {joined} FROM {event} e WHERE e.kind IN ({kind_in}) "
            "AND e.occurred_at >= %s AND e.occurred_at <= %s AND e.contact_id IS NOT NULL")
    args: list = [*names, *names, since_at, until_at]
    parts: list[list[np.ndarray]] = [[], [], []]

    def collect(row) -> None:
        for i, text in enumerate(row):
            parts[i].append(_numbers(text, np.int64))

    with connection.cursor() as cursor:
        if lead_where is not None and until - since <= PLAIN_SCAN_DAYS * 86_400:
            # Most of the window's events concern the leads' contacts: read them all in one plain
            # scan (on SQLite, not through an index, which meant a seek per event) and let NumPy
            # drop the others. Checking each event against a million contacts in SQL cost 3x the scan.
            scan = base.replace(f"FROM {event} e", f"FROM {event} e NOT INDEXED", 1) \
                if connection.vendor == "sqlite" else base
            cursor.execute(scan, args)
            collect(cursor.fetchone())
        elif lead_where is not None:
            cursor.execute(f"{base} AND e.contact_id IN (SELECT l.contact_id FROM {lead} l WHERE {lead_where})",
                           args + list(params))
            collect(cursor.fetchone())
        else:
            contacts = sorted(set(leads.contact.tolist()))
            for start in range(0, len(contacts), 500):
                chunk = contacts[start:start + 500]
                cursor.execute(f"{base} AND e.contact_id IN ({', '.join(['%s'] * len(chunk))})", args + chunk)
                collect(cursor.fetchone())
    contact, when, kind = (np.concatenate(p) for p in parts)
    if not len(contact):
        return empty
    points = np.array([kinds[n] for n in names])
    return Events(contact=contact, time=when.astype(float), weight=points[kind])


def event_window(leads: LeadColumns, moments: np.ndarray, half_life_days: float) -> tuple[float, float]:
    if not len(moments):
        return 0.0, 0.0
    return float(moments.min()) - window_seconds(half_life_days), float(moments.max())


def _timestamp(seconds: float):
    import datetime as dt

    # In the stored form, so SQLite compares like with like (its datetimes are text).
    return connection.ops.adapt_datetimefield_value(dt.datetime.fromtimestamp(seconds, dt.UTC))


def exchange_rates() -> dict[str, float]:
    """Units of the base currency one unit of each currency is worth, latest rate (budgets are
    intentions, not bookings: today's rate is good enough to compare them with a floor)."""
    from rapport.sales.currencies import base_currency
    from rapport.sales.models import ExchangeRate

    rates = {base_currency(): 1.0}
    for currency, rate in ExchangeRate.objects.order_by("currency", "valid_from").values_list("currency", "rate"):
        rates[currency] = float(rate)
    return rates
