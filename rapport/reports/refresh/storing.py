"""Writing every customer's scores in one transaction, replacing the previous refresh's rows.

Readers keep seeing the old scores until the commit (WAL on SQLite, MVCC on PostgreSQL), so a
page never shows half a refresh. The rows go in with `executemany` in chunks, built from the
arrays column by column (no model instances); each row copies its customer's owner and team
with `INSERT ... SELECT` from the customer's own row, so the denormalised columns the value-
sorted list filters on are exact as of the refresh. On SQLite a large write drops the table's
secondary indexes first and builds them again after, which is several times faster than
updating them row by row.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
from django.db import connection, transaction

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes
from rapport.reports.health import COMPONENTS
from rapport.reports.models import CustomerScore

CHUNK = 100_000
BIG_WRITE = 20_000  # rows above which dropping and rebuilding the indexes pays off
FLOATS = ("frequency", "recency", "age", "probability_alive", "expected_purchases_12m", "expected_order_value",
          "value_12m", "lifetime_value", "renewal_probability", "usual_interval_days")
INTEGERS = ("orders", "orders_without_rate", "events_recent", "events_before", "open_deals", "moving_deals",
            "stalled_deals")
NULLABLE_INTEGERS = ("health", "renewals")
TIMES = ("first_order_at", "last_order_at", "last_contacted_at")
COLUMNS = ("model", "revenue", *FLOATS, *INTEGERS, *NULLABLE_INTEGERS, *TIMES, "health_components")


def _component_text(name: str) -> np.ndarray:
    """'"name": 0' ... '"name": 100' and, last, '"name": null': each row picks its piece by index."""
    return np.array([f'"{name}": {i}' for i in range(101)] + [f'"{name}": null'], dtype=object)


PIECES = {name: _component_text(name) for name in COMPONENTS}


def components_json(components: dict[str, np.ndarray]) -> list[str]:
    """The components of every row as JSON objects, without a json.dumps per row."""
    columns = []
    for name in COMPONENTS:
        values = components[name]
        index = np.where(np.isnan(values), 101, np.clip(np.rint(np.nan_to_num(values)), 0, 100)).astype(np.int64)
        columns.append(PIECES[name][index])
    template = "{{" + ", ".join(["{}"] * len(COMPONENTS)) + "}}"
    return list(map(template.format, *columns))


def _times(seconds: np.ndarray) -> list:
    """Epoch seconds (NaN or below 0: none) as what the driver stores for a DateTimeField."""
    seconds = np.asarray(seconds, dtype=np.float64)
    missing = ~np.isfinite(seconds) | (seconds < 0)
    whole = np.where(missing, 0, seconds).astype(np.int64)
    if connection.vendor == "sqlite":
        text = np.datetime_as_string(whole.astype("datetime64[s]"), unit="s").tolist()
        return [None if gone else t.replace("T", " ") for t, gone in zip(text, missing.tolist(), strict=True)]
    return [None if gone else dt.datetime.fromtimestamp(s, dt.UTC)
            for s, gone in zip(whole.tolist(), missing.tolist(), strict=True)]


def _numbers(values: np.ndarray, integer: bool = False) -> list:
    values = np.asarray(values, dtype=np.float64)
    if integer:
        missing = np.isnan(values)
        whole = np.where(missing, 0, values).astype(np.int64).tolist()
        if not missing.any():
            return whole
        return [None if gone else v for v, gone in zip(whole, missing.tolist(), strict=True)]
    if connection.vendor == "sqlite":
        return values.tolist()  # SQLite stores a NaN as NULL
    return [None if v != v else v for v in values.tolist()]


def _statement(kind: str, run_id: int, as_of: dt.date, engine_version: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z._-]{1,20}", engine_version):
        raise ValueError(f"engine_version: {engine_version!r} is not a plain version string")
    postgres = connection.vendor != "sqlite"
    casts = {**dict.fromkeys(TIMES, "::timestamptz"), "health_components": "::jsonb"} if postgres else {}
    names = ["contact_id" if kind == "contact" else "company_id", "owner_id", "team_id", "run_id", "as_of",
             "engine_version", *COLUMNS]
    table = "people_contact" if kind == "contact" else "people_company"
    values = ["c.id", "c.owner_id", "c.team_id", str(int(run_id)), f"'{as_of.isoformat()}'", f"'{engine_version}'",
              *(f"%s{casts.get(name, '')}" for name in COLUMNS)]
    quote = connection.ops.quote_name
    return (f"INSERT INTO {quote(CustomerScore._meta.db_table)} ({', '.join(quote(n) for n in names)}) "
            f"SELECT {', '.join(values)} FROM {table} c WHERE c.id = %s")


def _rows(columns: dict[str, np.ndarray], start: int, stop: int):
    part = {name: values[start:stop] for name, values in columns.items()}
    lists = [part["model"].tolist(), np.round(part["revenue"], 2).tolist()]
    lists += [_numbers(part[name]) for name in FLOATS]
    lists += [np.asarray(part[name]).astype(np.int64).tolist() for name in INTEGERS]
    lists += [_numbers(part[name], integer=True) for name in NULLABLE_INTEGERS]
    lists += [_times(part[name]) for name in TIMES]
    lists.append(part["health_components"])
    lists.append(part["id"].tolist())
    return list(zip(*lists, strict=True))


def replace_scores(*, run_id: int, as_of: dt.date, engine_version: str, populations: dict[str, dict],
                   progress=None) -> int:
    """Replace every stored score with these, in one transaction. `populations` maps "contact"
    and "company" to their columns (one array per name in COLUMNS, plus "id"). Returns rows written."""
    total = sum(len(columns["id"]) for columns in populations.values())
    written = 0
    with transaction.atomic():
        dropped = drop_secondary_indexes([CustomerScore]) if total > BIG_WRITE else []
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(CustomerScore._meta.db_table)}")
            for kind, columns in populations.items():
                sql = _statement(kind, run_id, as_of, engine_version)
                count = len(columns["id"])
                for start in range(0, count, CHUNK):
                    stop = min(count, start + CHUNK)
                    cursor.executemany(sql, _rows(columns, start, stop))
                    # INSERT ... SELECT skips a customer removed since the orders were read.
                    written += cursor.rowcount if cursor.rowcount >= 0 else stop - start
                    if progress:
                        progress(written, total)
        restore_indexes(dropped)
    return written
