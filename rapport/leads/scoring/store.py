"""Writing scores back: a million rows in a few statements, not a million saves.

The scores go into a temporary table with one `executemany`, then one `UPDATE ... FROM` copies
them onto the leads (SQLite 3.33+ and PostgreSQL both have it). Fit details and reasons are
shared texts (leads with the same rules met share one): the temporary table holds their
numbers, and a second small table the texts, so a million rows do not copy a million JSON texts
twice.

On SQLite, for a big write, the two queue indexes that contain the score are dropped inside the
transaction and built again at its end: moving a million entries around them one by one cost
three times the rebuild. Readers (WAL) keep seeing the old scores and indexes until the commit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import connection, transaction

from rapport.leads.models import Lead

TEMP = "lead_scores_tmp"
TEXTS = "lead_score_texts_tmp"
CHUNK = 200_000
REBUILD_INDEXES_FROM = 100_000  # rows; below this, updating the indexes in place is cheaper


def _score_indexes(cursor) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the lead table's indexes that contain the score column."""
    cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                   [Lead._meta.db_table])
    return [(name, sql) for name, sql in cursor.fetchall() if '"score"' in sql]


def write_scores(*, ids: np.ndarray, scored, version: str, at: dt.datetime) -> int:
    """Store `scored` (a `scores.Scored`) on the leads with `ids`, in one transaction."""
    if not len(ids):
        return 0
    q = connection.ops.quote_name
    table = q(Lead._meta.db_table)
    pg = connection.vendor == "postgresql"
    stamp = connection.ops.adapt_datetimefield_value(at)
    fit = [None if np.isnan(v) else int(v) for v in scored.fit.tolist()]
    chance = [None if np.isnan(v) else round(v, 4) for v in scored.chance.tolist()]
    # details get ids 0..D-1, reasons D..D+R-1, in one table of texts
    offset = len(scored.details_json)
    texts = list(enumerate([*scored.details_json, *scored.reasons_json]))
    json_cast = "::jsonb" if pg else ""
    with transaction.atomic(), connection.cursor() as cursor:
        for name in (TEMP, TEXTS):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {TEXTS} (id INTEGER PRIMARY KEY, body TEXT)")
        cursor.executemany(f"INSERT INTO {TEXTS} VALUES (%s, %s)", texts)
        cursor.execute(f"CREATE TEMPORARY TABLE {TEMP} (id BIGINT PRIMARY KEY, fit SMALLINT, details INTEGER, "
                       "engagement DOUBLE PRECISION, chance DOUBLE PRECISION, score SMALLINT, reasons INTEGER)")
        for start in range(0, len(ids), CHUNK):
            stop = start + CHUNK
            rows = zip(ids[start:stop].tolist(), fit[start:stop], scored.details_index[start:stop].tolist(),
                       scored.engagement[start:stop].tolist(), chance[start:stop],
                       scored.score[start:stop].astype(np.int64).tolist(),
                       (scored.reasons_index[start:stop] + offset).tolist(), strict=True)
            cursor.executemany(f"INSERT INTO {TEMP} VALUES (%s, %s, %s, %s, %s, %s, %s)", list(rows))
        dropped = []
        if connection.vendor == "sqlite" and len(ids) >= REBUILD_INDEXES_FROM:
            dropped = _score_indexes(cursor)
            for name, _ in dropped:
                cursor.execute(f"DROP INDEX {q(name)}")
        cursor.execute(
            f"UPDATE {table} SET fit_score = s.fit, "
            f"fit_details = (SELECT t.body FROM {TEXTS} t WHERE t.id = s.details){json_cast}, "
            f"engagement_score = s.engagement, predicted_chance = s.chance, score = s.score, "
            f"score_reasons = (SELECT t.body FROM {TEXTS} t WHERE t.id = s.reasons){json_cast}, "
            f"score_model_version = %s, scored_at = %s FROM {TEMP} s WHERE {table}.id = s.id", [version, stamp])
        updated = cursor.rowcount
        for _, sql in dropped:
            cursor.execute(sql)
        for name in (TEMP, TEXTS):
            cursor.execute(f"DROP TABLE {name}")
    return updated
