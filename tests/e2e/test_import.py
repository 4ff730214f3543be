"""Importing a contacts CSV with two bad rows, then downloading the rejected rows."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# Headers as a common CRM export writes them; lines 3 and 4 are bad (header is line 1).
CSV_TEXT = (
    "First Name,Last Name,Email,Phone Number,Lifecycle Stage\r\n"
    "Zoë,Achterberg,zoe@achterberg.example,+31 20 794 0018,Customer\r\n"
    "Bad,Address,not-an-email,,Lead\r\n"
    "Carl,Wizard,carl@wizard.example,,Grand Wizard\r\n"
    "Dora,Nguyen,DORA@nguyen.example,,MQL\r\n"
)


def test_import_with_two_bad_rows_and_download_the_rejects(seller_page, seller, make_contact):
    existing = make_contact(seller, first_name="Dora", last_name="Nguyen", email="dora@nguyen.example",
                            lifecycle_stage="lead")
    page = seller_page

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_label("What are you importing?").select_option(label="Contacts")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV_TEXT.encode("utf-8")}]
    )
    page.get_by_role("button", name="Upload and map columns").click()

    page.get_by_role("button", name="Import", exact=True).click()

    summary = page.locator("main")
    expect(summary).to_contain_text(re.compile(r"Read\s+4\s*·\s*Created\s+1\s*·\s*Updated\s+1\s*·\s*Rejected\s+2"))

    with page.expect_download() as info:
        page.get_by_role("link", name="Download rejected rows").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, rejected = rows[0], [r for r in rows[1:] if any(r)]

    assert len(rejected) == 2, rows
    assert header[:5] == ["First Name", "Last Name", "Email", "Phone Number", "Lifecycle Stage"]
    by_email = {r[2]: dict(zip(header, r, strict=False)) for r in rejected}
    assert set(by_email) == {"not-an-email", "carl@wizard.example"}
    # Each rejected row says where (line, column) and why, so it can be fixed and re-imported.
    bad_email = " ".join(by_email["not-an-email"].values())
    bad_stage = " ".join(by_email["carl@wizard.example"].values())
    assert "3" in by_email["not-an-email"].values() and "not-an-email" in bad_email
    assert re.search(r"e-?mail", bad_email, re.I)
    assert "4" in by_email["carl@wizard.example"].values() and re.search(r"stage", bad_stage, re.I)

    from rapport.people.models import Contact

    created = Contact.objects.get(email="zoe@achterberg.example")
    assert (created.first_name, created.phone, created.lifecycle_stage) == ("Zoë", "+31207940018", "customer")
    assert created.owner_id == seller.pk
    existing.refresh_from_db()
    assert existing.lifecycle_stage == "marketing_qualified"
    assert Contact.objects.filter(deleted_at__isnull=True).count() == 2
    assert not Contact.objects.filter(email="carl@wizard.example").exists()
