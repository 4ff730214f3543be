"""Loading every live order as arrays: customer, time, value in the base currency, subscription.

On SQLite each range of order ids comes back as one row of joined strings (see `reading.py`),
read by several connections side by side; elsewhere the orders stream in chunks. Amounts are
converted with the exchange rates read once, one currency at a time.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from django.db import connection

from rapport.sales.currencies import base_currency
from rapport.sales.models import ExchangeRate

from .reading import Progress, as_param, epoch_sql, stream


def _code_sql(column: str) -> str:
    """A three-letter code as one integer (its letters base 256): no string per row."""
    char = "unicode" if connection.vendor == "sqlite" else "ascii"
    return " + ".join(f"{char}(substr({column}, {i + 1}, 1)) * {256 ** (2 - i)}" for i in range(3))


def code_number(code: str) -> int:
    return sum(ord(letter) * 256 ** (2 - i) for i, letter in enumerate(code[:3].ljust(3)))


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
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 38):
        contact, company, seconds, amounts, currencies, subscription = _orders_as_text(end, progress)
    else:
        contact, company, seconds, amounts, currencies, subscription = _orders_as_rows(end, progress)
    value = convert_to_base(amounts, currencies, seconds // 86400)
    return Orders(contact=contact, company=company, seconds=seconds, value=value, subscription=subscription)


LIVE_ORDERS = ("deleted_at IS NULL AND ordered_at < %s AND (contact_id IS NOT NULL OR company_id IS NOT NULL)")


def _orders_as_rows(end: dt.datetime, progress: Progress | None):
    """The portable path: five numbers per order, streamed through a server-side cursor."""
    sql = (f"SELECT COALESCE(contact_id, 0), COALESCE(company_id, 0), {epoch_sql('ordered_at')}, "
           f"CAST(total AS {'REAL' if connection.vendor == 'sqlite' else 'DOUBLE PRECISION'}), "
           f"({_code_sql('currency')}) * 2 + CASE WHEN is_subscription THEN 1 ELSE 0 END "
           f"FROM sales_order WHERE {LIVE_ORDERS}")
    matrix = stream(sql, [as_param(end)], 5, progress, order_estimate(end))
    packed = matrix[:, 4].astype(np.int64)
    return (matrix[:, 0].astype(np.int64), matrix[:, 1].astype(np.int64), matrix[:, 2].astype(np.int64),
            matrix[:, 3], packed >> 1, (packed & 1).astype(bool))


TEXT_CHUNK = 500_000  # order ids per query
PARALLEL_FROM = 5  # chunks: below this, one connection (and the caller's transaction) reads them all
TEXT_SQL = ("SELECT count(*), group_concat(COALESCE(company_id, 0) * 4294967296 + COALESCE(contact_id, 0)), "
            "group_concat(unixepoch(ordered_at)), group_concat(CAST(round(total * 10000) AS INTEGER)), "
            "group_concat(currency, ''), group_concat(is_subscription, '') "
            f"FROM sales_order WHERE id >= %s AND id < %s AND {LIVE_ORDERS}")


def _orders_as_text(end: dt.datetime, progress: Progress | None):
    """SQLite's fast path: per range of order ids, one row holding each column as one string.

    Python's sqlite3 makes an object for every value of every row, about a microsecond each:
    fifty seconds for ten million orders. Joined into one string per column by SQLite
    (`group_concat`, in C) and split by NumPy, the same numbers arrive in a few seconds. Amounts
    travel as whole ten-thousandths (the column's scale), so no float is printed and parsed; the
    currency codes (three letters each) and subscription flags (one digit) are joined without
    separators and read as fixed-width bytes.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM sales_order")
        low, high = cursor.fetchone()
    if low is None:
        low = high = 0
    starts = list(range(low, high + 1, TEXT_CHUNK))
    done = [0]
    lock = threading.Lock()

    def read(start: int) -> tuple | None:
        with connection.cursor() as cursor:
            cursor.execute(TEXT_SQL, [start, start + TEXT_CHUNK, as_param(end)])
            count, *columns = cursor.fetchone()
        with lock:
            done[0] += 1
            if progress:
                progress(done[0], len(starts))
        return _parse_chunk(count, *columns) if count else None

    if len(starts) < PARALLEL_FROM:
        parts = [read(start) for start in starts]
    else:
        # SQLite computes each chunk inside one call that releases the GIL, so chunks read on their
        # own connections (WAL readers) run side by side on several cores.
        def read_and_close(start: int):
            try:
                return read(start)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            parts = list(pool.map(read_and_close, starts))
    parts = [part for part in parts if part is not None]
    if not parts:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, np.empty(0), empty, np.empty(0, bool)
    ids, seconds, amounts, currencies, subscription = (np.concatenate(column) for column in zip(*parts, strict=True))
    return (ids & 0xFFFFFFFF, ids >> 32, seconds, amounts / 10_000.0, currencies, subscription)


def _parse_chunk(count: int, ids: str, seconds: str, amounts: str, currencies: str, subscription: str):
    def numbers(text: str) -> np.ndarray:
        values = np.fromstring(text, dtype=np.int64, sep=",")
        if len(values) != count:
            raise ValueError(f"orders: expected {count} values, read {len(values)} (a value the loader cannot read)")
        return values

    codes = np.frombuffer(currencies.encode("ascii", "replace"), dtype="S3")
    flags = np.frombuffer(subscription.encode("ascii"), dtype=np.uint8)
    if len(codes) != count or len(flags) != count:
        raise ValueError("orders: a currency code is not three letters; fix it (or run on PostgreSQL)")
    letters = np.frombuffer(codes.tobytes(), dtype=np.uint8).reshape(-1, 3).astype(np.int64)
    packed_codes = letters[:, 0] * 65536 + letters[:, 1] * 256 + letters[:, 2]
    return numbers(ids), numbers(seconds), numbers(amounts).astype(np.float64), packed_codes, flags == ord("1")


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
    for currency in np.flatnonzero(np.bincount(currencies)) if len(currencies) else []:
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
