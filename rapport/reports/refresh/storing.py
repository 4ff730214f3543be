"""Writing every customer's scores in one transaction, replacing the previous refresh's rows.

Readers keep seeing the old scores until the commit (WAL on SQLite, MVCC on PostgreSQL), so a
page never shows half a refresh. The rows go in with `executemany` in chunks, built from the
arrays column by column (no model instances; times travel as epoch seconds and the database
turns them into datetimes). Each row copies its customer's owner and team, so lists can filter
scores by team or owner without a join. On SQLite a large write drops the table's secondary
indexes first and builds them again after, several times faster than updating them row by row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import re
import threading
import time

import numpy as np
from django.db import connection, transaction

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes
from rapport.reports.health import COMPONENTS
from rapport.reports.models import CustomerScore

from .engagement import load_owners, spread

CHUNK = 100_000
BIG_WRITE = 20_000  # rows above which dropping and rebuilding the indexes pays off
FLOATS = ("frequency", "recency", "age", "probability_alive", "expected_purchases_12m", "expected_order_value",
          "value_12m", "lifetime_value", "renewal_probability", "usual_interval_days")
INTEGERS = ("orders", "orders_without_rate", "events_recent", "events_before", "open_deals", "moving_deals",
            "stalled_deals")
NULLABLE_INTEGERS = ("health", "renewals")
TIMES = ("first_order_at", "last_order_at", "last_contacted_at")
COLUMNS = ("model", "revenue", *FLOATS, *INTEGERS, *NULLABLE_INTEGERS, *TIMES, "health_band", "health_components")


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


def bands(health: np.ndarray) -> list[str]:
    """health.band() for every row at once."""
    health = np.asarray(health, dtype=np.float64)
    return np.select([health >= 70, health >= 40, health >= 0], ["healthy", "watch", "at_risk"], "").tolist()


def _times(seconds: np.ndarray) -> list:
    """Epoch seconds as whole numbers (None where unknown); the INSERT turns them into the
    database's datetime (SQLite's datetime(), PostgreSQL's to_timestamp()), in C."""
    seconds = np.asarray(seconds, dtype=np.float64)
    missing = ~np.isfinite(seconds) | (seconds < 0)
    whole = np.where(missing, 0, seconds).astype(np.int64).tolist()
    if not missing.any():
        return whole
    return [None if gone else s for s, gone in zip(whole, missing.tolist(), strict=True)]


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


def _optional_ids(values: np.ndarray) -> list:
    values = np.asarray(values, dtype=np.int64)
    return np.where(values > 0, values, None).tolist()


def _statement(kind: str, run_id: int, as_of: dt.date, engine_version: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z._-]{1,20}", engine_version):
        raise ValueError(f"engine_version: {engine_version!r} is not a plain version string")
    sqlite = connection.vendor == "sqlite"
    time = "datetime(%s, 'unixepoch')" if sqlite else "to_timestamp(%s)"
    placeholders = {**dict.fromkeys(TIMES, time), "health_components": "%s" if sqlite else "%s::jsonb"}
    names = ["contact_id" if kind == "contact" else "company_id", "owner_id", "team_id", "run_id", "as_of",
             "engine_version", *COLUMNS]
    values = ["%s", "%s", "%s", str(int(run_id)), f"'{as_of.isoformat()}'", f"'{engine_version}'",
              *(placeholders.get(name, "%s") for name in COLUMNS)]
    quote = connection.ops.quote_name
    return (f"INSERT INTO {quote(CustomerScore._meta.db_table)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join(values)})")


def _rows(columns: dict[str, np.ndarray], start: int, stop: int):
    part = {name: values[start:stop] for name, values in columns.items()}
    lists = [part["id"].tolist(), _optional_ids(part["owner"]), _optional_ids(part["team"]),
             part["model"].tolist(), np.round(part["revenue"], 2).tolist()]
    lists += [_numbers(part[name]) for name in FLOATS]
    lists += [np.asarray(part[name]).astype(np.int64).tolist() for name in INTEGERS]
    lists += [_numbers(part[name], integer=True) for name in NULLABLE_INTEGERS]
    lists += [_times(part[name]) for name in TIMES]
    lists.append(bands(part["health"]))
    lists.append(part["health_components"])
    return list(zip(*lists, strict=True))


class ScoreWriter:
    """Replaces every stored score in one transaction, one population (contacts, companies) at a time.

    With `background`, the writing runs on its own thread and database connection as soon as the
    first population is added, while the caller computes the next one: on a big SQLite refresh the
    contacts' million rows go in while the companies are scored. SQLite lets go of Python's lock
    while it writes, so the two share two cores. Otherwise everything is written in `finish`.
    """

    _DONE, _ABORT = object(), object()

    def __init__(self, *, run_id: int, as_of: dt.date, engine_version: str, background: bool = False,
                 progress=None):
        self.run_id, self.as_of, self.engine_version = run_id, as_of, engine_version
        self.background, self.progress = background, progress
        self.written, self.seconds = 0, 0.0
        self._items: list | queue.Queue = queue.Queue() if background else []
        self._error: BaseException | None = None
        self._thread = None
        if background:
            self._thread = threading.Thread(target=self._work, name="score-writer", daemon=True)
            self._thread.start()

    def add(self, kind: str, columns: dict) -> None:
        if self.background:
            self._items.put((kind, columns))
        else:
            self._items.append((kind, columns))

    def finish(self) -> int:
        """Wait for (or do) the writing and commit; raises what went wrong. Returns rows written."""
        if self.background:
            self._items.put(self._DONE)
            self._thread.join()
            if self._error is not None:
                raise self._error
        else:
            self._replace(iter(self._items))
        return self.written

    def abort(self) -> None:
        """Give up: the transaction rolls back and the previous scores stay."""
        if self.background and self._thread.is_alive():
            self._items.put(self._ABORT)
            self._thread.join()

    def _work(self) -> None:
        try:
            self._replace(self._queued())
        except BaseException as error:  # handed to the caller's thread by finish()
            self._error = error
        finally:
            connection.close()

    def _queued(self):
        while True:
            item = self._items.get()
            if item is self._DONE:
                return
            if item is self._ABORT:
                raise RuntimeError("the refresh was abandoned; the previous scores stay")
            yield item

    def _replace(self, items) -> None:
        started = time.perf_counter()
        # Without foreign-key checks SQLite empties the table at once instead of visiting each row,
        # and each insert skips five lookups. Every reference is known good: customers with their
        # owners and teams are read below inside this write transaction (no other writer can remove
        # one meanwhile on SQLite), and the run exists. Without CHECK constraints each insert skips
        # validating its JSON and a dozen comparisons (a third of its time); the values are made to
        # satisfy them (counts >= 0, JSON from `components_json`, contact xor company), and the
        # tests, which run inside a transaction where neither pragma is set, enforce them.
        unchecked = connection.vendor == "sqlite" and not connection.in_atomic_block
        if unchecked:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = OFF")
                cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            with transaction.atomic():
                first = next(items, None)
                big = first is not None and len(first[1]["id"]) > BIG_WRITE
                dropped = drop_secondary_indexes([CustomerScore]) if big else []
                with connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {connection.ops.quote_name(CustomerScore._meta.db_table)}")
                    # The rest arrive as they come: on the writer thread, while the first is written.
                    for kind, columns in itertools.chain([first] if first else [], items):
                        self._write(cursor, kind, columns)
                restore_indexes(dropped)
        finally:
            if unchecked:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA ignore_check_constraints = OFF")
                    cursor.execute("PRAGMA foreign_keys = ON")
            self.seconds = time.perf_counter() - started

    def _write(self, cursor, kind: str, columns: dict) -> None:
        columns = _with_owners(kind, columns)
        sql = _statement(kind, self.run_id, self.as_of, self.engine_version)
        count = len(columns["id"])
        for start in range(0, count, CHUNK):
            rows = _rows(columns, start, min(count, start + CHUNK))
            cursor.executemany(sql, rows)
            self.written += len(rows)
            if self.progress and not self.background:
                self.progress(self.written, None)


def replace_scores(*, run_id: int, as_of: dt.date, engine_version: str, populations: dict[str, dict],
                   progress=None) -> int:
    """Replace every stored score with these, in one transaction. `populations` maps "contact"
    and "company" to their columns (one array per name in COLUMNS, plus "id"). Returns rows written."""
    writer = ScoreWriter(run_id=run_id, as_of=as_of, engine_version=engine_version, progress=progress)
    for kind, columns in populations.items():
        writer.add(kind, columns)
    return writer.finish()


def _with_owners(kind: str, columns: dict) -> dict:
    """The columns with each customer's owner and team, without customers removed since their
    orders were read (nobody to attach a score to)."""
    owner_ids, owners, teams = load_owners("people_contact" if kind == "contact" else "people_company")
    ids = columns["id"]
    present = spread(ids, owner_ids, np.ones(len(owner_ids), bool), False)
    if not present.all():
        columns = {name: (values[present] if isinstance(values, np.ndarray) else
                          [v for v, keep in zip(values, present.tolist(), strict=True) if keep])
                   for name, values in columns.items()}
        ids = columns["id"]
    return {**columns, "owner": spread(ids, owner_ids, owners, 0), "team": spread(ids, owner_ids, teams, 0)}
