"""Exports: only visible rows, every matching row, formulas neutralised, constant queries."""

from __future__ import annotations

import csv
import io

import openpyxl
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.people.exports import neutralise
from rapport.people.models import CustomField


def read_csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_neutralise():
    for text in ["=1+1", "+14155550123", "-2", "@SUM(A1)", "\tx", "\rx"]:
        assert neutralise(text) == "'" + text
    assert neutralise("Ada") == "Ada" and neutralise(-2) == -2 and neutralise(None) is None


def test_csv_export_has_only_visible_rows_all_of_them_with_tags_and_custom(client, seller, teammate,
                                                                         other_seller, make_contact):
    CustomField.objects.create(entity="contact", key="seats", label="Seats", field_type="number")
    for n in range(60):  # more than one page of the list view
        make_contact(teammate if n % 2 else seller, email=f"n{n}@example.com", tags=["vip"] if n == 0 else [],
                     custom={"seats": n})
    make_contact(other_seller, email="hidden@example.com")
    client.force_login(seller)
    rows = read_csv(client.get(reverse("contact_export"), {"format": "csv"}))
    emails = {r["Email"] for r in rows}
    assert len(rows) == 60 and "hidden@example.com" not in emails
    first = next(r for r in rows if r["Email"] == "n0@example.com")
    assert first["Tags"] == "vip" and first["Seats"] == "0" and first["Lifecycle Stage"] == "Lead"


def test_export_follows_the_list_filters(client, seller, make_contact):
    make_contact(seller, email="cust@example.com", lifecycle_stage="customer", first_name="Zed")
    make_contact(seller, email="lead@example.com", lifecycle_stage="lead")
    client.force_login(seller)
    rows = read_csv(client.get(reverse("contact_export"), {"format": "csv", "stage": "customer"}))
    assert [r["Email"] for r in rows] == ["cust@example.com"]
    rows = read_csv(client.get(reverse("contact_export"), {"q": "zed"}))
    assert [r["Email"] for r in rows] == ["cust@example.com"]
    bad = client.get(reverse("contact_export"), {"stage": "unicorn"})
    assert bad.status_code == 400 and b"stage" in bad.content
    assert client.get(reverse("contact_export"), {"format": "pdf"}).status_code == 400


def test_formulas_are_neutralised_in_csv_and_xlsx(client, seller, make_contact, make_company):
    company = make_company(seller, name="=HYPERLINK(\"http://evil\")", domain="evil.example")
    make_contact(seller, email="f@example.com", first_name="=cmd|' /C calc'!A0", last_name="@SUM(1)",
                 job_title="-danger", phone="+1 415 555 0100", company=company.pk)
    client.force_login(seller)
    [row] = read_csv(client.get(reverse("contact_export"), {"format": "csv"}))
    assert row["First Name"] == "'=cmd|' /C calc'!A0"
    assert row["Last Name"] == "'@SUM(1)" and row["Job Title"] == "'-danger"
    assert row["Company Name"].startswith("'=") and row["Phone Number"] == "'+14155550100"

    response = client.get(reverse("contact_export"), {"format": "xlsx"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert values["First Name"] == "'=cmd|' /C calc'!A0"
    assert all(c.data_type != "f" for c in sheet[2])  # no cell is a formula
    assert values["Email"] == "f@example.com"

    response = client.get(reverse("company_export"), {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 2 and sheet["B2"].value.startswith("'=HYPERLINK")


def test_company_export_only_visible(client, seller, other_seller, make_company):
    make_company(seller, name="Mine", domain="mine.example")
    make_company(other_seller, name="Theirs", domain="theirs.example")
    client.force_login(seller)
    response = client.get(reverse("company_export"), {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Mine" in text and "Theirs" not in text


def test_export_query_count_does_not_grow_with_rows(client, seller, make_contact, make_company):
    company = make_company(seller)
    client.force_login(seller)

    def count_queries(n_more):
        for _ in range(n_more):
            make_contact(seller, company=company.pk, tags=["a", "b"])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("contact_export"), {"format": "csv"})
            body = b"".join(response.streaming_content)
        return len(queries), body.count(b"\n")

    few, lines_few = count_queries(3)
    many, lines_many = count_queries(40)
    assert lines_few == 4 and lines_many == 44
    assert few == many


def test_login_required(client):
    assert client.get(reverse("contact_export")).status_code == 302
