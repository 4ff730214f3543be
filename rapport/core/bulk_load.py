"""Big loads into SQLite: drop secondary indexes first, build them once afterwards.

Inserting a row updates every index of its table, each in key order, so an index on names or
phones takes a random page write per row; building the same index afterwards by sorting costs
a fraction of that. The demo loader and the CSV importer both use this, each deciding when a
load is big enough. The dropped statements are kept in a file under VAR_DIR until the indexes
are back, so a load that is killed half-way is repaired by the next one (restore_pending_indexes).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from django.conf import settings
from django.db import connection, models

PENDING_INDEXES = "pending-indexes.json"
# The demo loader's name for the same file before the importer shared it.
OLD_PENDING_INDEXES = "demo-pending-indexes.json"
_INDEXED_TABLE = re.compile(r'\bON\s+"?([A-Za-z0-9_]+)"?\s*\(')


def _pending_path(name: str = PENDING_INDEXES) -> Path:
    database = hashlib.sha1(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:12]
    return Path(settings.VAR_DIR) / f"{name}.{database}"


def _pending() -> list[str]:
    path = _pending_path()
    return json.loads(path.read_text()) if path.exists() else []


def _keep_pending(statements: list[str]) -> None:
    path = _pending_path()
    if statements:
        path.write_text(json.dumps(statements))
    else:
        path.unlink(missing_ok=True)


def drop_secondary_indexes(tables: list[type[models.Model]], *, keep_unique: bool = False) -> list[str]:
    """SQLite only: drop the indexes of these tables and return the statements that rebuild them.

    keep_unique keeps the unique indexes, for loads whose rows are not known to be unique
    (an import relies on the live e-mail index to refuse duplicates). Primary keys stay anyway.
    """
    if connection.vendor != "sqlite":
        return []
    names = [m._meta.db_table for m in tables]
    sql = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
           f"tbl_name IN ({', '.join(['%s'] * len(names))})")
    if keep_unique:
        sql += " AND sql NOT LIKE 'CREATE UNIQUE INDEX%%'"
    with connection.cursor() as cursor:
        cursor.execute(sql, names)
        indexes = cursor.fetchall()
        statements = [statement for _, statement in indexes]
        # Written before dropping: an interruption must never lose an index.
        _keep_pending(sorted({*_pending(), *statements}))
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return statements


def restore_indexes(statements: list[str]) -> None:
    """Rebuild dropped indexes (those already back are left alone), then sample their statistics.

    Dropping an index drops its statistics too. Left without them beside analysed ones, an index
    looks to the planner as if it found about ten rows per value, and "team OR own" gets
    answered by reading a whole team: seconds instead of milliseconds on a million contacts.
    """
    if not statements:
        return
    tables: set[str] = set()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                           .replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1))
            table = _INDEXED_TABLE.search(sql)
            if table:
                tables.add(table.group(1))
        # Sampled: a tenth of a second for a million rows, and enough for the planner.
        cursor.execute("PRAGMA analysis_limit=1000")
        for table in sorted(tables):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    done = set(statements)
    _keep_pending([sql for sql in _pending() if sql not in done])


def restore_pending_indexes() -> bool:
    """Put back indexes an interrupted load dropped. True when there were any."""
    if connection.vendor != "sqlite":
        return False
    old = _pending_path(OLD_PENDING_INDEXES)
    statements = _pending()
    if old.exists():
        statements += json.loads(old.read_text())
    restore_indexes(statements)
    old.unlink(missing_ok=True)
    return bool(statements)
