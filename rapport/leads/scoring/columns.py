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

    def __len__(self) -> int:
        return len(self.ids)

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


def read_leads(*, where: str, params: list, custom: list[str] = (), outcomes: bool = False) -> LeadColumns:
    """Leads matching `where` (SQL on the lead table `l`), ordered by creation.

    `custom` names the custom fields ("company.key" / "contact.key") fit rules look at.
    With `outcomes`, each lead also gets `won` from its deal (converted leads only).
    """
    lead, contact, company, deal = (_q(m._meta.db_table) for m in (Lead, Contact, Company, Deal))
    columns = [
        "l.id", "l.contact_id", epoch("l.created_at"), epoch("l.first_response_at"), "l.source", "l.status",
        "COALESCE(co.industry, '')", "COALESCE(co.size_band, '')",
        "COALESCE(NULLIF(co.country, ''), c.country, '')", "CAST(l.budget_amount AS DOUBLE PRECISION)",
        "l.budget_currency", "l.budget_band", "l.authority", "l.timeline",
        "CASE WHEN l.need <> '' THEN 1 ELSE 0 END",
    ]
    custom_params = []
    for key in custom:
        entity, _, name = key.partition(".")
        columns.append(_json_text("co.custom" if entity == "company" else "c.custom"))
        custom_params.append(f'$."{name}"' if connection.vendor == "sqlite" else name)
    join_deal = ""
    if outcomes:
        columns.append("d.status")
        columns.append(epoch("COALESCE(d.closed_at, l.disqualified_at, l.updated_at)"))
        join_deal = f" LEFT JOIN {deal} d ON d.id = l.deal_id"
    sql = (f"SELECT {', '.join(columns)} FROM {lead} l JOIN {contact} c ON c.id = l.contact_id "
           f"LEFT JOIN {company} co ON co.id = l.company_id{join_deal} WHERE {where} ORDER BY l.created_at, l.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, custom_params + list(params))
        rows = cursor.fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(columns)

    def text(i: int) -> np.ndarray:
        return np.array(cols[i], dtype=object) if rows else np.zeros(0, dtype=object)

    def number(i: int) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in cols[i]], dtype=float)

    out = LeadColumns(
        ids=np.array(cols[0], dtype=np.int64), contact=np.array(cols[1], dtype=np.int64),
        created=np.array(cols[2], dtype=float), first_response=number(3), source=text(4), status=text(5),
        industry=text(6), size_band=text(7), country=text(8), budget_amount=number(9), budget_currency=text(10),
        budget_band=text(11), authority=text(12), timeline=text(13),
        need_text=np.array(cols[14], dtype=bool),
        custom={key: text(15 + i) for i, key in enumerate(custom)},
    )
    if outcomes:
        out.won = np.array([1 if s == "won" else 0 for s in cols[-2]], dtype=np.int8)
        out.decided = np.array(cols[-1], dtype=float)
    _read_needs(out, where, params)
    return out


def _read_needs(leads: LeadColumns, where: str, params: list) -> None:
    through = Lead.need_categories.through
    table, lead = _q(through._meta.db_table), _q(Lead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n.lead_id, n.productcategory_id FROM {table} n JOIN {lead} l ON l.id = n.lead_id "
                       f"WHERE {where}", list(params))
        pairs = cursor.fetchall()
    if not pairs:
        return
    arr = np.array(pairs, dtype=np.int64)
    order = np.argsort(leads.ids)
    pos = np.searchsorted(leads.ids[order], arr[:, 0])
    pos = np.minimum(pos, len(order) - 1)
    found = leads.ids[order][pos] == arr[:, 0]
    leads.need_lead = order[pos[found]]
    leads.need_category = arr[found, 1]


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
    base = (f"SELECT e.contact_id, {epoch('e.occurred_at')}, {case} FROM {event} e WHERE e.kind IN ({kind_in}) "
            "AND e.occurred_at >= %s AND e.occurred_at <= %s AND e.contact_id IS NOT NULL")
    args: list = [*names, *names, since_at, until_at]
    rows: list = []
    with connection.cursor() as cursor:
        if lead_where is not None:
            cursor.execute(f"{base} AND e.contact_id IN (SELECT l.contact_id FROM {lead} l WHERE {lead_where})",
                           args + list(params))
            rows = cursor.fetchall()
        else:
            contacts = sorted(set(leads.contact.tolist()))
            for start in range(0, len(contacts), 500):
                chunk = contacts[start:start + 500]
                cursor.execute(f"{base} AND e.contact_id IN ({', '.join(['%s'] * len(chunk))})", args + chunk)
                rows += cursor.fetchall()
    if not rows:
        return empty
    arr = np.array(rows, dtype=np.int64)
    points = np.array([kinds[n] for n in names])
    return Events(contact=arr[:, 0], time=arr[:, 1].astype(float), weight=points[arr[:, 2]])


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
