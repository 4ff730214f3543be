"""Steps that migrations share. Kept small and stable: old migrations import them."""

from __future__ import annotations


def refresh_sqlite_statistics(*tables: str):
    """A RunPython step: on SQLite, give new indexes of `tables` statistics like the others have.

    Without them the planner can prefer an older, analysed index for a query the new one was
    made for (measured: seconds instead of milliseconds). A database never analysed is left
    alone: there every index is on the same footing. Other databases gather statistics
    themselves."""

    def refresh(apps, schema_editor) -> None:
        connection = schema_editor.connection
        if connection.vendor != "sqlite":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return
            cursor.execute("PRAGMA analysis_limit=1000")
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")

    return refresh
