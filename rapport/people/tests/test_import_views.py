"""The import pages: upload → map → import → result, progress, rejects download, job privacy."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.people.models import Contact, ImportJob


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, data: bytes, entity="contact", name="people.csv"):
    return client.post(reverse("import_start"), {"entity": entity, "file": SimpleUploadedFile(name, data)})


CSV = (b"First Name,Last Name,E-mail Address,Phone Number,Lifecycle Stage\n"
       b"Ada,Lovelace,ada@example.com,+44 20 7946 0018,Customer\n"
       b"Bad,Email,not-an-email,,Lead\n"
       b"Bad,Stage,stage@example.com,,Unicorn\n"
       b"Alan,Turing,alan@example.com,,MQL\n")


def test_upload_map_import_and_download_rejects(client, seller, media):
    client.force_login(seller)
    page = client.get(reverse("import_start"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "What are you importing?" in html and "CSV file" in html and "Upload and map columns" in html
    assert 'aria-current="page">Import' in html

    response = upload(client, CSV)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import_map", args=[job.pk])
    assert job.file.name.startswith("imports/") and (media / job.file.name).is_file()

    page = client.get(response.url)
    html = page.content.decode()
    assert '<label for="col-2">E-mail Address</label>' in html
    assert '<option value="email" selected>' in html  # suggested from the header
    assert "ada@example.com" in html  # the preview
    assert ">Import</button>" in html

    mapping = {f"col-{i}": t for i, t in enumerate(["first_name", "last_name", "email", "phone", "lifecycle_stage"])}
    response = client.post(reverse("import_map", args=[job.pk]), mapping)
    assert response.status_code == 302 and response.url == reverse("import_job", args=[job.pk])
    html = client.get(response.url).content.decode()
    assert "Read 4 · Created 2 · Updated 0 · Rejected 2" in html
    assert "Download rejected rows" in html
    assert set(Contact.objects.values_list("email", flat=True)) == {"ada@example.com", "alan@example.com"}

    download = client.get(reverse("import_rejects", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert download["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert [(r["line"], r["column"]) for r in rows] == [("3", "E-mail Address"), ("4", "Lifecycle Stage")]

    listing = client.get(reverse("import_start")).content.decode()
    assert "people.csv" in listing


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty"),
    (b"First Name,Last Name\nAda,Lovelace\n", "no column we can read as an e-mail"),
    (b"Email\n", "no data rows"),
    (b"PK\x03\x04" + b"\x00" * 100, "spreadsheet workbook"),
])
def test_bad_uploads_re_render_with_the_reason_next_to_the_field(client, seller, media, data, message):
    client.force_login(seller)
    response = upload(client, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="import-file-error"' in html and message in html
    assert not ImportJob.objects.exists()


def test_no_file_and_unknown_entity_are_field_errors(client, seller, media):
    client.force_login(seller)
    response = client.post(reverse("import_start"), {"entity": "contact"})
    assert response.status_code == 422 and "choose a CSV file" in response.content.decode()
    response = upload(client, CSV, entity="deals")
    assert response.status_code == 422 and "choose contacts or companies" in response.content.decode()


def test_mapping_errors_re_render_next_to_the_column(client, seller, media):
    client.force_login(seller)
    upload(client, CSV)
    job = ImportJob.objects.get()
    response = client.post(reverse("import_map", args=[job.pk]), {"col-0": "email", "col-2": "email"})
    assert response.status_code == 422
    assert "already goes into this field" in response.content.decode()
    response = client.post(reverse("import_map", args=[job.pk]), {"col-0": "first_name"})
    assert response.status_code == 422
    assert "Choose the column that holds the e-mail" in response.content.decode()
    assert not Contact.objects.exists()


def test_big_files_run_in_the_background_and_the_progress_partial_polls(client, seller, media, settings):
    settings.RAPPORT_IMPORT_INLINE_ROWS = 2
    client.force_login(seller)
    upload(client, CSV)
    job = ImportJob.objects.get()
    # Tests use the immediate task backend, so "background" finishes at once; the job still
    # went through the task.
    client.post(reverse("import_map", args=[job.pk]), {"col-2": "email"})
    job.refresh_from_db()
    assert job.status == "done" and job.read_count == 4
    partial = client.get(reverse("import_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in partial and "Read 4" in partial
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_done=1, rows_total=4)
    partial = client.get(reverse("import_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in partial and "<progress" in partial and 'value="25"' in partial


def test_import_jobs_are_private_to_their_user(client, seller, teammate, admin_user, media):
    client.force_login(seller)
    upload(client, CSV)
    job = ImportJob.objects.get()
    client.post(reverse("import_map", args=[job.pk]), {"col-2": "email"})
    client.force_login(teammate)
    for name in ("import_job", "import_map", "import_progress", "import_rejects"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name
    assert "people.csv" not in client.get(reverse("import_start")).content.decode()
    client.force_login(admin_user)
    assert client.get(reverse("import_job", args=[job.pk])).status_code == 200


def test_login_required(client):
    response = client.get(reverse("import_start"))
    assert response.status_code == 302 and "login" in response.url
