"""Reading the refresh's inputs from the database into NumPy arrays, in bulk.

Ten million orders cannot pass through the ORM one model instance at a time. Each query here
asks the database for plain numbers only (times as epoch seconds, the currency as one integer)
so that the driver makes as few Python objects as possible, streams them in chunks, and turns
each chunk into arrays at once. Everything that follows is vectorised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import connection

from rapport.sales.currencies import base_currency
from rapport.sales.models import ExchangeRate

CHUNK = 250_000
Progress = Callable[[int, int], None]


def epoch_sql(column: str) -> str:
    """SQL giving a datetime column as whole epoch seconds, on SQLite and PostgreSQL."""
    if connection.vendor == "sqlite":
        return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _code_sql(column: str) -> str:
    """A three-letter code as one integer (its letters base 256): no string per row."""
    char = "unicode" if connection.vendor == "sqlite" else "ascii"
    return " + ".join(f"{char}(substr({column}, {i + 1}, 1)) * {256 ** (2 - i)}" for i in range(3))


def code_number(code: str) -> int:
    return sum(ord(letter) * 256 ** (2 - i) for i, letter in enumerate(code[:3].ljust(3)))


def _as_param(moment: dt.datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _stream(sql: str, params: list, columns: int, progress: Progress | None = None, total: int = 0) -> np.ndarray:
    """Rows of numbers as one float64 matrix (NULL as NaN), fetched CHUNK rows at a time.

    A server-side cursor on PostgreSQL, so ten million rows never sit in memory as Python tuples.
    Float64 holds integers exactly up to 2**53: ids, epoch seconds and the packed currency are far
    below that.
    """
    parts, done = [], 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(CHUNK)
            if not rows:
                break
            parts.append(np.array(rows, dtype=np.float64).reshape(-1, columns))
            done += len(rows)
            if progress:
                progress(done, max(total, done))
    return np.concatenate(parts) if parts else np.empty((0, columns))


@dataclass(frozen=True)
class Orders:
    """Live orders up to the end of the as-of day, one entry per order."""

    contact: np.ndarray  # int64, 0 when the order has no contact
    company: np.ndarray  # int64, 0 when it has no company
    seconds: np.ndarray  # int64 epoch seconds of ordered_at (UTC)
    value: np.ndarray  # float64 in the base currency; NaN when no exchange rate covers it
    subscription: np.ndarray  # bool: a contract renewal or subscription

    def __len__(self) -> int:
        return len(self.seconds)

    @property
    def without_rate(self) -> int:
        return int(np.isnan(self.value).sum())


def order_estimate(end: dt.datetime) -> int:
    """About how many orders there are (for the progress bar): the id range, not a count."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM sales_order")
        low, high = cursor.fetchone()
    return 0 if low is None else int(high - low + 1)


def load_orders(end: dt.datetime, progress: Progress | None = None) -> Orders:
    """Every live order placed before `end`, with its value converted to the base currency."""
    sql = (f"SELECT COALESCE(contact_id, 0), COALESCE(company_id, 0), {epoch_sql('ordered_at')}, "
           f"CAST(total AS {'REAL' if connection.vendor == 'sqlite' else 'DOUBLE PRECISION'}), "
           f"({_code_sql('currency')}) * 2 + CASE WHEN is_subscription THEN 1 ELSE 0 END "
           "FROM sales_order WHERE deleted_at IS NULL AND ordered_at < %s "
           "AND (contact_id IS NOT NULL OR company_id IS NOT NULL)")
    matrix = _stream(sql, [_as_param(end)], 5, progress, order_estimate(end))
    packed = matrix[:, 4].astype(np.int64)
    seconds = matrix[:, 2].astype(np.int64)
    value = convert_to_base(matrix[:, 3], packed >> 1, seconds // 86400)
    return Orders(contact=matrix[:, 0].astype(np.int64), company=matrix[:, 1].astype(np.int64), seconds=seconds,
                  value=value, subscription=(packed & 1).astype(bool))


def convert_to_base(amounts: np.ndarray, currencies: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Amounts in the base currency by the latest rate on or before each one's UTC date
    (`ExchangeRate`'s rule, as `RateBook` applies it one amount at a time); NaN where none exists.

    The rates are read once; each currency's amounts are converted together by a binary search
    of its rate dates.
    """
    result = np.full(len(amounts), np.nan)
    base = code_number(base_currency())
    rates: dict[int, tuple[list, list]] = {}
    for code, valid_from, rate in ExchangeRate.objects.order_by("currency", "valid_from").values_list(
            "currency", "valid_from", "rate"):
        dates, values = rates.setdefault(code_number(code), ([], []))
        dates.append((valid_from - dt.date(1970, 1, 1)).days)
        values.append(float(rate))
    for currency in np.unique(currencies):
        rows = np.flatnonzero(currencies == currency)
        if currency == base:
            result[rows] = amounts[rows]
            continue
        if currency not in rates:
            continue
        dates, values = (np.asarray(part) for part in rates[currency])
        index = np.searchsorted(dates, days[rows], side="right") - 1
        covered = index >= 0
        result[rows[covered]] = amounts[rows[covered]] * values[index[covered]]
    return result


@dataclass(frozen=True)
class Engagement:
    """Per customer id (contact or company): what health reads besides the orders."""

    ids: np.ndarray
    events_recent: np.ndarray
    events_before: np.ndarray


def load_engagement(column: str, end: dt.datetime) -> Engagement:
    """Timeline events per customer in the last 90 days and the 90 before, one grouped query
    answered from the (contact|company, occurred_at) index alone."""
    middle, start = end - dt.timedelta(days=90), end - dt.timedelta(days=180)
    sql = (f"SELECT {column}, SUM(CASE WHEN occurred_at >= %s THEN 1 ELSE 0 END), COUNT(*) "
           f"FROM timeline_event WHERE {column} IS NOT NULL AND occurred_at >= %s AND occurred_at < %s "
           f"GROUP BY {column}")
    matrix = _stream(sql, [_as_param(middle), _as_param(start), _as_param(end)], 3)
    recent = matrix[:, 1].astype(np.int64)
    return Engagement(ids=matrix[:, 0].astype(np.int64), events_recent=recent,
                      events_before=matrix[:, 2].astype(np.int64) - recent)


def load_last_contact(column: str, end: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """(ids, epoch seconds) of the last call, meeting or e-mail a seller logged with each customer."""
    sql = (f"SELECT {column}, MAX({epoch_sql('occurred_at')}) FROM timeline_activity "
           f"WHERE {column} IS NOT NULL AND deleted_at IS NULL AND kind IN ('call', 'meeting', 'email') "
           f"AND occurred_at < %s GROUP BY {column}")
    matrix = _stream(sql, [_as_param(end)], 2)
    return matrix[:, 0].astype(np.int64), matrix[:, 1].astype(np.int64)


def load_open_deals(column: str, end: dt.datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, open deals, moving deals, stalled deals) per contact (through the deal's contacts) or
    company. Moving: entered its stage in the last 30 days; stalled: no activity for longer than
    its pipeline's stall days (the board's rule), which wins over moving."""
    end_seconds = int(end.timestamp())
    stalled = f"({epoch_sql('d.last_activity_at')} < %s - p.stall_days * 86400)"
    moving = f"({epoch_sql('d.stage_entered_at')} >= %s)"
    source = ("sales_dealcontact x JOIN sales_deal d ON d.id = x.deal_id" if column == "contact_id"
              else "sales_deal d")
    key = "x.contact_id" if column == "contact_id" else "d.company_id"
    sql = (f"SELECT {key}, COUNT(*), SUM(CASE WHEN {moving} AND NOT {stalled} THEN 1 ELSE 0 END), "
           f"SUM(CASE WHEN {stalled} THEN 1 ELSE 0 END) "
           f"FROM {source} JOIN sales_pipeline p ON p.id = d.pipeline_id "
           f"WHERE {key} IS NOT NULL AND d.status = 'open' AND d.deleted_at IS NULL AND d.created_at < %s "
           f"GROUP BY {key}")
    params = [end_seconds - 30 * 86400, end_seconds, end_seconds, _as_param(end)]
    matrix = _stream(sql, params, 4)
    return tuple(matrix[:, i].astype(np.int64) for i in range(4))


def load_lost_renewals(column: str, end: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """(ids, epoch seconds) of each customer's latest lost deal in a renewal pipeline: a contract
    that ended, even before its renewal date passed."""
    source = ("sales_dealcontact x JOIN sales_deal d ON d.id = x.deal_id" if column == "contact_id"
              else "sales_deal d")
    key = "x.contact_id" if column == "contact_id" else "d.company_id"
    sql = (f"SELECT {key}, MAX({epoch_sql('d.closed_at')}) FROM {source} "
           "JOIN sales_pipeline p ON p.id = d.pipeline_id "
           f"WHERE {key} IS NOT NULL AND p.kind = 'renewal' AND d.status = 'lost' AND d.deleted_at IS NULL "
           f"AND d.closed_at IS NOT NULL AND d.closed_at < %s GROUP BY {key}")
    matrix = _stream(sql, [_as_param(end)], 2)
    return matrix[:, 0].astype(np.int64), matrix[:, 1].astype(np.int64)


def spread(ids: np.ndarray, keys: np.ndarray, values: np.ndarray, fill) -> np.ndarray:
    """`values` (given per key) lined up with `ids` (sorted ascending), `fill` where a key is absent."""
    result = np.full(len(ids), fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    if len(keys) == 0 or len(ids) == 0:
        return result
    at = np.searchsorted(ids, keys)
    inside = at < len(ids)
    found = np.zeros(len(keys), bool)
    found[inside] = ids[at[inside]] == keys[inside]
    result[at[found]] = values[found]
    return result
