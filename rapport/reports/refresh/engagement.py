"""What health reads besides the orders, per contact or company, as arrays: timeline activity,
the last time a seller talked to them, open deals; and lost renewal deals for the contracts.

Each is one grouped query whose result comes back as columns of numbers (`reading.numbers`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection

from .reading import as_param, epoch_sql, numbers


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
    sql = (f"SELECT {column} AS c0, SUM(CASE WHEN occurred_at >= %s THEN 1 ELSE 0 END) AS c1, COUNT(*) AS c2 "
           f"FROM timeline_event WHERE {column} IS NOT NULL AND occurred_at >= %s AND occurred_at < %s "
           f"GROUP BY {column}")
    matrix = numbers(sql, [as_param(middle), as_param(start), as_param(end)], 3)
    recent = matrix[:, 1].astype(np.int64)
    return Engagement(ids=matrix[:, 0].astype(np.int64), events_recent=recent,
                      events_before=matrix[:, 2].astype(np.int64) - recent)


def load_last_contact(column: str, end: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """(ids, epoch seconds) of the last call, meeting or e-mail a seller logged with each customer."""
    # The latest time as text, turned into seconds once per customer rather than once per activity.
    # Every customer is wanted, so SQLite reads the table straight through: walking the (customer,
    # time) index would fetch each activity's kind from the table in index order, twice as slow.
    table = "timeline_activity NOT INDEXED" if connection.vendor == "sqlite" else "timeline_activity"
    sql = (f"SELECT {column} AS c0, {epoch_sql('MAX(occurred_at)')} AS c1 FROM {table} "
           f"WHERE {column} IS NOT NULL AND deleted_at IS NULL AND kind IN ('call', 'meeting', 'email') "
           f"AND occurred_at < %s GROUP BY {column}")
    matrix = numbers(sql, [as_param(end)], 2)
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
    sql = (f"SELECT {key} AS c0, COUNT(*) AS c1, SUM(CASE WHEN {moving} AND NOT {stalled} THEN 1 ELSE 0 END) AS c2, "
           f"SUM(CASE WHEN {stalled} THEN 1 ELSE 0 END) AS c3 "
           f"FROM {source} JOIN sales_pipeline p ON p.id = d.pipeline_id "
           f"WHERE {key} IS NOT NULL AND d.status = 'open' AND d.deleted_at IS NULL AND d.created_at < %s "
           f"GROUP BY {key}")
    params = [end_seconds - 30 * 86400, end_seconds, end_seconds, as_param(end)]
    matrix = numbers(sql, params, 4)
    return tuple(matrix[:, i].astype(np.int64) for i in range(4))


def load_lost_renewals(column: str, end: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
    """(ids, epoch seconds) of each customer's latest lost deal in a renewal pipeline: a contract
    that ended, even before its renewal date passed."""
    source = ("sales_dealcontact x JOIN sales_deal d ON d.id = x.deal_id" if column == "contact_id"
              else "sales_deal d")
    key = "x.contact_id" if column == "contact_id" else "d.company_id"
    sql = (f"SELECT {key} AS c0, {epoch_sql('MAX(d.closed_at)')} AS c1 FROM {source} "
           "JOIN sales_pipeline p ON p.id = d.pipeline_id "
           f"WHERE {key} IS NOT NULL AND p.kind = 'renewal' AND d.status = 'lost' AND d.deleted_at IS NULL "
           f"AND d.closed_at IS NOT NULL AND d.closed_at < %s GROUP BY {key}")
    matrix = numbers(sql, [as_param(end)], 2)
    return matrix[:, 0].astype(np.int64), matrix[:, 1].astype(np.int64)


def load_owners(table: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, owner ids, team ids; 0 for none) of every contact or company, sorted by id: each score
    copies its customer's, so the lists can filter scores by team or owner without a join."""
    if table not in ("people_contact", "people_company"):
        raise ValueError(f"table: {table!r} holds no customers")
    matrix = numbers(f"SELECT id AS c0, COALESCE(owner_id, 0) AS c1, COALESCE(team_id, 0) AS c2 FROM {table} "
                     "ORDER BY id", [], 3)
    return tuple(matrix[:, i].astype(np.int64) for i in range(3))


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
