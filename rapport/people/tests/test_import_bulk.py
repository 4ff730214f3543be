"""Big contact imports: rows drafted where they are judged, and SQLite's secondary indexes dropped
during the load and rebuilt after it, without changing what an import does."""

from __future__ import annotations

import csv
import gc
import io
import marshal
from decimal import Decimal

import pytest
from django.db import connection

from rapport.core import bulk_load
from rapport.core.models import AuditEntry
from rapport.people.imports import engine, jobs
from rapport.people.imports.rows import (
    NewContactRows,
    RowRules,
    judge_chunk,
    judge_packed_chunk,
    unpack_judged,
)
from rapport.people.models import Company, Contact, CustomField
from rapport.timeline.models import Event

HEADER = ["First Name", "Last Name", "Email", "Phone Number", "Mobile", "Company Name", "Lifecycle Stage",
          "Tags", "Seats", "Country"]
TABLES = ("people_contact", "people_contact_tags", "timeline_event", "core_auditentry")


def csv_file(tmp_path, rows, name="people.csv"):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def indexes() -> dict[str, bool]:
    """Index name → unique, for the tables a contact import fills (SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                       f"AND tbl_name IN ({', '.join(['%s'] * len(TABLES))})", list(TABLES))
        return {name: sql.startswith("CREATE UNIQUE") for name, sql in cursor.fetchall()}


@pytest.fixture
def pending_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    return settings.VAR_DIR


def test_a_created_contacts_row_and_audit_entry_hold_every_value(seller, tmp_path):
    CustomField.objects.create(entity="contact", key="seats", label="Seats", field_type="number")
    path = csv_file(tmp_path, [HEADER,
                               ["Ada", "O'Lovelace", "ada@example.com", "020 7946 0018", "07700 900123",
                                "Analytical \"Engines\"", "", "math; pioneers", "12", "gb"],
                               ["Émile", "", "emile@example.com", "", "", "", "Customer", "", "", ""]])
    _, summary = jobs.import_path(actor=seller, entity="contacts", path=path,
                                  mapping_overrides={"Seats": "custom.seats"})
    assert (summary.created, summary.rejected) == (2, 0)
    ada = Contact.objects.get(email="ada@example.com")
    company = Company.objects.get()
    assert (ada.phone, ada.other_phones, ada.country) == ("+442079460018", ["+447700900123"], "GB")
    assert ada.custom == {"seats": 12} and ada.company == company and ada.lifecycle_stage == "lead"
    assert ada.name_key == "ada o'lovelace" and ada.last_name_key == "o'lovelace"
    assert ada.created_by == seller and ada.created_at == ada.updated_at and ada.deleted_at is None
    audit = AuditEntry.objects.get(record_type="people.contact", record_id=ada.pk)
    assert audit.changes == {
        "first_name": [None, "Ada"], "last_name": [None, "O'Lovelace"], "email": [None, "ada@example.com"],
        "country": [None, "GB"], "phone": [None, "+442079460018"], "other_phones": [None, ["+447700900123"]],
        "custom": [None, {"seats": 12}], "lifecycle_stage": [None, "lead"],
        "owner": [None, seller.pk], "team": [None, seller.profile.team_id],
        "company": [None, company.pk], "tags": [None, ["math", "pioneers"]],
    }
    assert audit.at == ada.created_at
    emile = Contact.objects.get(email="emile@example.com")
    audit = AuditEntry.objects.get(record_type="people.contact", record_id=emile.pk)
    assert audit.changes == {"first_name": [None, "Émile"], "email": [None, "emile@example.com"],
                             "lifecycle_stage": [None, "customer"], "owner": [None, seller.pk],
                             "team": [None, seller.profile.team_id]}
    assert emile.company is None and emile.other_phones == [] and emile.custom == {}
    assert Event.objects.get(contact=emile).payload["source"] == "import"


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_big_import_drops_the_secondary_indexes_keeps_the_unique_ones_and_rebuilds(
        seller, make_contact, tmp_path, monkeypatch, pending_dir):
    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_ROWS", 3)
    existing = make_contact(seller, email="grace@example.com", last_name="Hopper")
    before = indexes()
    during = []
    path = csv_file(tmp_path, [HEADER,
                               ["Ada", "Lovelace", "ada@example.com", "", "", "", "", "math", "", ""],
                               ["Grace", "Murray Hopper", "GRACE@example.com", "", "", "", "", "", "", ""],
                               ["Ada", "Again", "ada@example.com", "", "", "", "", "", "", ""],
                               ["Alan", "Turing", "alan@example.com", "", "", "", "", "", "", ""]])
    _, summary = jobs.import_path(actor=seller, entity="contacts", path=path,
                                  progress=lambda summary: during.append(indexes()))
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (4, 2, 1, 1)
    assert gc.isenabled()
    # While loading only the unique indexes were there: the live e-mail one, the tags pair.
    assert during and during[0] == {name: True for name, unique in before.items() if unique}
    assert "contact_live_email_unique" in during[0]
    assert indexes() == before
    assert not list(pending_dir.iterdir())
    existing.refresh_from_db()
    assert existing.last_name == "Murray Hopper"
    assert Contact.objects.filter(email="grace@example.com").count() == 1


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_small_imports_into_a_bigger_database_keep_their_indexes(seller, make_contact, tmp_path, monkeypatch,
                                                                 pending_dir):
    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_ROWS", 1)
    for n in range(3):
        make_contact(seller, email=f"old{n}@example.com")
    with connection.cursor() as cursor:  # more tag links than the import brings, too
        cursor.execute("INSERT INTO people_tag (name) VALUES ('old')")
        cursor.execute("INSERT INTO people_contact_tags (contact_id, tag_id) SELECT id, "
                       "(SELECT id FROM people_tag WHERE name = 'old') FROM people_contact")
    before = indexes()
    during = []
    path = csv_file(tmp_path, [["Email"], ["new1@example.com"], ["new2@example.com"]])
    jobs.import_path(actor=seller, entity="contacts", path=path, progress=lambda s: during.append(indexes()))
    assert during == [before]


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_only_tables_the_import_at_least_doubles_lose_their_indexes(seller, tmp_path, monkeypatch, pending_dir):
    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_ROWS", 1)
    Event.objects.bulk_create([Event(kind="note", summary=f"old {n}") for n in range(5)])
    before = indexes()
    during = []
    path = csv_file(tmp_path, [["Email"], ["new1@example.com"], ["new2@example.com"]])
    jobs.import_path(actor=seller, entity="contacts", path=path, progress=lambda s: during.append(indexes()))
    kept = set(during[0])
    assert {"event_contact_idx", "event_company_idx"} <= kept  # five events outnumber two new ones
    assert "contact_name_idx" not in kept and "audit_record_idx" not in kept
    assert indexes() == before


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_failed_import_still_rebuilds_the_indexes(seller, tmp_path, monkeypatch, pending_dir):
    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_ROWS", 1)
    before = indexes()

    def broken(*args, **kwargs):
        assert indexes() != before  # the failure happens while the indexes are gone
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine.ContactWriter, "_create", broken)
    path = csv_file(tmp_path, [["Email"], ["ada@example.com"]])
    with pytest.raises(RuntimeError, match="disk full"):
        jobs.import_path(actor=seller, entity="contacts", path=path)
    assert indexes() == before
    assert gc.isenabled()  # the run turns the cyclic collector off while it streams rows
    assert not list(pending_dir.iterdir())


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_indexes_left_dropped_by_a_killed_load_come_back_with_the_next_import(seller, tmp_path, pending_dir):
    before = indexes()
    bulk_load.drop_secondary_indexes([Contact, Event], keep_unique=True)  # and then the process died
    assert indexes() != before
    assert list(pending_dir.iterdir())
    path = csv_file(tmp_path, [["Email"], ["ada@example.com"]])
    jobs.import_path(actor=seller, entity="contacts", path=path)
    assert indexes() == before
    assert not list(pending_dir.iterdir())


@pytest.mark.skipif("connection.vendor == 'sqlite'")
def test_other_databases_keep_their_indexes(seller, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_ROWS", 1)
    assert bulk_load.drop_secondary_indexes([Contact], keep_unique=True) == []
    path = csv_file(tmp_path, [["Email", "Tags"], ["ada@example.com", "math"]])
    _, summary = jobs.import_path(actor=seller, entity="contacts", path=path)
    assert summary.created == 1


def test_judgements_travel_between_processes_unchanged(monkeypatch):
    rules = RowRules(entity="contact", headers=["Email", "Phone", "Tags", "Seats"],
                     mapping={"Email": "email", "Phone": "phone", "Tags": "tags", "Seats": "custom.seats"},
                     custom_fields=[{"key": "seats", "label": "Seats", "field_type": "number", "choices": [],
                                     "required": False, "entity": "contact"}],
                     new_contacts=NewContactRows(owner_id=1, team_id=2, created_by_id=1))
    rows = [(2, ["ada@example.com", "+44 20 7946 0018", "a;b", "3"]), (3, ["nobody", "", "", ""]),
            (5, ["alan@example.com", "call me", "", "lots"])]
    direct = judge_chunk(rules, [(line, list(cells)) for line, cells in rows])
    travelled = unpack_judged(judge_packed_chunk(rules, marshal.dumps(rows)), rows)
    assert travelled == direct
    assert [type(item).__name__ for item in travelled] == ["Accepted", "Rejected", "Rejected"]
    assert travelled[0].record[travelled[0].record.index("ada@example.com")] == "ada@example.com"


def test_values_marshal_does_not_know_still_travel(monkeypatch):
    rules = RowRules(entity="contact", headers=["Email"], mapping={"Email": "email"})
    judge = RowRules.judge

    def with_decimal(self, line, cells):
        item = judge(self, line, cells)
        item.values["custom"] = {"price": Decimal("1.50")}
        return item

    monkeypatch.setattr(RowRules, "judge", with_decimal)
    rows = [(2, ["ada@example.com"])]
    packed = judge_packed_chunk(rules, marshal.dumps(rows))
    assert not isinstance(packed, bytes)
    [item] = unpack_judged(packed, rows)
    assert item.values == {"email": "ada@example.com", "custom": {"price": Decimal("1.50")}}
    assert item.cells == ["ada@example.com"]


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_rebuilt_indexes_get_statistics_again(seller, tmp_path, monkeypatch, pending_dir):
    """Dropping an index drops its statistics; the planner must not be left guessing afterwards."""
    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_ROWS", 1)

    def analysed() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return set()
            cursor.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'people_contact'")
            return {name for (name,) in cursor.fetchall()}

    path = csv_file(tmp_path, [["First Name", "Last Name", "Email"], ["Ada", "Lovelace", "ada@example.com"],
                               ["Alan", "Turing", "alan@example.com"]])
    if analysed():  # start without statistics, as a fresh database has
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sqlite_stat1")
    jobs.import_path(actor=seller, entity="contacts", path=path)
    assert {"contact_name_idx", "contact_team_last_name_idx", "contact_owner_team_idx"} <= analysed()
