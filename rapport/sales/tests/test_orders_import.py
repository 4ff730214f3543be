"""`rapport import orders`: lines grouped into orders, every rejected line reported with its line,
column and reason, whole orders or nothing, re-runs that create nothing, and the command itself."""

from __future__ import annotations

import csv
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditEntry
from rapport.sales.models import Order, OrderLine
from rapport.sales.order_imports import customers, engine, import_orders
from rapport.sales.services import orders as order_services
from rapport.timeline.models import Event

from .orders_fixtures import catalogue_fixture, customer_fixture, order_data, other_customer_fixture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=False)

HEADER = ["external_id", "ordered_at", "contact_email", "company_domain", "channel", "currency", "sku", "quantity",
          "unit_price"]


def write(tmp_path, rows, header=HEADER, name="orders.csv"):
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def line(external_id="W-1", ordered_at="2026-01-15 10:00:00", email="bea@beanthere.example", domain="",
         channel="web", currency="EUR", sku="BEAN-1", quantity="2", unit_price="18.50"):
    return [external_id, ordered_at, email, domain, channel, currency, sku, quantity, unit_price]


def rejects_of(summary):
    with open(summary.rejects_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {int(row["line"]): (row["column"], row["reason"]) for row in rows}


@pytest.fixture
def run(seller, tmp_path):
    def go(rows, *, actor=None, **kwargs):
        path = write(tmp_path, rows, **{k: kwargs.pop(k) for k in ("header", "name") if k in kwargs})
        kwargs.setdefault("rejects_path", tmp_path / "rejects.csv")
        return import_orders(actor=actor or seller, path=path, **kwargs)
    return go


# --- good files ------------------------------------------------------------------------------

def test_lines_become_orders_with_events_and_audit(run, seller, customer, catalogue):
    summary = run([
        line("W-1"), line("W-1", sku="GRIND-2", quantity="1", unit_price="240"),
        line("W-2", ordered_at="2026-01-20", email="", domain="beanthere.example", channel="store",
             sku="MUG-3", quantity="3", unit_price="4.99"),
        line("W-3", ordered_at="2026-01-21T09:30:00+01:00", channel="", sku="BEAN-1", quantity="0.5"),
    ])

    assert summary.as_dict() == {"lines_read": 4, "lines_rejected": 0, "orders_created": 3, "orders_updated": 0,
                                 "orders_unchanged": 0, "orders_rejected": 0}
    assert summary.rejects_path == ""
    one = Order.objects.get(external_id="W-1")
    assert one.total == Decimal("277.00") and one.contact == customer and one.company == customer.company
    assert (one.owner, one.team_id, one.created_by) == (seller, seller.profile.team_id, seller)
    assert sorted((li.product.sku, li.quantity, li.line_total) for li in one.lines.all()) == [
        ("BEAN-1", Decimal("2.000"), Decimal("37.00")), ("GRIND-2", Decimal("1.000"), Decimal("240.00"))]
    two = Order.objects.get(external_id="W-2")
    assert two.contact is None and two.company == customer.company and two.channel == "store"
    assert two.owner == seller and two.total == Decimal("14.97")
    three = Order.objects.get(external_id="W-3")
    assert three.ordered_at.isoformat() == "2026-01-21T08:30:00+00:00" and three.channel == "other"

    event = Event.objects.get(kind="purchase", contact=customer, payload__order=one.pk)
    assert event.payload == {"order": one.pk, "total": "277.00", "currency": "EUR", "channel": "web",
                             "categories": ["Coffee", "Equipment"]}
    assert event.company == customer.company and event.occurred_at == one.ordered_at
    assert Event.objects.filter(kind="purchase").count() == 3
    entry = AuditEntry.objects.get(record_type="sales.order", record_id=one.pk)
    assert (entry.action, entry.source, entry.actor) == ("create", "import", seller)
    assert entry.changes["lines"] == [None, [["BEAN-1", "2.000", "18.50"], ["GRIND-2", "1.000", "240.00"]]]
    assert entry.changes["total"] == [None, "277.00"]


def test_an_order_sent_through_the_api_and_then_imported_is_not_duplicated(run, seller, customer, catalogue):
    order_services.record_purchase(actor=seller, data=order_data(customer, external_id="W-1",
                                                                 ordered_at="2026-01-15T10:00:00Z"))
    summary = run([line("W-1"), line("W-1", sku="GRIND-2", quantity="1", unit_price="240.00")])
    assert summary.orders_unchanged == 1 and summary.orders_created == 0
    assert Order.objects.count() == 1 and Event.objects.filter(kind="purchase").count() == 1


def test_the_importer_and_the_service_write_the_same_records(run, seller, customer, catalogue):
    """One file line per order line; compare with record_purchase for the same order."""
    run([line("W-1"), line("W-1", sku="GRIND-2", quantity="1", unit_price="240")])
    by_service = order_services.record_purchase(actor=seller, data=order_data(customer, external_id="S-1")).order
    imported = Order.objects.get(external_id="W-1")
    for name in ("contact_id", "company_id", "owner_id", "team_id", "ordered_at", "channel", "currency", "total",
                 "is_subscription", "created_by_id", "deal_id"):
        assert getattr(imported, name) == getattr(by_service, name), name
    events = {e.payload["order"]: e for e in Event.objects.filter(kind="purchase")}
    a, b = events[imported.pk], events[by_service.pk]
    assert (a.summary, a.contact_id, a.company_id, a.occurred_at) == (b.summary, b.contact_id, b.company_id, b.occurred_at)
    assert {k: v for k, v in a.payload.items() if k != "order"} == {k: v for k, v in b.payload.items() if k != "order"}
    audits = {e.record_id: e.changes for e in AuditEntry.objects.filter(record_type="sales.order")}
    assert {k: v for k, v in audits[imported.pk].items() if k != "external_id"} == \
        {k: v for k, v in audits[by_service.pk].items() if k != "external_id"}


@pytest.mark.parametrize("workers", [0, 1])
def test_orders_span_chunks_and_transactions_whole(run, customer, catalogue, workers):
    rows = [line(f"W-{n}", sku=sku) for n in range(7) for sku in ("BEAN-1", "GRIND-2", "MUG-3")]
    rows[10][7] = "-1"  # order W-3 is rejected whole
    summary = run(rows, chunk_lines=2, commit_lines=4, workers=workers)
    assert summary.orders_created == 6 and summary.lines_read == 21 and summary.lines_rejected == 3
    assert all(o.lines.count() == 3 for o in Order.objects.all())
    assert list(rejects_of(summary)) == [11, 12, 13]
    assert Event.objects.filter(kind="purchase").count() == 6


def test_a_rerun_creates_nothing_and_a_changed_order_is_corrected(run, seller, customer, catalogue):
    rows = [line("W-1"), line("W-1", sku="GRIND-2", quantity="1", unit_price="240"), line("W-2", sku="MUG-3")]
    run(rows)
    counts = (Order.objects.count(), OrderLine.objects.count(), Event.objects.count(), AuditEntry.objects.count())

    again = run(rows)
    assert again.orders_unchanged == 2 and again.orders_created == again.orders_updated == 0
    assert (Order.objects.count(), OrderLine.objects.count(), Event.objects.count(),
            AuditEntry.objects.count()) == counts

    corrected = run([line("W-1", quantity="3"), line("W-1", sku="GRIND-2", quantity="1", unit_price="240"),
                     line("W-2", sku="MUG-3")])
    assert (corrected.orders_updated, corrected.orders_unchanged) == (1, 1)
    order = Order.objects.get(external_id="W-1")
    assert order.total == Decimal("295.50")
    assert Event.objects.filter(kind="purchase").count() == 2
    assert Event.objects.get(kind="purchase", payload__order=order.pk).payload["total"] == "295.50"
    assert AuditEntry.objects.filter(record_type="sales.order", action="update", source="import").count() == 1


def test_dry_run_checks_every_line_and_changes_nothing(run, customer, catalogue):
    summary = run([line("W-1"), line("W-2", sku="NOPE")], dry_run=True)
    assert summary.dry_run and summary.orders_created == 1 and summary.lines_rejected == 1
    assert not Order.objects.exists() and not Event.objects.filter(kind="purchase").exists()
    assert not AuditEntry.objects.filter(record_type="sales.order").exists()


# --- bad lines -------------------------------------------------------------------------------

@pytest.mark.parametrize(("bad", "column", "reason"), [
    (line(sku="NOPE-9"), "sku", "no product with SKU 'NOPE-9'"),
    (line(sku=""), "sku", "the SKU is required"),
    (line(quantity="-2"), "quantity", "more than zero"),
    (line(quantity="0"), "quantity", "more than zero"),
    (line(quantity="two"), "quantity", "not a number"),
    (line(quantity="1.0001"), "quantity", "decimal places"),
    (line(unit_price="-1"), "unit_price", "negative"),
    (line(unit_price="18.505"), "unit_price", "at most 2 decimal places for EUR"),
    (line(unit_price=""), "unit_price", "enter an amount"),
    (line(currency="JPY", unit_price="10.5"), "unit_price", "no decimal places for JPY"),
    (line(currency="EURO"), "currency", "unknown currency"),
    (line(currency=""), "currency", "choose a currency"),
    (line(ordered_at="15/01/2026"), "ordered_at", "not a date"),
    (line(ordered_at="2026-02-30"), "ordered_at", "not a date"),
    (line(ordered_at=""), "ordered_at", "enter the date"),
    (line(ordered_at="2999-01-01"), "ordered_at", "future"),
    (line(channel="pigeon"), "channel", "choose one of"),
    (line(email="bea@@beanthere.example"), "contact_email", "not a valid e-mail"),
    (line(email="nobody@nowhere.example"), "contact_email", "no contact has this e-mail address"),
    (line(email="", domain="nowhere.example"), "company_domain", "no company has this web domain"),
    (line(email="", domain="not a domain"), "company_domain", ""),
    (line(email="", domain=""), "contact_email", "e-mail address or company domain"),
    (line(external_id=""), "external_id", "the order's id is required"),
    (line(external_id="x" * 101), "external_id", "at most 100"),
])
def test_each_bad_line_is_rejected_naming_line_column_and_reason(run, customer, catalogue, bad, column, reason):
    summary = run([line("OK-1"), bad, line("OK-2")])

    assert summary.lines_rejected == 1 and summary.orders_rejected == (0 if column == "external_id" and
                                                                       not bad[0] else 1)
    assert summary.orders_created == 2 and summary.lines_read == 3
    rejects = rejects_of(summary)
    assert list(rejects) == [3]  # the header is line 1
    got_column, got_reason = rejects[3]
    assert got_column == column and reason in got_reason
    assert set(Order.objects.values_list("external_id", flat=True)) == {"OK-1", "OK-2"}


def test_a_bad_line_rejects_its_whole_order_and_says_so(run, customer, catalogue):
    summary = run([
        line("W-1"), line("W-1", sku="NOPE"), line("W-1", quantity="-1"), line("W-1", sku="MUG-3"),
        line("W-2"),
    ])
    assert summary.orders_rejected == 1 and summary.lines_rejected == 4 and summary.orders_created == 1
    rejects = rejects_of(summary)
    assert rejects[3][0] == "sku" and rejects[4][0] == "quantity"
    for number in (2, 5):
        assert rejects[number][0] == "" and "line 3 of order W-1 was rejected" in rejects[number][1]
        assert "whole or not at all" in rejects[number][1]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["W-2"]


def test_several_problems_on_one_line_are_all_named(run, customer, catalogue):
    summary = run([line(sku="NOPE", quantity="-1", currency="XXX")])
    column, reason = rejects_of(summary)[2]
    assert column == "currency; sku; quantity"
    assert "unknown currency" in reason and "no product" in reason and "more than zero" in reason


def test_lines_of_one_order_must_agree_on_the_orders_own_values(run, customer, catalogue):
    summary = run([line("W-1"), line("W-1", ordered_at="2026-01-16"), line("W-1", channel="store")])
    rejects = rejects_of(summary)
    assert rejects[3] == ("ordered_at", "differs from line 2 of the same order; every line of an order repeats "
                                        "its ordered_at")
    assert rejects[4][0] == "channel"
    assert rejects[2][0] == "" and summary.orders_created == 0


def test_an_orders_lines_apart_in_the_file_are_rejected_not_merged(run, customer, catalogue):
    summary = run([line("W-1"), line("W-2"), line("W-1", sku="MUG-3")])
    assert summary.orders_created == 2 and summary.lines_rejected == 1
    column, reason = rejects_of(summary)[4]
    assert column == "external_id" and "also on lines 2–2" in reason and "next to each other" in reason
    assert Order.objects.get(external_id="W-1").lines.count() == 1


def test_customers_the_importer_cannot_see_are_refused(run, seller, other_customer, catalogue):
    summary = run([line(email="olaf@south.example")])
    assert rejects_of(summary)[2] == ("contact_email", "this e-mail address belongs to a contact you cannot see")
    assert not Order.objects.exists()


def test_orders_in_the_trash_or_of_hidden_customers_are_refused(run, seller, other_seller, customer,
                                                                  other_customer, catalogue):
    trashed = order_services.record_purchase(actor=seller, data=order_data(customer, external_id="W-1")).order
    order_services.delete_order(actor=seller, order=trashed)
    order_services.record_purchase(actor=other_seller, data=order_data(other_customer, external_id="W-2"))
    summary = run([line("W-1"), line("W-2")])
    rejects = rejects_of(summary)
    assert rejects[2][0] == "external_id" and "trash" in rejects[2][1]
    assert rejects[3] == ("external_id", "an order with this id belongs to a customer you cannot see")
    assert summary.orders_created == 0 and Order.objects.count() == 2


def test_every_line_is_accounted_for(run, customer, catalogue):
    rows = []
    for n in range(30):
        rows.append(line(f"W-{n}"))
        rows.append(line(f"W-{n}", sku="NOPE" if n % 7 == 0 else "MUG-3", quantity="-1" if n % 11 == 0 else "1"))
    summary = run(rows, chunk_lines=7)
    assert summary.lines_read == len(rows)
    rejects = rejects_of(summary)
    assert len(rejects) == summary.lines_rejected
    assert OrderLine.objects.count() + summary.lines_rejected == len(rows)
    bad_orders = {n for n in range(30) if n % 7 == 0 or n % 11 == 0}
    assert summary.orders_rejected == len(bad_orders)
    assert set(Order.objects.values_list("external_id", flat=True)) == {f"W-{n}" for n in range(30)} - \
        {f"W-{n}" for n in bad_orders}


def test_rejects_keep_the_original_cells(run, customer, catalogue):
    summary = run([line("W-1", quantity=" -3 ")])
    with open(summary.rejects_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [*HEADER, "line", "column", "reason"]
    assert rows[1][:9] == line("W-1", quantity=" -3 ") and rows[1][9:11] == ["2", "quantity"]


# --- files that cannot be imported -----------------------------------------------------------

def test_an_empty_file_is_refused(seller, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ValidationFailed) as caught:
        import_orders(actor=seller, path=path)
    assert "empty" in caught.value.errors["file"]


def test_a_header_without_rows_is_refused(run):
    with pytest.raises(ValidationFailed) as caught:
        run([])
    assert "no data rows" in caught.value.errors["file"]


def test_missing_columns_are_named(run):
    with pytest.raises(ValidationFailed) as caught:
        run([["W-1", "2026-01-01", "a@b.example", "BEAN-1"]], header=["order id", "Order Date", "Email", "SKU"])
    reason = caught.value.errors["file"]
    assert "no column for: currency, quantity, unit_price" in reason and "Its columns are: order id" in reason


def test_a_file_with_neither_customer_column_is_refused(run):
    with pytest.raises(ValidationFailed) as caught:
        run([["W-1", "2026-01-01", "EUR", "B", "1", "1"]],
            header=["external_id", "ordered_at", "currency", "sku", "quantity", "unit_price"])
    assert "contact_email or company_domain" in caught.value.errors["file"]


def test_other_header_spellings_and_extra_columns(run, customer, catalogue):
    summary = run([["W-1", "2026-01-01", "bea@beanthere.example", "EUR", "BEAN-1", "1", "18.50", "gift wrap"]],
                  header=["Order ID", "Order Date", "Email", "Currency", "SKU", "Qty", "Price", "Note"])
    assert summary.orders_created == 1 and summary.ignored_columns == ["Note"]


def test_a_file_in_utf16_is_read_row_by_row(run, seller, customer, catalogue, tmp_path):
    text = "\r\n".join(",".join(cells) for cells in [HEADER, line("W-1"), line("W-2", quantity="-1")]) + "\r\n"
    path = tmp_path / "utf16.csv"
    path.write_bytes(text.encode("utf-16"))
    summary = import_orders(actor=seller, path=path, rejects_path=tmp_path / "r.csv")
    assert summary.orders_created == 1 and rejects_of(summary) == {3: ("quantity", "must be more than zero")}


def test_a_file_with_old_mac_line_breaks_is_refused_with_a_reason(seller, tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"external_id,ordered_at\rW-1,2026-01-01\r")
    with pytest.raises(ValidationFailed) as caught:
        import_orders(actor=seller, path=path)
    assert "cannot be read as CSV" in caught.value.errors["file"]


def test_a_missing_file_is_refused(seller, tmp_path):
    with pytest.raises(ValidationFailed) as caught:
        import_orders(actor=seller, path=tmp_path / "nope.csv")
    assert "is not a file" in caught.value.errors["file"]


# --- big imports on SQLite -------------------------------------------------------------------

@pytest.mark.skipif(connection.vendor != "sqlite", reason="index dropping is for SQLite")
def test_a_big_import_rebuilds_the_indexes_it_dropped(run, customer, catalogue, monkeypatch):
    def indexes(table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=%s AND sql IS NOT NULL",
                           [table])
            return {row[0] for row in cursor.fetchall()}

    before = {t: indexes(t) for t in ("sales_order", "sales_orderline")}
    dropped_during = []
    real_write = engine._Run._write

    def spy(self, *args):
        dropped_during.append(indexes("sales_order"))
        return real_write(self, *args)

    monkeypatch.setattr(engine, "DROP_INDEXES_MIN_LINES", 1)
    monkeypatch.setattr(engine._Run, "_write", spy)
    summary = run([line(f"W-{n}") for n in range(5)])
    assert summary.orders_created == 5
    assert dropped_during[0] == {"order_external_id_unique"}  # the unique index stays: it refuses duplicates
    assert {t: indexes(t) for t in ("sales_order", "sales_orderline")} == before


# --- the command -----------------------------------------------------------------------------

def test_the_import_command_imports_orders_and_reports_rejects(admin_user, customer, catalogue, tmp_path):
    path = write(tmp_path, [line("W-1"), line("W-2", quantity="-1")])
    rejects = tmp_path / "out" / "bad.csv"
    out = StringIO()
    call_command("import", "orders", str(path), "--rejects", str(rejects), stdout=out, verbosity=0)
    text = out.getvalue()
    assert "Lines read 2 · Rejected 1 · Orders created 1" in text
    assert str(rejects) in text and rejects.exists()
    assert Order.objects.get().created_by == admin_user


def test_the_import_command_explains_what_does_not_apply(admin_user, tmp_path, seller):
    path = write(tmp_path, [line()])
    with pytest.raises(CommandError, match="--owner does not apply to orders"):
        call_command("import", "orders", str(path), "--owner", seller.username, verbosity=0)
    with pytest.raises(CommandError, match="no column for"):
        call_command("import", "orders", str(write(tmp_path, [["x"]], header=["nothing"], name="b.csv")),
                     verbosity=0)


# --- foreign keys checked per transaction (SQLite, outside a surrounding transaction) --------

@pytest.mark.skipif(connection.vendor != "sqlite", reason="the pragma is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_references_are_checked_per_commit(seller, customer, catalogue, tmp_path):
    path = write(tmp_path, [line("W-1"), line("W-2", sku="MUG-3")])
    summary = import_orders(actor=seller, path=path)
    assert summary.orders_created == 2
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1  # back on for everything else
        cursor.execute("PRAGMA foreign_key_check")
        assert cursor.fetchall() == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the pragma is SQLite's")
@pytest.mark.django_db(transaction=True)
def test_a_customer_gone_before_the_commit_stops_the_import_and_keeps_nothing(seller, customer, catalogue, tmp_path,
                                                                             monkeypatch):
    real_look_up = customers.Customers._look_up

    def deleted_meanwhile(self, keys, cache, *args):
        real_look_up(self, keys, cache, *args)
        for key, found in list(cache.items()):
            if isinstance(found, tuple) and len(found) == 3:
                cache[key] = (999999, *found[1:])  # as if the contact vanished after the lookup

    monkeypatch.setattr(customers.Customers, "_look_up", deleted_meanwhile)
    path = write(tmp_path, [line("W-1")])
    with pytest.raises(RuntimeError, match="was deleted while the import ran"):
        import_orders(actor=seller, path=path)
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert not Event.objects.filter(kind="purchase").exists()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
