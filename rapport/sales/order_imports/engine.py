"""The orders importer: a million order lines in about a minute, every line accounted for.

`record_purchase` costs a dozen queries an order. Here lines stream from the file in chunks of
whole orders. Each chunk's lines are judged and its orders drafted in Python (lines.py: the
rows, audit entry and purchase event each new order will get), in worker processes for big files
on SQLite, sent back marshalled. This process then only looks things up and writes: products are
known by SKU from one query at the start, customers are looked up by e-mail and domain once each
(through the people selectors, so only customers the importer may see are matched), order ids
are reserved up front, and each chunk's orders, lines, events and audit entries go in with one
`executemany` per table. Several chunks share a transaction; an interrupted import can simply be
run again. A big import into SQLite drops the non-unique indexes of the tables it at least
doubles and builds them once at the end (rapport.core.bulk_load).

The rules are the order service's: the same value judgements, owner and team from the customer's
owner, one "purchase" event per order with the service's payload, one audit entry per order
(source "import"). An order is imported whole or not at all: a bad line rejects its order, and
every line of a rejected order is written to the rejects file with its line number, column and
reason. Orders already in Rapport (same external id) are left alone when unchanged, so a re-run
creates nothing; a changed one is corrected through `record_purchase` itself.
"""

from __future__ import annotations

import csv
import gc
import json
import marshal
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes, restore_pending_indexes
from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditAction, AuditEntry, Team
from rapport.people.imports.engine import RejectsFile, _bulk_load_cache, _highest_id, _without_gc_pauses
from rapport.people.imports.reading import ImportFileError, count_data_lines, iter_rows, sniff
from rapport.people.models import Company, Contact
from rapport.timeline.models import Event

from ..models import Order, OrderLine, Product
from .chunks import ByteChunks, pack_cells, parse_chunk, splittable, unpack_cells
from .customers import Customers
from .existing import KnownOrders
from .lines import LineJudge, draft_orders, map_columns

CHUNK_LINES = 5000
COMMIT_LINES = 20000
# From this many lines (into SQLite), the tables the import at least doubles lose their non-unique
# indexes while it runs and get them back, built once, at the end.
DROP_INDEXES_MIN_LINES = 50000
# Below this many lines, starting worker processes costs more than it saves.
PARALLEL_MIN_LINES = 20000
# Chunks are cut as bytes: about this many a line, so a chunk holds about CHUNK_LINES lines.
BYTES_PER_LINE = 100
LOOKUP_CHUNK = 900
# Each table's columns in insert order: what varies per row first, then what every row of the
# import shares (appended as one constant tuple).
AUDIT_COLUMNS = ["record_id", "changes", "at", "actor_id", "action", "record_type", "source"]
EVENT_COLUMNS = ["contact_id", "company_id", "occurred_at", "summary", "payload", "kind", "actor_id", "deal_id"]
LINE_COLUMNS = ["order_id", "product_id", "quantity", "unit_price", "line_total"]
# An order's row starts with its id and customer; the rest comes drafted (lines.LineJudge.order_rest).
ORDER_LEAD_COLUMNS = ["id", "contact_id", "company_id", "owner_id", "team_id"]


@dataclass
class OrderImportSummary:
    lines_read: int = 0
    lines_rejected: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    orders_rejected: int = 0
    lines_total: int = 0
    lines_done: int = 0
    rejects_path: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"lines_read": self.lines_read, "lines_rejected": self.lines_rejected,
                "orders_created": self.orders_created, "orders_updated": self.orders_updated,
                "orders_unchanged": self.orders_unchanged, "orders_rejected": self.orders_rejected}


Progress = Callable[[OrderImportSummary], None]


def _bare_carriage_returns(path: Path) -> bool:
    """Whether the file's first lines end with CR alone (no LF anywhere in its start)."""
    with path.open("rb") as handle:
        start = handle.read(65536)
    return b"\r" in start and b"\n" not in start


def import_orders(*, actor, path: Path | str, dry_run: bool = False, rejects_path: Path | str | None = None,
                  progress: Progress | None = None, chunk_lines: int = CHUNK_LINES,
                  commit_lines: int = COMMIT_LINES, workers: int | None = None) -> OrderImportSummary:
    """Import an orders CSV as `actor`. Raises ValidationFailed({"file": reason}) when the file
    cannot be imported at all (missing, empty, not a table, missing columns)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed({"file": f"{path} is not a file"})
    try:
        fmt = sniff(path)
    except ImportFileError as exc:
        raise ValidationFailed({"file": str(exc)}) from exc
    except csv.Error as exc:
        raise ValidationFailed({"file": f"The file cannot be read as CSV ({exc}). Save it again as CSV with "
                                        "ordinary line breaks."}) from exc
    if _bare_carriage_returns(path):
        # The contact importer reads such files row by row; this one cuts the file into byte
        # chunks at line feeds for its workers, so it asks for ordinary line breaks instead.
        raise ValidationFailed({"file": "The file cannot be read as CSV here: its lines end with a bare carriage "
                                        "return (an old Mac format). Save it again as CSV with ordinary line "
                                        "breaks."})
    if next(iter_rows(path, fmt), None) is None:
        raise ValidationFailed({"file": "The file has a header row but no data rows below it."})
    index, names, ignored = map_columns(fmt.headers)
    run = _Run(actor=actor, path=path, fmt=fmt, index=index, names=names, dry_run=dry_run,
               rejects=RejectsFile(Path(rejects_path) if rejects_path else None, fmt.headers), progress=progress)
    run.summary.ignored_columns = ignored
    run.summary.lines_total = count_data_lines(path)
    return run.run(chunk_lines, commit_lines, workers)


# Set in each worker process when the pool starts (fork: inherited, never pickled).
_worker_judge: LineJudge | None = None


def _start_worker(judge: LineJudge) -> None:
    global _worker_judge
    _worker_judge = judge
    gc.disable()  # see rapport.people.imports.engine._without_gc_pauses


def _draft_chunk(chunk: tuple[int, bytes], judge: LineJudge, *, marshalled: bool = True) -> bytes | tuple:
    """Parse a chunk of whole orders, judge its lines and draft its orders. From a worker, sent
    back marshalled: the count of rows, each row's cells as one string (for the rejects file),
    and the drafts."""
    first_line, data = chunk
    rows, separator_in_text = parse_chunk(data, first_line, judge.fmt)
    if not marshalled:
        return len(rows), dict(rows), draft_orders(judge, rows)
    result = (len(rows), pack_cells(rows, separator_in_text), draft_orders(judge, rows))
    try:
        return marshal.dumps(result)
    except ValueError:  # a value marshal does not know: let multiprocessing pickle it
        return result


def _draft_in_worker(chunk: tuple[int, bytes]) -> bytes | tuple:
    return _draft_chunk(chunk, _worker_judge)


def _unpack(result: bytes | tuple) -> tuple[int, dict, list[tuple]]:
    return marshal.loads(result) if isinstance(result, bytes) else result


class _Run:
    def __init__(self, *, actor, path, fmt, index, names, dry_run, rejects, progress):
        self.actor, self.actor_id = actor, actor.pk
        self.path, self.fmt, self.index = path, fmt, index
        self.dry_run, self.rejects, self.progress = dry_run, rejects, progress
        self.summary = OrderImportSummary(dry_run=dry_run)
        products = list(Product.objects.filter(deleted_at__isnull=True).values_list("id", "sku", "category__name"))
        self.judge = LineJudge(index, names, {sku: pid for pid, sku, _ in products}, now=timezone.now(),
                               db_time=connection.ops.adapt_datetimefield_value,
                               categories={pid: name for pid, _, name in products if name}, fmt=fmt)
        self.customers = Customers(actor, self.column)
        self.known = KnownOrders(actor, self.summary, self.column)
        self.referenced: dict[type[models.Model], set[int]] | None = None
        self.user_model = get_user_model()
        self.seen: dict[str, tuple[int, int]] = {}  # external id -> the span of its lines in the file
        self.sqlite = connection.vendor == "sqlite"
        # Every row this import writes carries the same time stamp (its start) and author.
        self.stamp = connection.ops.adapt_datetimefield_value(self.judge.now)
        rest = [f for f in Order._meta.concrete_fields if f.column not in ORDER_LEAD_COLUMNS]
        self.order_columns = ORDER_LEAD_COLUMNS + [f.column for f in rest]
        template = [f.get_default() for f in rest]
        for i, f in enumerate(rest):
            if f.column in ("created_at", "updated_at"):
                template[i] = self.stamp
            elif f.column == "created_by_id":
                template[i] = self.actor_id
        # Money goes to SQLite as text (exact, and what its NUMERIC columns parse); elsewhere as Decimal.
        self.judge.set_order_row([f.column for f in rest], template, money_as_text=self.sqlite)
        self.audit_constant = (self.stamp, self.actor_id, AuditAction.CREATE.value, "sales.order", "import")
        self.event_constant = ("purchase", self.actor_id, None)

    def column(self, name: str) -> str:
        return self.judge.column(name)

    # --- the run ---------------------------------------------------------------------------------

    def run(self, chunk_lines: int, commit_lines: int, workers: int | None) -> OrderImportSummary:
        drafted = self._drafted(chunk_lines, workers)
        more = True
        try:
            with (_bulk_load_cache(), self._without_secondary_indexes(), self._references_checked_per_commit(),
                  _without_gc_pauses()):
                while more:
                    # Several chunks share a transaction: index pages are written once per commit.
                    with transaction.atomic():
                        in_transaction = 0
                        lines_before = self.summary.lines_done
                        for count, cells, drafts in drafted:
                            self._write(count, cells, drafts)
                            in_transaction += count
                            if in_transaction >= commit_lines:
                                break
                        else:
                            more = False
                        self._check_references(lines_before)
                        if self.dry_run:
                            transaction.set_rollback(True)
                    if self.progress:
                        self.summary.lines_total = max(self.summary.lines_total, self.summary.lines_done)
                        self.progress(self.summary)
        finally:
            self.rejects.close()
        if self.rejects.path is not None and self.rejects._writer is not None:
            self.summary.rejects_path = str(self.rejects.path)
        return self.summary

    @contextmanager
    def _references_checked_per_commit(self) -> Iterator[None]:
        """On SQLite, foreign keys are checked once per transaction rather than row by row.

        SQLite looks up every foreign key of every row it inserts (an order's customer, owner,
        team and author; a line's order and product; an event's contact, company and actor): a
        fifth of the writing process's time. Here every id written comes from a lookup made by
        this import (or is an order id it reserved), so instead `_check_references` confirms, in
        the same transaction and under the same write lock, that the customers, users, teams and
        products it wrote still exist; if one was deleted meanwhile, the transaction rolls back
        and the import stops saying so. The pragma only takes effect outside a transaction (not
        in tests, which run inside one; the rows are checked row by row there)."""
        self.referenced = None
        if self.sqlite and not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = OFF")
                cursor.execute("PRAGMA foreign_keys")
                if not cursor.fetchone()[0]:
                    self.referenced = {Contact: set(), Company: set(), self.user_model: set(), Team: set(),
                                       Product: set()}
        try:
            yield
        finally:
            if self.referenced is not None:
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA foreign_keys = ON")
                self.referenced = None

    def _check_references(self, lines_before: int) -> None:
        if not self.referenced:
            return
        self.referenced[self.user_model].add(self.actor_id)  # the author of every row written
        for model, ids in self.referenced.items():
            ids.discard(None)
            wanted = sorted(ids)
            table = connection.ops.quote_name(model._meta.db_table)
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                part = wanted[start:start + LOOKUP_CHUNK]
                with connection.cursor() as cursor:  # plain SQL: thousands of ids each commit
                    cursor.execute(f"SELECT id FROM {table} WHERE id IN ({', '.join(['%s'] * len(part))})", part)
                    found = {row[0] for row in cursor.fetchall()}
                if len(found) != len(part):
                    missing = next(pk for pk in part if pk not in found)
                    raise RuntimeError(
                        f"{model._meta.verbose_name} {missing} was deleted while the import ran, so the import "
                        f"stopped after the first {lines_before:,} lines. Run it again: the orders imported "
                        "so far are recognised and left alone.")
            ids.clear()

    @contextmanager
    def _without_secondary_indexes(self) -> Iterator[None]:
        restore_pending_indexes()  # left behind by a load that was killed
        dropped: list[str] = []
        lines = self.summary.lines_total
        if self.sqlite and not self.dry_run and lines >= DROP_INDEXES_MIN_LINES:
            # Shops average two to four lines an order; each order brings one event and one audit entry.
            orders = lines // 3
            tables = [model for model, rows in ((OrderLine, lines), (Order, orders), (Event, orders),
                                                (AuditEntry, orders)) if _highest_id(model) <= rows]
            dropped = drop_secondary_indexes(tables, keep_unique=True) if tables else []
        try:
            yield
        finally:
            restore_indexes(dropped)

    # --- reading and drafting ---------------------------------------------------------------------

    def _row_chunks(self, chunk_lines: int) -> Iterator[list[tuple[int, list[str]]]]:
        """Rows read here, in chunks of at least `chunk_lines` cut only between orders: for files
        that cannot be cut as bytes (see chunks.py)."""
        i_external = self.index["external_id"]
        chunk: list[tuple[int, list[str]]] = []
        last = None
        for row in iter_rows(self.path, self.fmt):
            cells = row[1]
            external_id = cells[i_external].strip() if i_external < len(cells) else ""
            if len(chunk) >= chunk_lines and (external_id != last or not external_id):
                yield chunk
                chunk = []
            chunk.append(row)
            last = external_id
        if chunk:
            yield chunk

    def _drafted(self, chunk_lines: int, workers: int | None) -> Iterator[tuple[int, dict, list[tuple]]]:
        """(rows read, cells by line number, drafts) per chunk, in file order.

        Parsing, judging and drafting (the costly pure Python) run in worker processes for big
        files on SQLite while this process writes; a bounded read-ahead keeps a huge file from
        sitting in memory whole."""
        if not splittable(self.path, self.fmt):
            for rows in self._row_chunks(chunk_lines):
                yield len(rows), dict(rows), draft_orders(self.judge, rows)
            return
        chunks = ByteChunks(self.path, self.fmt, self.index["external_id"], chunk_lines * BYTES_PER_LINE)
        if workers is None:
            workers = min(2, multiprocessing.cpu_count()) if self.summary.lines_total >= PARALLEL_MIN_LINES else 0
        if workers <= 0 or not self.sqlite or "fork" not in multiprocessing.get_all_start_methods():
            for chunk in chunks:
                yield _draft_chunk(chunk, self.judge, marshalled=False)
            return
        window = threading.BoundedSemaphore(workers * 3)

        def bounded() -> Iterator[tuple[int, bytes]]:
            for chunk in chunks:
                window.acquire()
                yield chunk

        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_start_worker, initargs=(self.judge,)) as pool:
            for result in pool.imap(_draft_in_worker, bounded()):
                window.release()
                yield _unpack(result)

    # --- writing --------------------------------------------------------------------------------

    def _write(self, count: int, cells: dict, drafts: list[tuple]) -> None:
        """Write one chunk: `count` rows read, `cells` their cells by line number (see
        chunks.pack_cells), `drafts` its orders as lines.draft_orders made them."""
        rejected: list[tuple[int, str, str]] = []
        candidates: list[tuple] = []
        seen = self.seen
        for draft in drafts:
            kind, external_id, numbers = draft[0], draft[1], draft[2]
            if external_id:
                earlier = seen.get(external_id)
                if earlier is not None:
                    reason = (f"order {external_id} is also on lines {earlier[0]}–{earlier[1]}; an order's lines "
                              "must be next to each other in the file, so these lines were not imported")
                    rejected.extend((number, self.column("external_id"), reason) for number in numbers)
                    self.summary.orders_rejected += 1
                    continue
                seen[external_id] = (numbers[0], numbers[-1])
            if kind == "r":
                rejected.extend(draft[3])
                self.summary.orders_rejected += 1 if external_id else 0  # a line with no order id is no order
            else:
                candidates.append(draft)
        self.customers.resolve(candidates)
        ready: list[tuple[tuple, int | None, int | None, int | None]] = []
        for draft in candidates:
            customer = self.customers.of(draft)
            if isinstance(customer, tuple):
                ready.append((draft, *customer))
            else:
                column, reason = customer
                rejected.extend((number, column, reason) for number in draft[2])
                self.summary.orders_rejected += 1
        existing = self.known.find([item[0][1] for item in ready])
        if existing:
            rejected.extend(self.known.settle([item for item in ready if item[0][1] in existing], existing))
            ready = [item for item in ready if item[0][1] not in existing]
        self._create(ready)
        for number, column, reason in sorted(rejected):
            self.rejects.add(number, unpack_cells(cells.get(number, [])), column, reason)
        self.summary.lines_rejected += len(rejected)
        self.summary.lines_read += count
        self.summary.lines_done += count

    # --- new orders -------------------------------------------------------------------------------

    def _reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        """Ids for `count` new rows. SQLite: the import holds the write lock (IMMEDIATE transactions),
        so the ids after the highest ever used are free; PostgreSQL: drawn from the sequence."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.sqlite:
                cursor.execute(f"SELECT MAX(COALESCE((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 0), "
                               "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))", [table])
                start = cursor.fetchone()[0] + 1
                return list(range(start, start + count))
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return [row[0] for row in cursor.fetchall()]

    def _create(self, ready: list[tuple]) -> None:
        """Insert the drafted orders with their lines, purchase events and audit entries: one
        executemany per table. What is left to fill in needs the database: the ids."""
        if not ready:
            return
        ids = self._reserve_ids(Order, len(ready))
        customers, audit_part = self.customers.audit_parts, self.customers.audit_part
        audit_constant, event_constant = self.audit_constant, self.event_constant
        order_rows, line_rows, event_rows, audit_rows = [], [], [], []
        as_json = None if self.sqlite else (lambda text: connection.ops.adapt_json_value(json.loads(text), None))
        for order_id, (draft, contact_id, company_id, owner_id) in zip(ids, ready, strict=True):
            (_, _, _, _, _, when_db, _, _, _, _, summary, lines, audit_tail, payload_tail, order_rest,
             audit_head) = draft
            customer = customers.get((contact_id, company_id, owner_id))
            if customer is None:
                customer = audit_part(contact_id, company_id, owner_id)
            team_id, customer_json = customer
            order_rows.append((order_id, contact_id, company_id, owner_id, team_id) + order_rest)
            if self.sqlite:
                line_rows.extend([(order_id, *line) for line in lines])
            else:
                line_rows.extend([(order_id, product, Decimal(q), Decimal(p), Decimal(t)) for product, q, p, t in lines])
            changes = audit_head + customer_json + audit_tail
            payload = f'{{"order": {order_id}' + payload_tail
            if as_json is not None:
                changes, payload = as_json(changes), as_json(payload)
            event_rows.append((contact_id, company_id, when_db, summary, payload) + event_constant)
            audit_rows.append((order_id, changes) + audit_constant)
        if self.referenced is not None:
            # Each customer brings its contact, company, owner and team: collect them per customer.
            referenced = self.referenced
            for contact_id, company_id, owner_id in {item[1:] for item in ready}:
                referenced[Contact].add(contact_id)
                referenced[Company].add(company_id)
                referenced[self.user_model].add(owner_id)
                referenced[Team].add(customers[(contact_id, company_id, owner_id)][0])
            referenced[Product].update({row[1] for row in line_rows})
        _insert(Order, self.order_columns, order_rows)
        _insert(OrderLine, LINE_COLUMNS, line_rows)
        _insert(Event, EVENT_COLUMNS, event_rows)
        _insert(AuditEntry, AUDIT_COLUMNS, audit_rows)
        self.summary.orders_created += len(ready)


def _insert(model: type[models.Model], columns: list[str], rows: list) -> None:
    """One prepared INSERT run for every row: far cheaper than building model instances."""
    if not rows:
        return
    quote = connection.ops.quote_name
    json_columns = {f.column for f in model._meta.concrete_fields if isinstance(f, models.JSONField)}
    placeholders = ["CAST(%s AS jsonb)" if connection.vendor == "postgresql" and c in json_columns else "%s"
                    for c in columns]
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(placeholders)})")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
