"""The orders importer: a million order lines in under a minute, every line accounted for.

`record_purchase` costs a dozen queries an order. Here lines stream from the file in batches of
whole orders: each line is judged in Python (lines.py), products are known by SKU from one query
at the start, customers are looked up by e-mail and domain once each (through the people
selectors, so only customers the importer may see are matched), and each batch's new orders,
their lines, purchase events and audit entries go in with one `executemany` per table. Order ids
are reserved up front, so lines, events and audit entries need no read-back. Several batches share
a transaction; an interrupted import can be run again.

The rules are the order service's: the same value judgements, owner and team from the customer's
owner, one "purchase" event per order with the service's payload, one audit entry per order
(source "import"). An order is imported whole or not at all: a bad line rejects its order, and
every line of a rejected order is written to the rejects file with its line number, column and
reason. Orders already in Rapport (same external id) are left alone when unchanged, so a re-run
creates nothing; a changed one is corrected through `record_purchase` itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes, restore_pending_indexes
from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditAction, AuditEntry, Profile
from rapport.people import selectors as people
from rapport.people.imports.engine import RejectsFile, _bulk_load_cache, _highest_id, _without_gc_pauses
from rapport.people.imports.reading import ImportFileError, count_data_lines, iter_rows, sniff
from rapport.people.models import Company, Contact
from rapport.timeline.models import Event

from ..models import Order, OrderLine, Product
from ..selectors import orders as order_selectors
from ..services import orders as order_services
from .lines import BadLine, Line, LineJudge, head_difference, map_columns

BATCH_LINES = 5000
COMMIT_LINES = 20000
# From this many lines (into SQLite), the tables the import at least doubles lose their non-unique
# indexes while it runs and get them back, built once, at the end.
DROP_INDEXES_MIN_LINES = 50000
LOOKUP_CHUNK = 900
AUDIT_COLUMNS = ["at", "actor_id", "action", "record_type", "record_id", "changes", "source"]
EVENT_COLUMNS = ["kind", "occurred_at", "actor_id", "contact_id", "company_id", "deal_id", "summary", "payload"]
LINE_COLUMNS = ["order_id", "product_id", "quantity", "unit_price", "line_total"]


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


@dataclass
class _Order:
    external_id: str
    lines: list[Line]
    contact_id: int | None = None
    company_id: int | None = None
    owner_id: int | None = None


def import_orders(*, actor, path: Path | str, dry_run: bool = False, rejects_path: Path | None = None,
                  progress: Progress | None = None, batch_lines: int = BATCH_LINES,
                  commit_lines: int = COMMIT_LINES) -> OrderImportSummary:
    """Import an orders CSV as `actor`. Raises ValidationFailed({"file": reason}) when the file
    cannot be imported at all (empty, not a table, missing columns)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed({"file": f"{path} is not a file"})
    try:
        fmt = sniff(path)
    except ImportFileError as exc:
        raise ValidationFailed({"file": str(exc)}) from exc
    if next(iter_rows(path, fmt), None) is None:
        raise ValidationFailed({"file": "The file has a header row but no data rows below it."})
    index, names, ignored = map_columns(fmt.headers)
    run = _Run(actor=actor, path=path, fmt=fmt, index=index, names=names, dry_run=dry_run,
               rejects=RejectsFile(rejects_path, fmt.headers), progress=progress)
    run.summary.ignored_columns = ignored
    run.summary.lines_total = count_data_lines(path)
    return run.run(batch_lines, commit_lines)


class _Run:
    def __init__(self, *, actor, path, fmt, index, names, dry_run, rejects, progress):
        self.actor, self.actor_id = actor, actor.pk
        self.path, self.fmt, self.names = path, fmt, names
        self.dry_run, self.rejects, self.progress = dry_run, rejects, progress
        self.summary = OrderImportSummary(dry_run=dry_run)
        products = list(Product.objects.filter(deleted_at__isnull=True).values_list("id", "sku", "category__name"))
        self.sku_of = {pid: sku for pid, sku, _ in products}
        self.category_of = {pid: name for pid, _, name in products if name}
        self.judge = LineJudge(index, names, {sku: pid for pid, sku, _ in products}, now=timezone.now())
        self.contacts: dict[str, tuple | str] = {}  # e-mail -> (id, owner id, company id) or reason
        self.companies: dict[str, tuple | str] = {}  # domain -> (id, owner id) or reason
        self.teams: dict[int, int | None] = {}
        self.seen: dict[str, tuple[int, int]] = {}  # external id -> its lines' span in the file
        self.cells: dict[int, list[str]] = {}
        sqlite = connection.vendor == "sqlite"
        self.text = str if sqlite else (lambda value: value)  # money as text: SQLite keeps it exact
        self.json = json.dumps if sqlite else (lambda value: connection.ops.adapt_json_value(value, None))
        self.stamp = connection.ops.adapt_datetimefield_value
        fields = [f for f in Order._meta.concrete_fields]
        self.order_columns = [f.column for f in fields]
        self.order_template = [None if f.primary_key else f.get_default() for f in fields]
        self.order_index = {c: i for i, c in enumerate(self.order_columns)}

    # --- the run ---------------------------------------------------------------------------------

    def run(self, batch_lines: int, commit_lines: int) -> OrderImportSummary:
        batches = self._batches(batch_lines)
        more = True
        try:
            with _bulk_load_cache(), self._without_secondary_indexes(), _without_gc_pauses():
                while more:
                    with transaction.atomic():
                        in_transaction = 0
                        for batch, rejected in batches:
                            self._write(batch, rejected)
                            in_transaction += sum(len(o.lines) for o in batch) + len(rejected)
                            if in_transaction >= commit_lines:
                                break
                        else:
                            more = False
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
    def _without_secondary_indexes(self) -> Iterator[None]:
        restore_pending_indexes()  # left behind by a load that was killed
        dropped: list[str] = []
        lines = self.summary.lines_total
        if connection.vendor == "sqlite" and not self.dry_run and lines >= DROP_INDEXES_MIN_LINES:
            # Shops average two to four lines an order; each order brings one event and one audit entry.
            orders = lines // 3
            tables = [model for model, rows in ((OrderLine, lines), (Order, orders), (Event, orders),
                                                (AuditEntry, orders)) if _highest_id(model) <= rows]
            dropped = drop_secondary_indexes(tables, keep_unique=True) if tables else []
        try:
            yield
        finally:
            restore_indexes(dropped)

    # --- reading and grouping -------------------------------------------------------------------

    def _batches(self, batch_lines: int) -> Iterator[tuple[list[_Order], list[tuple[BadLine | Line, str, str]]]]:
        """Batches of whole, well-formed orders, each with the lines rejected while reading it."""
        batch: list[_Order] = []
        rejected: list[tuple[BadLine | Line, str, str]] = []
        size = 0
        for group in self._groups():
            order = self._check_group(group, rejected)
            if order is not None:
                batch.append(order)
            size += len(group)
            if size >= batch_lines:
                yield batch, rejected
                batch, rejected, size = [], [], 0
        if batch or rejected:
            yield batch, rejected

    def _groups(self) -> Iterator[list[Line | BadLine]]:
        """Consecutive lines with the same external id; a line without one stands alone."""
        judge, cells_of = self.judge.judge, self.cells
        group: list[Line | BadLine] = []
        current = None
        for number, cells in iter_rows(self.path, self.fmt):
            item = judge(number, cells)
            cells_of[number] = cells
            external_id = item.external_id
            if group and (external_id != current or not external_id):
                yield group
                group = []
            group.append(item)
            current = external_id
        if group:
            yield group

    def _check_group(self, group: list[Line | BadLine], rejected: list) -> _Order | None:
        """The group as an order, or None with all its lines added to `rejected`."""
        external_id = group[0].external_id
        first, last = group[0].number, group[-1].number
        if not external_id:
            rejected.append((group[0], group[0].column, group[0].reason))
            return None
        earlier = self.seen.get(external_id)
        if earlier is not None:
            reason = (f"order {external_id} is also on lines {earlier[0]}–{earlier[1]}; an order's lines must be "
                      "next to each other in the file, so these lines were not imported")
            rejected.extend((item, self.column("external_id"), reason) for item in group)
            return None
        self.seen[external_id] = (first, last)
        bad = [item for item in group if isinstance(item, BadLine)]
        if not bad:
            head = group[0].head
            for item in group[1:]:
                differs = head_difference(head, item.head)
                if differs:
                    bad.append(BadLine(item.number, external_id, self.column(differs),
                                       f"differs from line {first} of the same order; every line of an order "
                                       f"repeats its {differs}"))
        if bad:
            self._reject_order(group, bad, rejected)
            return None
        return _Order(external_id, group)

    def column(self, name: str) -> str:
        return self.judge.column(name)

    def _reject_order(self, group: list, bad: list[BadLine], rejected: list) -> None:
        reasons = {item.number: item for item in bad}
        first_bad = bad[0]
        for item in group:
            if item.number in reasons:
                own = reasons[item.number]
                rejected.append((item, own.column, own.reason))
            else:
                rejected.append((item, "", f"line {first_bad.number} of order {item.external_id} was rejected "
                                           f"({first_bad.column}); an order is imported whole or not at all"))

    # --- writing --------------------------------------------------------------------------------

    def _write(self, batch: list[_Order], rejected: list) -> None:
        for item, column, reason in rejected:
            self._reject_line(item.number, column, reason)
        self.summary.orders_rejected += len({item.external_id or item.number for item, _, _ in rejected})
        self._resolve_customers(batch)
        ready = [order for order in batch if self._has_customer(order)]
        existing = self._existing([order.external_id for order in ready])
        new = [order for order in ready if order.external_id not in existing]
        self._update_existing([order for order in ready if order.external_id in existing], existing)
        self._create(new)
        self.summary.lines_done += sum(len(o.lines) for o in batch) + len(rejected)

    def _reject_line(self, number: int, column: str, reason: str) -> None:
        self.summary.lines_read += 1
        self.summary.lines_rejected += 1
        self.rejects.add(number, self.cells.pop(number, []), column, reason)

    def _reject_whole(self, order: _Order, column: str, reason: str) -> None:
        for line in order.lines:
            self._reject_line(line.number, column, reason)
        self.summary.orders_rejected += 1

    def _accepted(self, order: _Order) -> None:
        self.summary.lines_read += len(order.lines)
        for line in order.lines:
            self.cells.pop(line.number, None)

    # --- customers --------------------------------------------------------------------------------

    def _resolve_customers(self, batch: list[_Order]) -> None:
        emails = {o.lines[0].head[1] for o in batch} - {None} - self.contacts.keys()
        domains = {o.lines[0].head[2] for o in batch} - {None} - self.companies.keys()
        if emails:
            self._look_up(sorted(emails), self.contacts, people.contact_queryset(self.actor), "email",
                          ("email", "id", "owner_id", "company_id"), Contact,
                          hidden="this e-mail address belongs to a contact you cannot see",
                          missing="no contact has this e-mail address; import or create the contact first")
        if domains:
            self._look_up(sorted(domains), self.companies, people.company_queryset(self.actor).order_by("-id"),
                          "domain", ("domain", "id", "owner_id"), Company,
                          hidden="this domain belongs to a company you cannot see",
                          missing="no company has this web domain; import or create the company first")

    def _look_up(self, keys: list[str], cache: dict, visible, column: str, fields: tuple, model, *, hidden: str,
                 missing: str) -> None:
        table = connection.ops.quote_name(model._meta.db_table)
        for start in range(0, len(keys), LOOKUP_CHUNK):
            part = keys[start:start + LOOKUP_CHUNK]
            for key, *values in visible.filter(**{f"{column}__in": part}).values_list(*fields):
                cache[key] = tuple(values)  # ordered newest first where it matters: the oldest wins
            unknown = [key for key in part if key not in cache]
            if unknown:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {column} FROM {table} WHERE deleted_at IS NULL AND {column} IN "
                                   f"({', '.join(['%s'] * len(unknown))})", unknown)
                    taken = {row[0] for row in cursor.fetchall()}
                for key in unknown:
                    cache[key] = hidden if key in taken else missing

    def _has_customer(self, order: _Order) -> bool:
        _, email, domain, _, _ = order.lines[0].head
        owner_id = None
        if email is not None:
            found = self.contacts[email]
            if isinstance(found, str):
                self._reject_whole(order, self.column("contact_email"), found)
                return False
            order.contact_id, owner_id, order.company_id = found
        if domain is not None:
            found = self.companies[domain]
            if isinstance(found, str):
                self._reject_whole(order, self.column("company_domain"), found)
                return False
            order.company_id = found[0]
            if email is None:
                owner_id = found[1]
        order.owner_id = owner_id
        return True

    def _team(self, owner_id: int | None) -> int | None:
        if owner_id is None:
            return None
        if owner_id not in self.teams:
            self.teams[owner_id] = Profile.objects.filter(user_id=owner_id).values_list("team_id", flat=True).first()
        return self.teams[owner_id]

    # --- orders already in Rapport ----------------------------------------------------------------

    def _existing(self, external_ids: list[str]) -> dict[str, tuple[int, Any]]:
        """external id -> (order id, deleted_at) for those Rapport already has, whoever owns them."""
        found: dict[str, tuple[int, Any]] = {}
        if not external_ids:
            return found
        table = connection.ops.quote_name(Order._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(external_ids), LOOKUP_CHUNK):
                part = external_ids[start:start + LOOKUP_CHUNK]
                cursor.execute(f"SELECT external_id, id, deleted_at FROM {table} WHERE external_id IN "
                               f"({', '.join(['%s'] * len(part))})", part)
                found.update({external_id: (order_id, deleted) for external_id, order_id, deleted in cursor.fetchall()})
        return found

    def _update_existing(self, orders: list[_Order], existing: dict[str, tuple[int, Any]]) -> None:
        if not orders:
            return
        ids = [existing[o.external_id][0] for o in orders if existing[o.external_id][1] is None]
        visible = set(order_selectors.order_queryset(self.actor).filter(pk__in=ids).values_list("pk", flat=True))
        stored = {row[0]: row[1:] for row in Order.objects.filter(pk__in=visible).values_list(
            "id", "contact_id", "company_id", "ordered_at", "channel", "currency")}
        stored_lines: dict[int, list[tuple]] = {}
        for order_id, product_id, quantity, unit_price in OrderLine.objects.filter(order_id__in=visible).values_list(
                "order_id", "product_id", "quantity", "unit_price"):
            stored_lines.setdefault(order_id, []).append((product_id, quantity, unit_price))
        for order in orders:
            order_id, deleted = existing[order.external_id]
            if deleted is not None:
                self._reject_whole(order, self.column("external_id"),
                                   "an order with this id is in Rapport's trash; restore it (Orders → Deleted "
                                   "orders) to import it again")
            elif order_id not in visible:
                self._reject_whole(order, self.column("external_id"),
                                   "an order with this id belongs to a customer you cannot see")
            elif self._same(order, stored[order_id], stored_lines.get(order_id, [])):
                self._accepted(order)
                self.summary.orders_unchanged += 1
            else:
                self._correct(order)

    @staticmethod
    def _same(order: _Order, stored: tuple, lines: list[tuple]) -> bool:
        when, _, _, channel, currency = order.lines[0].head
        wanted = sorted((line.product_id, line.quantity, line.unit_price) for line in order.lines)
        return (stored == (order.contact_id, order.company_id, when, channel, currency)
                and sorted(lines) == wanted)

    def _correct(self, order: _Order) -> None:
        """A changed order goes through the service: rare, and its rules (event in place, audit of
        old and new values) are better not written twice."""
        when, _, _, channel, currency = order.lines[0].head
        data = {"external_id": order.external_id, "contact": order.contact_id, "company": order.company_id,
                "ordered_at": when, "channel": channel, "currency": currency,
                "lines": [{"product": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
                          for line in order.lines]}
        try:
            with transaction.atomic():
                order_services.record_purchase(actor=self.actor, data=data, source="import")
        except ValidationFailed as exc:
            self._reject_whole(order, ", ".join(exc.errors), "; ".join(exc.errors.values()))
            return
        self._accepted(order)
        self.summary.orders_updated += 1

    # --- new orders -------------------------------------------------------------------------------

    def _reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        """Ids for `count` new rows. SQLite: the import holds the write lock (IMMEDIATE transactions),
        so the ids after the highest ever used are free; PostgreSQL: drawn from the sequence."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"SELECT MAX(COALESCE((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 0), "
                               "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))", [table])
                start = cursor.fetchone()[0] + 1
                return list(range(start, start + count))
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return [row[0] for row in cursor.fetchall()]

    def _create(self, orders: list[_Order]) -> None:
        if not orders:
            return
        ids = self._reserve_ids(Order, len(orders))
        now = timezone.now()
        stamp = self.stamp(now)
        text, dumps, sku_of, category_of = self.text, self.json, self.sku_of, self.category_of
        index, template = self.order_index, self.order_template
        i_id, i_ext, i_contact, i_company = index["id"], index["external_id"], index["contact_id"], index["company_id"]
        i_owner, i_team, i_when, i_channel = index["owner_id"], index["team_id"], index["ordered_at"], index["channel"]
        i_currency, i_total = index["currency"], index["total"]
        i_created, i_updated, i_by = index["created_at"], index["updated_at"], index["created_by_id"]
        order_rows, line_rows, event_rows, audit_rows = [], [], [], []
        actor_id = self.actor_id
        times: dict = {}
        for order_id, order in zip(ids, orders, strict=True):
            when, _, _, channel, currency = order.lines[0].head
            when_db = times.get(when)
            if when_db is None:
                when_db = times[when] = self.stamp(when)
            total = sum(line.line_total for line in order.lines)
            team_id = self._team(order.owner_id)
            row = template.copy()
            row[i_id], row[i_ext], row[i_contact], row[i_company] = order_id, order.external_id, order.contact_id, \
                order.company_id
            row[i_owner], row[i_team], row[i_when], row[i_channel] = order.owner_id, team_id, when_db, channel
            row[i_currency], row[i_total] = currency, text(total)
            row[i_created] = row[i_updated] = stamp
            row[i_by] = actor_id
            order_rows.append(row)
            audit_lines = []
            categories = set()
            for line in order.lines:
                line_rows.append((order_id, line.product_id, text(line.quantity), text(line.unit_price),
                                  text(line.line_total)))
                audit_lines.append([sku_of[line.product_id], str(line.quantity), str(line.unit_price)])
                category = category_of.get(line.product_id)
                if category:
                    categories.add(category)
            total_text = str(total)
            event_rows.append((
                "purchase", when_db, actor_id, order.contact_id, order.company_id, None,
                order_services.purchase_summary(total, currency, channel, len(order.lines)),
                dumps({"order": order_id, "total": total_text, "currency": currency, "channel": channel,
                       "categories": sorted(categories)})))
            changes = {"external_id": [None, order.external_id]}
            for name, value in (("contact", order.contact_id), ("company", order.company_id),
                                ("owner", order.owner_id), ("team", team_id)):
                if value is not None:
                    changes[name] = [None, value]
            changes.update({"ordered_at": [None, when.isoformat()], "channel": [None, channel],
                            "currency": [None, currency], "total": [None, total_text],
                            "is_subscription": [None, False], "lines": [None, audit_lines]})
            audit_rows.append((stamp, actor_id, AuditAction.CREATE.value, "sales.order", order_id, dumps(changes),
                               "import"))
            self._accepted(order)
        _insert(Order, self.order_columns, order_rows)
        _insert(OrderLine, LINE_COLUMNS, line_rows)
        _insert(Event, EVENT_COLUMNS, event_rows)
        _insert(AuditEntry, AUDIT_COLUMNS, audit_rows)
        self.summary.orders_created += len(orders)


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
