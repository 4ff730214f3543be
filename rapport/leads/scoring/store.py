"""Writing scores back: a million rows in a few statements, not a million saves.

The scores go into a temporary table with one `executemany`, then one `UPDATE ... FROM` copies
them onto the leads (SQLite 3.33+ and PostgreSQL both have it). Reasons and fit details are
shared JSON texts (leads with the same rules met share one), so no per-lead JSON is built.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import connection, transaction

from rapport.leads.models import Lead

TEMP = "lead_scores_tmp"
CHUNK = 200_000


def write_scores(*, ids: np.ndarray, scored, version: str, at: dt.datetime) -> int:
    """Store `scored` (a `scores.Scored`) on the leads with `ids`, in one transaction."""
    if not len(ids):
        return 0
    q = connection.ops.quote_name
    table = q(Lead._meta.db_table)
    pg = connection.vendor == "postgresql"
    json_type = "jsonb" if pg else "TEXT"
    stamp = connection.ops.adapt_datetimefield_value(at)
    fit = [None if np.isnan(v) else int(v) for v in scored.fit.tolist()]
    chance = [None if np.isnan(v) else round(v, 4) for v in scored.chance.tolist()]
    details, reasons = scored.details_json, scored.reasons_json
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP}")
        cursor.execute(f"CREATE TEMPORARY TABLE {TEMP} (id BIGINT PRIMARY KEY, fit SMALLINT, details TEXT, "
                       "engagement DOUBLE PRECISION, chance DOUBLE PRECISION, score SMALLINT, reasons TEXT)")
        for start in range(0, len(ids), CHUNK):
            stop = start + CHUNK
            rows = zip(ids[start:stop].tolist(), fit[start:stop],
                       [details[i] for i in scored.details_index[start:stop].tolist()],
                       scored.engagement[start:stop].tolist(), chance[start:stop],
                       scored.score[start:stop].astype(np.int64).tolist(),
                       [reasons[i] for i in scored.reasons_index[start:stop].tolist()], strict=True)
            cursor.executemany(f"INSERT INTO {TEMP} VALUES (%s, %s, %s, %s, %s, %s, %s)", list(rows))
        cast = f"::{json_type}" if pg else ""
        cursor.execute(
            f"UPDATE {table} SET fit_score = s.fit, fit_details = s.details{cast}, engagement_score = s.engagement, "
            f"predicted_chance = s.chance, score = s.score, score_reasons = s.reasons{cast}, "
            f"score_model_version = %s, scored_at = %s FROM {TEMP} s WHERE {table}.id = s.id", [version, stamp])
        updated = cursor.rowcount
        cursor.execute(f"DROP TABLE {TEMP}")
    return updated
