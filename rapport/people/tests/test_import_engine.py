"""The import engine: validation, upserts, duplicates, permissions, rejects and counts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditEntry
from rapport.people.imports import jobs
from rapport.people.models import Company, Contact, CustomField, ImportJob
from rapport.timeline.models import Event


def csv_file(tmp_path, rows, *, name="people.csv", delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run(actor, path, entity="contacts", **kwargs):
    return jobs.import_path(actor=actor, entity=entity, path=path, **kwargs)


def rejects_of(summary) -> list[dict]:
    text = Path(summary.rejects_path).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


HEADER = ["First Name", "Last Name", "Email", "Phone Number", "Company Name", "Lifecycle Stage", "Country", "Tags"]


def test_creates_contacts_with_owner_team_audit_event_tags_and_company(seller, tmp_path):
    path = csv_file(tmp_path, [HEADER,
                               ["Ada", "Lovelace", "ADA@Example.com", "020 7946 0018", "Analytical Engines", "MQL",
                                "gb", "math; pioneers"],
                               ["Alan", "Turing", "alan@example.com", "(415) 555-0123", "analytical engines", "",
                                "", ""]])
    job, summary = run(seller, path)
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (2, 2, 0, 0)
    ada = Contact.objects.get(email="ada@example.com")
    assert ada.phone == "+442079460018"  # read in the row's country, not the default US
    assert ada.lifecycle_stage == "marketing_qualified"
    assert ada.country == "GB"
    assert ada.name_key == "ada lovelace" and ada.last_name_key == "lovelace"
    assert ada.owner == seller and ada.team_id == seller.profile.team_id
    assert sorted(ada.tags.values_list("name", flat=True)) == ["math", "pioneers"]
    alan = Contact.objects.get(email="alan@example.com")
    assert alan.phone == "+14155550123" and alan.lifecycle_stage == "lead"
    # Both rows name the same company, whatever the case: one company, linked to both.
    assert Company.objects.count() == 1
    assert ada.company_id == alan.company_id and ada.company.name == "Analytical Engines"
    assert ada.company.owner == seller
    audit = AuditEntry.objects.get(record_type="people.contact", record_id=ada.pk)
    assert audit.source == "import" and audit.action == "create" and audit.actor == seller
    assert audit.changes["email"] == [None, "ada@example.com"]
    assert audit.changes["tags"] == [None, ["math", "pioneers"]]
    event = Event.objects.get(contact=ada)
    assert event.kind == "record" and event.summary == "Imported from people.csv"
    assert event.company_id == ada.company_id
    assert AuditEntry.objects.filter(record_type="people.company", source="import").count() == 1
    assert job.status == "done" and job.read_count == 2 and job.created_count == 2


def test_bad_rows_are_rejected_with_line_column_and_reason(seller, tmp_path):
    path = csv_file(tmp_path, [HEADER,
                               ["Good", "Row", "good@example.com", "+1 415 555 0100", "", "Customer", "", ""],
                               ["Bad", "Email", "not-an-email", "", "", "", "", ""],
                               ["Bad", "Phone", "phone@example.com", "call me", "", "", "", ""],
                               ["Bad", "Stage", "stage@example.com", "", "", "Hot prospect", "", ""],
                               ["No", "Email", "", "", "", "", "", ""],
                               ["Bad", "Country", "country@example.com", "", "", "", "United Kingdom", ""]])
    job, summary = run(seller, path)
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (6, 1, 0, 5)
    assert summary.read == summary.created + summary.updated + summary.rejected
    rejects = rejects_of(summary)
    assert [(r["line"], r["column"]) for r in rejects] == [
        ("3", "Email"), ("4", "Phone Number"), ("5", "Lifecycle Stage"), ("6", "Email"), ("7", "Country")]
    assert "'not-an-email' is not a valid e-mail address" in rejects[0]["reason"]
    assert "phone number" in rejects[1]["reason"]
    assert "is not a lifecycle stage" in rejects[2]["reason"]
    assert "required" in rejects[3]["reason"]
    assert "two-letter" in rejects[4]["reason"]
    # The original cells come back untouched, so the user can fix and re-import the file.
    assert rejects[0]["First Name"] == "Bad" and rejects[0]["Email"] == "not-an-email"
    assert list(rejects[0]) == [*HEADER, "line", "column", "reason"]
    assert not Contact.objects.filter(email__in=["phone@example.com", "stage@example.com"]).exists()


def test_several_problems_in_one_row_are_all_named(seller, tmp_path):
    path = csv_file(tmp_path, [HEADER, ["X", "Y", "bad@", "nonsense", "", "nope", "", ""]])
    _, summary = run(seller, path)
    [reject] = rejects_of(summary)
    assert reject["column"] == "Email; Phone Number; Lifecycle Stage"
    assert reject["reason"].count(";") == 2


def test_upsert_updates_existing_contact_without_erasing_with_blank_cells(seller, make_contact, tmp_path):
    existing = make_contact(seller, first_name="Grace", last_name="Hopper", email="grace@example.com",
                            job_title="Rear Admiral", tags=["navy"])
    path = csv_file(tmp_path, [["Email", "Job Title", "Last Name", "Lifecycle Stage", "Tags"],
                               ["Grace@Example.com", "", "Murray Hopper", "customer", "cobol"]])
    _, summary = run(seller, path)
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (1, 0, 1, 0)
    existing.refresh_from_db()
    assert existing.last_name == "Murray Hopper" and existing.name_key == "grace murray hopper"
    assert existing.job_title == "Rear Admiral"  # the blank cell left it alone
    assert existing.lifecycle_stage == "customer"
    assert sorted(existing.tags.values_list("name", flat=True)) == ["cobol", "navy"]
    audit = AuditEntry.objects.filter(record_id=existing.pk, action="update", source="import").get()
    assert audit.changes["last_name"] == ["Hopper", "Murray Hopper"]
    assert audit.changes["lifecycle_stage"] == ["lead", "customer"]
    assert audit.changes["tags"] == [["navy"], ["cobol", "navy"]]
    assert Event.objects.filter(contact=existing, kind="stage_change").count() == 1
    assert Contact.objects.filter(email="grace@example.com").count() == 1


def test_teammates_contact_is_updated_but_another_teams_is_rejected(seller, teammate, other_seller,
                                                                     make_contact, tmp_path):
    ours = make_contact(teammate, email="ours@example.com", job_title="Old")
    theirs = make_contact(other_seller, email="theirs@example.com", job_title="Secret title")
    path = csv_file(tmp_path, [["Email", "Job Title"], ["ours@example.com", "New"], ["theirs@example.com", "Hacked"]])
    _, summary = run(seller, path)
    assert (summary.created, summary.updated, summary.rejected) == (0, 1, 1)
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.job_title == "New" and ours.owner == teammate  # updating does not take ownership
    assert theirs.job_title == "Secret title" and theirs.owner == other_seller
    [reject] = rejects_of(summary)
    assert reject["line"] == "3" and reject["column"] == "Email"
    assert reject["reason"] == "this e-mail address belongs to a record you cannot see"
    assert "otto" not in Path(summary.rejects_path).read_text()  # nothing about the hidden record leaks
    assert not AuditEntry.objects.filter(record_id=theirs.pk, source="import").exists()


def test_company_names_link_only_to_companies_the_importer_can_see(seller, other_seller, make_company, tmp_path):
    hidden = make_company(other_seller, name="Initech", domain="initech.example")
    visible = make_company(seller, name="Globex", domain="globex.example")
    path = csv_file(tmp_path, [["Email", "Company"], ["a@example.com", "Initech"], ["b@example.com", "GLOBEX"]])
    run(seller, path)
    a = Contact.objects.get(email="a@example.com")
    assert a.company_id != hidden.pk and a.company.owner == seller
    assert Contact.objects.get(email="b@example.com").company_id == visible.pk


def test_duplicate_emails_in_one_file_keep_the_first_row_and_reject_the_rest(seller, tmp_path):
    rows = [["Email", "First Name"], ["dup@example.com", "First"], ["other@example.com", "Other"],
            ["DUP@example.com", "Second"]]
    _, summary = run(seller, csv_file(tmp_path, rows))
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (3, 2, 0, 1)
    assert Contact.objects.get(email="dup@example.com").first_name == "First"
    [reject] = rejects_of(summary)
    assert reject["line"] == "4"
    assert "line 2" in reject["reason"]


def test_duplicates_across_chunks_are_caught_too(seller, tmp_path, monkeypatch):
    from rapport.people.imports import engine

    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)
    monkeypatch.setattr(engine, "COMMIT_ROWS", 3)
    rows = [["Email"], ["a@example.com"], ["b@example.com"], ["c@example.com"], ["a@example.com"]]
    _, summary = run(seller, csv_file(tmp_path, rows))
    assert (summary.created, summary.rejected) == (3, 1)


def test_rerunning_the_same_file_updates_instead_of_duplicating(seller, tmp_path):
    path = csv_file(tmp_path, [HEADER, ["Ada", "L", "ada@example.com", "", "Acme", "", "", "x"]])
    run(seller, path)
    _, summary = run(seller, path)
    assert (summary.created, summary.updated) == (0, 1)
    assert Contact.objects.count() == 1 and Company.objects.count() == 1
    # Nothing changed the second time, so no empty audit entry either.
    assert AuditEntry.objects.filter(record_type="people.contact", action="update").count() == 0


def test_custom_fields_are_validated_and_merged(seller, make_contact, tmp_path):
    CustomField.objects.create(entity="contact", key="seats", label="Seats", field_type="number")
    CustomField.objects.create(entity="contact", key="plan", label="Plan", field_type="choice",
                               choices=["Free", "Pro"])
    existing = make_contact(seller, email="c@example.com", custom={"plan": "Free"})
    path = csv_file(tmp_path, [["Email", "Seats", "Plan"], ["new@example.com", "12", "pro"],
                               ["c@example.com", "3", ""], ["bad@example.com", "twelve", "Gold"]])
    _, summary = run(seller, path)
    assert (summary.created, summary.updated, summary.rejected) == (1, 1, 1)
    assert Contact.objects.get(email="new@example.com").custom == {"seats": 12, "plan": "Pro"}
    existing.refresh_from_db()
    assert existing.custom == {"plan": "Free", "seats": 3}
    [reject] = rejects_of(summary)
    assert reject["column"] == "Seats; Plan"


def test_required_custom_field_rejects_new_rows_without_it(seller, tmp_path):
    CustomField.objects.create(entity="contact", key="region_code", label="Region code", field_type="text",
                               required=True)
    path = csv_file(tmp_path, [["Email", "Region code"], ["a@example.com", "EMEA"], ["b@example.com", ""]])
    _, summary = run(seller, path)
    assert (summary.created, summary.rejected) == (1, 1)
    assert rejects_of(summary)[0]["reason"] == "Region code is required"


def test_missing_required_column_and_empty_files_are_clear_errors(seller, tmp_path):
    with pytest.raises(ValidationFailed) as excinfo:
        run(seller, csv_file(tmp_path, [["First Name", "Last Name"], ["Ada", "Lovelace"]]))
    assert "no column we can read as an e-mail column" in excinfo.value.errors["file"]
    with pytest.raises(ValidationFailed, match="empty"):
        run(seller, csv_file(tmp_path, [], name="empty.csv"))
    with pytest.raises(ValidationFailed, match="no data rows"):
        run(seller, csv_file(tmp_path, [["Email"]], name="header.csv"))
    with pytest.raises(ValidationFailed, match="company name column"):
        run(seller, csv_file(tmp_path, [["Website"], ["a.example"]], name="c.csv"), entity="companies")
    assert not ImportJob.objects.exists()


def test_encodings_and_delimiters_import_the_same(seller, tmp_path):
    rows = [["First Name", "Email"], ["Zoë", "zoe@example.com"], ["Jürgen", "juergen@example.com"]]
    for n, (encoding, delimiter) in enumerate([("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", "\t"),
                                               ("latin-1", "|")]):
        Contact.objects.all().delete()
        _, summary = run(seller, csv_file(tmp_path, rows, name=f"f{n}.csv", delimiter=delimiter, encoding=encoding))
        assert summary.created == 2, (encoding, delimiter)
        assert Contact.objects.get(email="zoe@example.com").first_name == "Zoë"


def test_dry_run_counts_but_changes_nothing(seller, make_contact, tmp_path):
    make_contact(seller, email="old@example.com")
    before = (Contact.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    path = csv_file(tmp_path, [["Email", "Company"], ["new@example.com", "NewCo"], ["old@example.com", ""],
                               ["bad", ""]])
    _, summary = run(seller, path, dry_run=True)
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (3, 1, 1, 1)
    assert (Contact.objects.count(), AuditEntry.objects.count(), Event.objects.count()) == before
    assert not Company.objects.exists()


def test_owner_option_needs_the_right_to_assign(seller, teammate, admin_user, other_seller, tmp_path):
    path = csv_file(tmp_path, [["Email"], ["a@example.com"]])
    with pytest.raises(ValidationFailed, match="may not give records"):
        run(seller, path, owner=other_seller)
    run(admin_user, path, owner=other_seller)
    contact = Contact.objects.get()
    assert contact.owner == other_seller and contact.team_id == other_seller.profile.team_id
    assert contact.created_by == admin_user


def test_companies_upsert_by_domain_and_reject_hidden_ones(seller, other_seller, make_company, tmp_path):
    mine = make_company(seller, name="Globex", domain="globex.example", industry="")
    make_company(other_seller, name="Initech", domain="initech.example")
    path = csv_file(tmp_path, [["Company Name", "Website", "Industry", "Employees"],
                               ["Globex Corp", "https://www.Globex.example/about", "Energy", "120"],
                               ["Initech", "initech.example", "Software", ""],
                               ["Hooli", "hooli.example", "Search", "5000"],
                               ["Hooli again", "hooli.example", "", ""],
                               ["", "nameless.example", "", ""],
                               ["Bad Domain", "not a domain", "", ""],
                               ["Size", "size.example", "", "huge"]])
    _, summary = run(seller, path, entity="companies")
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (7, 1, 1, 5)
    mine.refresh_from_db()
    assert (mine.name, mine.industry, mine.size_band) == ("Globex Corp", "Energy", "50-249")
    hooli = Company.objects.get(domain="hooli.example")
    assert hooli.owner == seller and hooli.size_band == "1000+"
    reasons = {r["line"]: r["reason"] for r in rejects_of(summary)}
    assert reasons["3"] == "this domain belongs to a company you cannot see"
    assert "line 4" in reasons["5"]
    assert reasons["6"] == "a company needs a name"
    assert "not a web domain" in reasons["7"]
    assert "size band" in reasons["8"]
    assert AuditEntry.objects.filter(record_type="people.company", record_id=mine.pk, action="update").exists()


def test_parallel_workers_give_the_same_result(seller, tmp_path):
    rows = [["Email", "Phone Number"]]
    rows += [[f"p{n}@example.com", f"+1 415 555 {n:04d}" if n % 10 else "bad phone"] for n in range(300)]
    _, summary = run(seller, csv_file(tmp_path, rows), workers=2)
    assert (summary.read, summary.created, summary.rejected) == (300, 270, 30)
    assert [r["line"] for r in rejects_of(summary)][:3] == ["2", "12", "22"]


@pytest.mark.slow
def test_a_100000_row_file_imports(seller, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First Name", "Last Name", "Email", "Phone Number", "Lifecycle Stage", "Tags"])
        for n in range(100_000):
            email = f"person{n}@example.com" if n % 100 != 7 else f"person{n}@@example.com"
            writer.writerow(["Pat", f"Number{n}", email, f"+1 212 555 {n % 10000:04d}", "Lead", "big"])
    job, summary = run(seller, path)
    assert (summary.read, summary.created, summary.updated, summary.rejected) == (100_000, 99_000, 0, 1_000)
    assert Contact.objects.count() == 99_000
    assert Event.objects.filter(kind="record").count() == 99_000
    assert AuditEntry.objects.filter(source="import").count() == 99_000
    assert Contact.tags.through.objects.count() == 99_000
    job.refresh_from_db()
    assert job.rows_done == 100_000 and job.percent == 100


def test_cli_imports_and_prints_the_summary(seller, admin_user, tmp_path, capsys):
    path = csv_file(tmp_path, [["Email", "Phone"], ["a@example.com", "+1 415 555 0100"], ["b", ""]])
    rejects = tmp_path / "out.csv"
    call_command("import", "contacts", str(path), "--user", seller.username, "--rejects", str(rejects),
                 verbosity=0)
    out = capsys.readouterr().out
    assert "Read 2 · Created 1 · Updated 0 · Rejected 1" in out
    assert str(rejects) in out
    assert "line" in rejects.read_text(encoding="utf-8-sig").splitlines()[0]
    assert Contact.objects.get().owner == seller
    call_command("import", "contacts", str(path), "--dry-run", verbosity=0)
    assert "Would import" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no active user"):
        call_command("import", "contacts", str(path), "--owner", "nobody", verbosity=0)
    with pytest.raises(CommandError, match="not a file"):
        call_command("import", "contacts", str(tmp_path / "missing.csv"), verbosity=0)
