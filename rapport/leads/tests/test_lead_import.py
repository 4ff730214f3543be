import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from rapport.leads.imports.engine import import_leads
from rapport.leads.models import Lead
from rapport.people.models import Contact
from rapport.sales.models import ProductCategory

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "Email,First Name,Company,Title,Budget,Currency,Authority,Timeline,Categories,Favourite colour\n"
    "ann@firm.example,Ann,Firm,Forty seats,1000,EUR,decision_maker,quarter,Software,blue\n"
    "not-an-email,Bob,Firm,,,,,,,\n"
    "cy@firm.example,Cy,Firm,,-5,EUR,,,,\n"
    ",Dee,Firm,,,,,,,\n"
    "eve@firm.example,Eve,Firm,,,,king,,,\n"
    "fay@firm.example,Fay,Firm,,,,,,Hardware,\n"
    "gus@firm.example,Gus,Firm,,,,,,,\n"
)


def _rejects(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_creates_good_rows_and_reports_each_rejected_one(seller, tmp_path):
    ProductCategory.objects.create(name="Software")
    source = tmp_path / "leads.csv"
    source.write_text(GOOD_AND_BAD)
    rejects = tmp_path / "rejects.csv"
    summary = import_leads(actor=seller, path=source, rejects_path=rejects)
    assert (summary.read, summary.created, summary.rejected) == (7, 2, 5)
    assert summary.ignored_columns == ["Favourite colour"]
    ann = Lead.objects.get(contact__email="ann@firm.example")
    assert ann.source == "import" and ann.title == "Forty seats" and ann.authority == "decision_maker"
    assert ann.company.name == "Firm" and [c.name for c in ann.need_categories.all()] == ["Software"]
    rows = {r["line"]: (r["column"], r["reason"]) for r in _rejects(rejects)}
    assert rows["3"][0] == "Email" and "e-mail" in rows["3"][1].lower()
    assert rows["4"][0] == "Budget" and "negative" in rows["4"][1]
    assert rows["5"] == ("Email", "an e-mail address is required")
    assert rows["6"][0] == "Authority" and "choose one of" in rows["6"][1]
    assert rows["7"] == ("Categories", "no such product category: Hardware")
    # Nothing of a refused row stays behind: no contact without its lead.
    assert not Contact.objects.filter(email__in=["cy@firm.example", "eve@firm.example", "fay@firm.example"]).exists()


def test_dry_run_saves_nothing(seller, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_text("Email\nann@firm.example\n")
    summary = import_leads(actor=seller, path=source, dry_run=True)
    assert summary.created == 1 and not Lead.objects.exists() and not Contact.objects.exists()


def test_a_file_without_an_email_column_is_refused(seller, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_text("Name,Phone\nAnn,123\n")
    with pytest.raises(Exception) as exc:
        import_leads(actor=seller, path=source)
    assert "e-mail" in str(exc.value)


def test_import_command(admin_user, tmp_path):
    source = tmp_path / "leads.csv"
    source.write_text("Email,Owner\nann@firm.example,ada_admin\nbob@firm.example,nobody\n")
    out = io.StringIO()
    call_command("import", "leads", str(source), "--user", "ada_admin", "--rejects", str(tmp_path / "r.csv"),
                 verbosity=0, stdout=out)
    assert "Created 1 · Rejected 1" in out.getvalue()
    assert Lead.objects.get().owner == admin_user
    assert _rejects(tmp_path / "r.csv")[0]["reason"] == "no active user 'nobody'"
    with pytest.raises(CommandError):
        call_command("import", "leads", str(source), "--owner", "ada_admin", verbosity=0, stdout=out)


def test_web_import_offers_rejects_only_to_the_importer(seller, other_seller):
    client = Client()
    client.force_login(seller)
    upload = io.BytesIO(b"Email,Timeline\nann@firm.example,now\nbad@firm.example,someday\n")
    upload.name = "leads.csv"
    response = client.post("/leads/import/", {"file": upload}, secure=True)
    html = response.content.decode()
    assert response.status_code == 200 and "created 1 lead" in html and "refused 1" in html
    link = html.split('href="/leads/import/rejects/')[1].split('"')[0]
    download = client.get(f"/leads/import/rejects/{link}", secure=True)
    assert b"someday" in b"".join(download.streaming_content)
    other = Client()
    other.force_login(other_seller)
    assert other.get(f"/leads/import/rejects/{link}", secure=True).status_code == 404
    assert client.post("/leads/import/", {}, secure=True).status_code == 422
