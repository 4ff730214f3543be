"""The import engine: a million rows in a minute or two, with every row accounted for.

Creating contacts one by one through `services.create_contact` costs a dozen queries a row.
Here rows move in chunks: cells are judged in Python (in worker processes for big files),
each chunk looks up its existing e-mails with one query, inserts new records, audit entries
and timeline events with one `executemany` each, and updates existing records the same way.
Several chunks share one transaction, so an interrupted import leaves whole transactions behind
and can simply be run again: rows already imported then update instead of duplicating.

What makes a million rows take about a minute and a half on two cores (benchmarks/contact_import.py):
worker processes judge the rows and also draft each new contact's row and audit entry
(rows.NewContactRows), and send them back marshalled rather than pickled; this process only looks
up, fills in ids and runs one INSERT per table and chunk. On SQLite, a big import drops the
non-unique indexes of the tables it at least doubles and rebuilds them at the end
(rapport.core.bulk_load), and the cyclic garbage collector rests while rows stream.

The rules are the services' rules: the same normalisers, the same visibility (the importer
only updates records `contact_queryset(user)` shows them), ownership and team as
`create_contact` sets them, one audit entry per created or updated record (source "import")
and one "record" event per created contact.
"""

from __future__ import annotations

import csv
import gc
import json
import marshal
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from rapport.core.bulk_load import drop_secondary_indexes, restore_indexes, restore_pending_indexes
from rapport.core.models import AuditAction, AuditEntry
from rapport.core.visibility import team_id_for_owner
from rapport.people import selectors
from rapport.people.models import Company, Contact, CustomField, LifecycleStage, Tag
from rapport.people.normalize import name_key
from rapport.timeline.models import Event

from .mapping import CONTACT
from .reading import CsvFormat, count_data_lines, iter_rows, sniff
from .rows import Accepted, NewContactRows, Rejected, RowRules, judge_chunk, judge_packed_chunk, unpack_judged

CHUNK_ROWS = 5000
# Rows per transaction: long enough to amortise index page writes, short enough that the web
# app's writers (SQLite has one writer at a time) wait a second or two at most.
COMMIT_ROWS = 20000
# From this many rows (and at least as many as the contacts already there), a contacts import into
# SQLite drops the secondary indexes and rebuilds them at the end.
DROP_INDEXES_MIN_ROWS = 50000
# Below this many rows, starting worker processes costs more than it saves.
PARALLEL_MIN_ROWS = 20000
HIDDEN_REASON = "this e-mail address belongs to a record you cannot see"
HIDDEN_COMPANY_REASON = "this domain belongs to a company you cannot see"

CONTACT_UPDATABLE = [
    "first_name", "last_name", "phone", "other_phones", "job_title", "company_id", "lifecycle_stage",
    "source", "street", "city", "region", "postal_code", "country", "time_zone", "custom",
]
COMPANY_UPDATABLE = ["name", "domain", "industry", "size_band", "country", "notes", "custom"]


@dataclass
class ImportSummary:
    read: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rows_done: int = 0
    rows_total: int = 0
    rejects_path: str = ""
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "created": self.created, "updated": self.updated, "rejected": self.rejected}


Progress = Callable[[ImportSummary], None]


# --- plumbing -----------------------------------------------------------------------------------

def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _insert(model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
    """One prepared INSERT run for every row: far cheaper than Django's per-object bulk_create."""
    if not rows:
        return
    quote = connection.ops.quote_name
    placeholders = ["%s"] * len(columns)
    if connection.vendor == "postgresql":
        # JSON may come as text (drafted in worker processes); say it is JSON rather than text.
        json_columns = {f.column for f in model._meta.concrete_fields if isinstance(f, models.JSONField)}
        placeholders = ["CAST(%s AS jsonb)" if c in json_columns else "%s" for c in columns]
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(placeholders)})")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _update(model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
    """rows are (values..., id) in `columns` order."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(c)} = %s" for c in columns)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote('id')} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _json(value: Any) -> Any:
    return connection.ops.adapt_json_value(value, None)


def _when(value) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


@contextmanager
def _bulk_load_cache() -> Iterator[None]:
    """On SQLite, a bigger page cache for this connection while the import runs.

    The indexes on e-mail, name and phone take keys in random order; keeping their pages in
    memory is what keeps a million-row import fast as the tables grow.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -524288")  # 512 MiB, only while importing
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


@contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """No cyclic garbage collection while rows stream through.

    An import keeps tens of thousands of young containers alive at a time (chunks in flight), so
    the collector keeps running full collections that find nothing: a third of the writing
    process's time on a million rows. The rows make no reference cycles; what little cyclic
    garbage the run leaves is collected once it ends. Worker processes run without it too.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _highest_id(model: type[models.Model]) -> int:
    """At least the number of rows, read from the primary key at once (COUNT(*) reads a whole index)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
        return cursor.fetchone()[0] or 0


class RejectsFile:
    """The rejected rows as a CSV: the original cells, then line, column and reason."""

    def __init__(self, path: Path | None, headers: list[str]):
        self.path = path
        self.headers = headers
        self._handle = None
        self._writer = None

    def add(self, line: int, cells: list[str], column: str, reason: str) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # With a byte-order mark Excel opens UTF-8 correctly; everything else ignores it.
            self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow([*self.headers, "line", "column", "reason"])
        width = len(self.headers)
        padded = (list(cells) + [""] * width)[:width]
        self._writer.writerow([*padded, line, column, reason])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


# --- the engine -------------------------------------------------------------------------------

@dataclass
class ImportRun:
    """One import of one file. `run()` returns the summary; `progress` is called per chunk."""

    path: Path
    entity: str
    mapping: dict[str, str]
    actor: Any
    owner: Any = None
    fmt: CsvFormat | None = None
    dry_run: bool = False
    rejects_path: Path | None = None
    progress: Progress | None = None
    chunk_rows: int | None = None  # None: CHUNK_ROWS, read when the run starts
    commit_rows: int | None = None  # None: COMMIT_ROWS
    workers: int | None = None
    label: str = ""
    job_id: int | None = None
    summary: ImportSummary = field(default_factory=ImportSummary)

    def run(self) -> ImportSummary:
        self.path = Path(self.path)
        self.fmt = self.fmt or sniff(self.path)
        self.owner = self.owner or self.actor
        self.label = self.label or self.path.name
        self.summary.dry_run = self.dry_run
        self.summary.rows_total = count_data_lines(self.path)
        fields = list(CustomField.objects.filter(entity=self.entity))
        writer_class = ContactWriter if self.entity == CONTACT else CompanyWriter
        rejects = RejectsFile(self.rejects_path, self.fmt.headers)
        writer = writer_class(self, [f for f in fields if f.required], rejects)
        rules = RowRules(
            entity=self.entity, headers=self.fmt.headers, mapping=self.mapping,
            custom_fields=[{"key": f.key, "label": f.label, "field_type": f.field_type, "choices": f.choices,
                            "required": False, "entity": f.entity} for f in fields],
            default_region=settings.RAPPORT_DEFAULT_PHONE_REGION,
            new_contacts=writer.new_contacts if self.entity == CONTACT else None,
        )
        self.chunk_rows = self.chunk_rows or CHUNK_ROWS
        self.commit_rows = self.commit_rows or COMMIT_ROWS
        chunks = self._judged_chunks(rules)
        more = True
        try:
            with _bulk_load_cache(), self._without_secondary_indexes(), _without_gc_pauses():
                while more:
                    # Several chunks share a transaction: random-order indexes (e-mail, name, phone)
                    # then write each touched page once per commit rather than once per chunk.
                    with transaction.atomic():
                        rows_in_transaction = 0
                        for judged in chunks:
                            writer.write(judged)
                            self.summary.rows_done += len(judged)
                            rows_in_transaction += len(judged)
                            if rows_in_transaction >= self.commit_rows:
                                break
                        else:
                            more = False
                        if self.dry_run:
                            transaction.set_rollback(True)
                    if self.dry_run:
                        writer.forget_created()
                    self.summary.rows_total = max(self.summary.rows_total, self.summary.rows_done)
                    if self.progress:
                        self.progress(self.summary)
        finally:
            rejects.close()
        if rejects.path is not None and rejects._writer is not None:
            self.summary.rejects_path = str(rejects.path)
        return self.summary

    @contextmanager
    def _without_secondary_indexes(self) -> Iterator[None]:
        """On SQLite, a big contacts import runs without the non-unique indexes of the tables it
        fills and builds them once at the end: several times cheaper than updating each of them row
        by row. Only tables the import will at least double lose theirs: rebuilding costs time in
        proportion to the whole table (ten million events are not re-indexed for a million
        contacts). The unique indexes stay (the live e-mail index is what refuses a duplicate
        contact). Pages that list or search run slower meanwhile."""
        restore_pending_indexes()  # left behind by an import or demo load that was killed
        dropped: list[str] = []
        rows = self.summary.rows_total
        if (connection.vendor == "sqlite" and self.entity == CONTACT and not self.dry_run
                and rows >= DROP_INDEXES_MIN_ROWS):
            # Each new contact brings one event, one audit entry and a tag link or two.
            tables = [model for model in (Contact, Contact.tags.through, Event, AuditEntry)
                      if _highest_id(model) <= rows]
            dropped = drop_secondary_indexes(tables, keep_unique=True) if tables else []
        try:
            yield
        finally:
            restore_indexes(dropped)

    def _judged_chunks(self, rules: RowRules) -> Iterator[list[Accepted | Rejected]]:
        chunks = _chunks(iter_rows(self.path, self.fmt), self.chunk_rows)
        workers = self.workers
        if workers is None:
            workers = min(2, multiprocessing.cpu_count()) if self.summary.rows_total >= PARALLEL_MIN_ROWS else 0
        if workers <= 0 or "fork" not in multiprocessing.get_all_start_methods():
            for chunk in chunks:
                yield judge_chunk(rules, chunk)
            return
        # Judging rows (phone parsing above all) is the costly pure-Python part; worker processes
        # do it while this process writes. The semaphore keeps read-ahead to a few chunks, so a
        # huge file never sits in memory whole.
        window = threading.BoundedSemaphore(workers * 3)
        sent: deque[list] = deque()

        def bounded() -> Iterator[bytes]:
            for chunk in chunks:
                window.acquire()
                sent.append(chunk)
                yield marshal.dumps(chunk)

        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=gc.disable) as pool:
            # Workers send back judgements without the cells (half the data); results come in
            # order, so the cells are those of the oldest chunk sent.
            for result in pool.imap(partial(judge_packed_chunk, rules), bounded()):
                chunk = sent.popleft()
                window.release()
                yield unpack_judged(result, chunk)


class _Writer:
    def __init__(self, run: ImportRun, required_custom: list[CustomField], rejects: RejectsFile):
        self.run = run
        self.summary = run.summary
        self.actor = run.actor
        self.actor_id = run.actor.pk
        self.owner_id = run.owner.pk
        self.team_id = team_id_for_owner(run.owner)
        self.required_custom = required_custom
        self.rejects = rejects
        self.event_payload = {"source": "import", "file": run.label}
        # On SQLite a JSON value is its text; other databases want their own adapter.
        self.dumps = json.dumps if connection.vendor == "sqlite" else _json
        if run.job_id:
            self.event_payload["import_job"] = run.job_id

    def reject(self, line: int, cells: list[str], column: str, reason: str) -> None:
        self.summary.read += 1
        self.summary.rejected += 1
        self.rejects.add(line, cells, column, reason)

    def header_for(self, target: str) -> str:
        return next((h for h, t in self.run.mapping.items() if t == target), target)

    def missing_required(self, values: dict[str, Any], existing_custom: dict | None) -> tuple[str, str] | None:
        custom = {**(existing_custom or {}), **values.get("custom", {})}
        for definition in self.required_custom:
            if custom.get(definition.key) in (None, ""):
                return self.header_for(f"custom.{definition.key}"), f"{definition.label} is required"
        return None

    def forget_created(self) -> None:
        """After a dry run's rollback, ids made in the chunk no longer exist."""

    def audit_rows(self, now, action: str, record_type: str, items: list[tuple[int, dict]]) -> list[tuple]:
        at = _when(now)
        return [(at, self.actor_id, action, record_type, record_id, self.dumps(changes), "import")
                for record_id, changes in items]


AUDIT_COLUMNS = ["at", "actor_id", "action", "record_type", "record_id", "changes", "source"]
EVENT_COLUMNS = ["kind", "occurred_at", "actor_id", "contact_id", "company_id", "summary", "payload"]


class ContactWriter(_Writer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: dict[str, int] = {}
        self.company_ids: dict[str, int] = {}
        self.tag_ids: dict[str, int] = {}
        self.email_header = self.header_for("email")
        self.company_header = self.header_for("company")
        self.new_contacts = NewContactRows(owner_id=self.owner_id, team_id=self.team_id,
                                           created_by_id=self.actor_id)
        self.columns = self.new_contacts.columns
        self.record_type = Contact._meta.label_lower

    def forget_created(self) -> None:
        self.company_ids.clear()
        self.tag_ids.clear()

    def write(self, judged: list[Accepted | Rejected]) -> None:
        accepted: list[Accepted] = []
        for item in judged:
            if isinstance(item, Rejected):
                self.reject(item.line, item.cells, item.column, item.reason)
                continue
            email = item.values["email"]
            first_line = self.seen.get(email)
            if first_line is not None:
                self.reject(item.line, item.cells, self.email_header,
                            f"the same e-mail address is on line {first_line} of this file; "
                            "only that first row is imported")
                continue
            self.seen[email] = item.line
            accepted.append(item)
        if not accepted:
            return
        emails = [item.values["email"] for item in accepted]
        taken = self._taken(emails)
        visible: dict[str, dict] = {}
        if taken:
            visible = {row["email"]: row for row in selectors.contact_queryset(self.actor)
                       .filter(email__in=list(taken)).values("id", "email", *CONTACT_UPDATABLE)}
        creates, updates = [], []
        for item in accepted:
            email = item.values["email"]
            if email in visible:
                problem = self.missing_required(item.values, visible[email]["custom"])
            elif email in taken:
                problem = (self.email_header, HIDDEN_REASON)
            else:
                problem = self.missing_required(item.values, None)
            if problem:
                self.reject(item.line, item.cells, *problem)
            elif email in visible:
                updates.append((item, visible[email]))
            else:
                creates.append(item)
        company_ids = self._companies([item.values["company"] for item in [*creates, *(u[0] for u in updates)]
                                       if "company" in item.values])
        now = timezone.now()
        self._create(creates, company_ids, now)
        self._apply_updates(updates, company_ids, now)

    def _taken(self, emails: list[str]) -> set[str]:
        """Which of these e-mails live contacts already use, whoever may see them.

        Plain SQL: the ORM spends longer building a 5,000-value IN list than SQLite takes to answer.
        """
        table = connection.ops.quote_name(Contact._meta.db_table)
        taken: set[str] = set()
        with connection.cursor() as cursor:
            for start in range(0, len(emails), 2000):
                part = emails[start:start + 2000]
                cursor.execute(f"SELECT email FROM {table} WHERE deleted_at IS NULL AND email IN "
                               f"({', '.join(['%s'] * len(part))})", part)
                taken.update(email for (email,) in cursor.fetchall())
        return taken

    # --- companies named by contacts ---------------------------------------------------------

    def _companies(self, names: list[str]) -> dict[str, int]:
        """name key → company id for every company named, creating those the importer cannot find.

        Only companies the importer may see are matched: linking to a hidden one would leak it.
        """
        wanted: dict[str, str] = {}
        for name in names:
            wanted.setdefault(name.lower(), name)
        missing = [key for key in wanted if key not in self.company_ids]
        if missing:
            for key, company_id in (selectors.company_queryset(self.actor).filter(name_key__in=missing)
                                    .order_by("-id").values_list("name_key", "id")):
                self.company_ids[key] = company_id  # ordered newest first, so the oldest wins
            new = [key for key in missing if key not in self.company_ids]
            if new:
                now = timezone.now()
                made = Company.objects.bulk_create([
                    Company(name=wanted[key], name_key=key, owner_id=self.owner_id, team_id=self.team_id,
                            created_by_id=self.actor_id, created_at=now, updated_at=now) for key in new
                ])
                if any(c.pk is None for c in made):  # a database that cannot return ids
                    ids = dict(Company.objects.filter(name_key__in=new, created_at=now, created_by_id=self.actor_id)
                               .values_list("name_key", "id"))
                else:
                    ids = {c.name_key: c.pk for c in made}
                self.company_ids.update(ids)
                _insert(AuditEntry, AUDIT_COLUMNS, self.audit_rows(
                    now, AuditAction.CREATE, Company._meta.label_lower,
                    [(ids[key], {"name": [None, wanted[key]], "owner": [None, self.owner_id],
                                 "team": [None, self.team_id]}) for key in new]))
                payload = _json({**self.event_payload, "created_for": "contact import"})
                _insert(Event, EVENT_COLUMNS, [
                    ("record", _when(now), self.actor_id, None, ids[key], f"Imported from {self.run.label}"[:300],
                     payload) for key in new])
        return {key: self.company_ids[key] for key in wanted}

    def _tags(self, names: set[str]) -> dict[str, int]:
        missing = [n for n in names if n not in self.tag_ids]
        if missing:
            Tag.objects.bulk_create([Tag(name=n) for n in missing], ignore_conflicts=True)
            self.tag_ids.update(Tag.objects.filter(name__in=missing).values_list("name", "id"))
        return self.tag_ids

    # --- creating -----------------------------------------------------------------------------

    def _create(self, creates: list[Accepted], company_ids: dict[str, int], now) -> None:
        """Rows, audit entries and events were drafted where the rows were judged (NewContactRows);
        what is left needs the database: company ids, contact ids and one time for the chunk."""
        if not creates:
            return
        stamp = _when(now)
        drafts = self.new_contacts
        index = drafts.index
        i_company, i_created, i_updated = index["company_id"], index["created_at"], index["updated_at"]
        changes_text = drafts.changes_text
        rows, changes_json, company_of = [], [], []
        for item in creates:
            row = item.record
            company = item.values.get("company")
            company_id = company_ids[company.lower()] if company is not None else None
            row[i_company] = company_id
            row[i_created] = row[i_updated] = stamp
            company_of.append(company_id)
            changes_json.append(changes_text(item, company_id))
            rows.append(row)
        contact_ids = self._insert_contacts(rows, [item.values["email"] for item in creates])
        actor_id, record_type = self.actor_id, self.record_type
        _insert(AuditEntry, AUDIT_COLUMNS, [
            (stamp, actor_id, AuditAction.CREATE.value, record_type, cid, changes, "import")
            for cid, changes in zip(contact_ids, changes_json, strict=True)])
        summary = f"Imported from {self.run.label}"[:300]
        payload = json.dumps(self.event_payload)
        _insert(Event, EVENT_COLUMNS, [("record", stamp, actor_id, cid, company_id, summary, payload)
                                       for cid, company_id in zip(contact_ids, company_of, strict=True)])
        tagged = [(cid, item.values["tags"]) for cid, item in zip(contact_ids, creates, strict=True)
                  if "tags" in item.values]
        if tagged:
            tag_ids = self._tags({n for _, names in tagged for n in names})
            _insert(Contact.tags.through, ["contact_id", "tag_id"],
                    [(cid, tag_ids[n]) for cid, names in tagged for n in names])
        self.summary.read += len(creates)
        self.summary.created += len(creates)

    def _insert_contacts(self, rows: list[list], emails: list[str]) -> list[int]:
        """Insert and return the new ids in row order."""
        if connection.vendor == "sqlite":
            # The import holds SQLite's write lock for the whole chunk (IMMEDIATE transactions),
            # so the rows above the current highest id are exactly the ones inserted here, in order.
            # Reading them by id range is much cheaper than looking 5,000 e-mails up again.
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Contact._meta.db_table}")
                before = cursor.fetchone()[0]
                _insert(Contact, self.columns, rows)
                cursor.execute(f"SELECT id, email FROM {Contact._meta.db_table} WHERE id > %s ORDER BY id",
                               [before])
                found = cursor.fetchall()
            if [email for _, email in found] == emails:
                return [cid for cid, _ in found]
            ids = {email: cid for cid, email in found}
        else:
            _insert(Contact, self.columns, rows)
            ids = dict(Contact.objects.filter(deleted_at__isnull=True, email__in=emails).values_list("email", "id"))
        return [ids[email] for email in emails]

    # --- updating -----------------------------------------------------------------------------

    def _apply_updates(self, updates: list[tuple[Accepted, dict]], company_ids: dict[str, int], now) -> None:
        if not updates:
            return
        stamp = _when(now)
        through = Contact.tags.through
        old_tags: dict[int, set[str]] = {}
        if any("tags" in item.values for item, _ in updates):
            for contact_id, tag in through.objects.filter(
                    contact_id__in=[old["id"] for _, old in updates]).values_list("contact_id", "tag__name"):
                old_tags.setdefault(contact_id, set()).add(tag)
        rows, audits, stage_events, new_tags = [], [], [], []
        for item, old in updates:
            values = item.values
            new = {k: old[k] for k in CONTACT_UPDATABLE}
            for key, value in values.items():
                if key in ("email", "company", "tags"):
                    continue
                new[key] = {**(old["custom"] or {}), **value} if key == "custom" else value
            if "company" in values:
                new["company_id"] = company_ids[values["company"].lower()]
            changes = {("company" if k == "company_id" else k): [old[k], new[k]]
                       for k in CONTACT_UPDATABLE if old[k] != new[k]}
            if "tags" in values:
                before = old_tags.get(old["id"], set())
                added = set(values["tags"]) - before
                if added:
                    changes["tags"] = [sorted(before), sorted(before | added)]
                    new_tags.append((old["id"], added))
            if not changes:
                continue
            first, last = new["first_name"], new["last_name"]
            row = [new[c] for c in CONTACT_UPDATABLE]
            row[CONTACT_UPDATABLE.index("other_phones")] = _json(new["other_phones"])
            row[CONTACT_UPDATABLE.index("custom")] = _json(new["custom"])
            rows.append((*row, name_key(first, last), last.lower(), stamp, old["id"]))
            audits.append((old["id"], changes))
            if "lifecycle_stage" in changes:
                before, after = changes["lifecycle_stage"]
                stage_events.append(("stage_change", stamp, self.actor_id, old["id"], new["company_id"],
                                     f"Stage {LifecycleStage(before).label} → {LifecycleStage(after).label}",
                                     _json({"from": before, "to": after, "source": "import"})))
        _update(Contact, [*CONTACT_UPDATABLE, "name_key", "last_name_key", "updated_at"], rows)
        _insert(AuditEntry, AUDIT_COLUMNS, self.audit_rows(now, AuditAction.UPDATE, self.record_type, audits))
        _insert(Event, EVENT_COLUMNS, stage_events)
        if new_tags:
            tag_ids = self._tags({n for _, names in new_tags for n in names})
            _insert(through, ["contact_id", "tag_id"], [(cid, tag_ids[n]) for cid, names in new_tags for n in names])
        self.summary.read += len(updates)
        self.summary.updated += len(updates)


class CompanyWriter(_Writer):
    """Companies are upserted by web domain; rows without a domain match by name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: dict[str, int] = {}
        self.record_type = Company._meta.label_lower

    def write(self, judged: list[Accepted | Rejected]) -> None:
        accepted: list[Accepted] = []
        for item in judged:
            if isinstance(item, Rejected):
                self.reject(item.line, item.cells, item.column, item.reason)
                continue
            key = self._key(item.values)
            if key in self.seen:
                column = self.header_for("domain" if key.startswith("domain:") else "name")
                what = "web domain" if key.startswith("domain:") else "company name (and no domain)"
                self.reject(item.line, item.cells, column,
                            f"the same {what} is on line {self.seen[key]} of this file; only that first row is imported")
                continue
            self.seen[key] = item.line
            accepted.append(item)
        if not accepted:
            return
        domains = [i.values["domain"] for i in accepted if i.values.get("domain")]
        names = [i.values["name"].lower() for i in accepted if not i.values.get("domain")]
        taken = set(Company.objects.filter(deleted_at__isnull=True, domain__in=domains)
                    .values_list("domain", flat=True)) if domains else set()
        visible_qs = selectors.company_queryset(self.actor)
        by_domain = {c.domain: c for c in visible_qs.filter(domain__in=list(taken)).order_by("-id")} if taken else {}
        by_name = {c.name_key: c for c in visible_qs.filter(name_key__in=names, domain="").order_by("-id")} \
            if names else {}
        now = timezone.now()
        creates, updates = [], []
        for item in accepted:
            domain = item.values.get("domain")
            existing = by_domain.get(domain) if domain else by_name.get(item.values["name"].lower())
            if domain and domain in taken and existing is None:
                self.reject(item.line, item.cells, self.header_for("domain"), HIDDEN_COMPANY_REASON)
                continue
            problem = self.missing_required(item.values, existing.custom if existing else None)
            if problem:
                self.reject(item.line, item.cells, *problem)
            elif existing is not None:
                updates.append((item, existing))
            else:
                creates.append(item)
        self._create(creates, now)
        self._apply_updates(updates, now)

    @staticmethod
    def _key(values: dict) -> str:
        return f"domain:{values['domain']}" if values.get("domain") else f"name:{values['name'].lower()}"

    def _create(self, creates: list[Accepted], now) -> None:
        if not creates:
            return
        companies = []
        for item in creates:
            companies.append(Company(**item.values, name_key=item.values["name"].lower(), owner_id=self.owner_id,
                                     team_id=self.team_id, created_by_id=self.actor_id, created_at=now,
                                     updated_at=now))
        made = Company.objects.bulk_create(companies, batch_size=500)
        if any(c.pk is None for c in made):
            lookup = {c.name_key: c.pk for c in Company.objects.filter(created_at=now, created_by_id=self.actor_id)}
            for company in made:
                company.pk = lookup.get(company.name_key)
        _insert(AuditEntry, AUDIT_COLUMNS, self.audit_rows(now, AuditAction.CREATE, self.record_type, [
            (c.pk, {**{k: [None, v] for k, v in item.values.items()}, "owner": [None, self.owner_id],
                    "team": [None, self.team_id]}) for c, item in zip(made, creates, strict=True)]))
        payload = _json(self.event_payload)
        summary = f"Imported from {self.run.label}"[:300]
        _insert(Event, EVENT_COLUMNS, [("record", _when(now), self.actor_id, None, c.pk, summary, payload)
                                       for c in made])
        self.summary.read += len(creates)
        self.summary.created += len(creates)

    def _apply_updates(self, updates: list[tuple[Accepted, Company]], now) -> None:
        if not updates:
            return
        changed, audits = [], []
        for item, company in updates:
            changes = {}
            for key, value in item.values.items():
                if key == "custom":
                    value = {**(company.custom or {}), **value}
                old = getattr(company, key)
                if old != value:
                    changes[key] = [old, value]
                    setattr(company, key, value)
            if changes:
                company.name_key = company.name.lower()
                company.updated_at = now
                changed.append(company)
                audits.append((company.pk, changes))
        if changed:
            Company.objects.bulk_update(changed, [*COMPANY_UPDATABLE, "name_key", "updated_at"], batch_size=500)
        _insert(AuditEntry, AUDIT_COLUMNS, self.audit_rows(now, AuditAction.UPDATE, self.record_type, audits))
        self.summary.read += len(updates)
        self.summary.updated += len(updates)
