"""Exporting the contacts and companies lists to CSV and Excel.

An export is the list view's query without the page limit: the same filters, the same
visibility (`filter_contacts` / `filter_companies` narrow to what the user may see), every
matching row. CSV streams, so a million rows never sit in memory; Excel is written in
openpyxl's write-only mode. Cells a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from rapport.core.errors import ValidationFailed

from . import selectors
from .models import Contact

CHUNK = 2000
# Excel's sheet holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (shown as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def _user_label(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


CONTACT_COLUMNS = [
    ("ID", lambda c: c.pk), ("First Name", lambda c: c.first_name), ("Last Name", lambda c: c.last_name),
    ("Email", lambda c: c.email), ("Other Emails", lambda c: c.other_emails), ("Phone Number", lambda c: c.phone),
    ("Other Phones", lambda c: c.other_phones), ("Job Title", lambda c: c.job_title),
    ("Company Name", lambda c: c.company.name if c.company_id and c.company else ""),
    ("Lifecycle Stage", lambda c: c.get_lifecycle_stage_display()), ("Source", lambda c: c.source),
    ("Owner", lambda c: _user_label(c.owner)), ("Street", lambda c: c.street), ("City", lambda c: c.city),
    ("Region", lambda c: c.region), ("Postal Code", lambda c: c.postal_code), ("Country", lambda c: c.country),
    ("Time Zone", lambda c: c.time_zone), ("Created", lambda c: c.created_at), ("Updated", lambda c: c.updated_at),
]
COMPANY_COLUMNS = [
    ("ID", lambda c: c.pk), ("Name", lambda c: c.name), ("Domain", lambda c: c.domain),
    ("Other Domains", lambda c: c.other_domains), ("Industry", lambda c: c.industry),
    ("Size Band", lambda c: c.size_band), ("Country", lambda c: c.country), ("Owner", lambda c: _user_label(c.owner)),
    ("Notes", lambda c: c.notes), ("Created", lambda c: c.created_at), ("Updated", lambda c: c.updated_at),
]


def _batches(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _tags_by_contact(ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {}
    rows = (Contact.tags.through.objects.filter(contact_id__in=ids)
            .values_list("contact_id", "tag__name").order_by("tag__name"))
    for contact_id, name in rows:
        tags.setdefault(contact_id, []).append(name)
    return tags


def contact_rows(user, params: dict[str, Any]) -> Iterator[list[Any]]:
    """The header, then one list of cells per visible contact matching the list's filters.

    Queries: the custom field definitions, the contacts (one streamed query, companies and
    owners joined) and one tag query per 2,000 contacts, however many rows there are.
    """
    sort = params.get("sort") or "-created"
    if sort not in selectors.CONTACT_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(selectors.CONTACT_SORTS)}"})
    fields = selectors.custom_field_definitions("contact")
    order = selectors.CONTACT_SORTS[sort]
    qs = (selectors.filter_contacts(user, params).select_related("company", "owner")
          .order_by(order, "-id" if order.startswith("-") else "id"))
    yield [*(name for name, _ in CONTACT_COLUMNS), "Tags", *(f.label for f in fields)]
    for batch in _batches(qs.iterator(chunk_size=CHUNK), CHUNK):
        tags = _tags_by_contact([c.pk for c in batch])
        for contact in batch:
            custom = contact.custom or {}
            yield [*(_text(get(contact)) for _, get in CONTACT_COLUMNS), "; ".join(tags.get(contact.pk, [])),
                   *(_text(custom.get(f.key)) for f in fields)]


def company_rows(user, params: dict[str, Any]) -> Iterator[list[Any]]:
    sort = params.get("sort") or "-created"
    if sort not in selectors.COMPANY_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(selectors.COMPANY_SORTS)}"})
    fields = selectors.custom_field_definitions("company")
    order = selectors.COMPANY_SORTS[sort]
    qs = (selectors.filter_companies(user, params).select_related("owner")
          .order_by(order, "-id" if order.startswith("-") else "id"))
    yield [*(name for name, _ in COMPANY_COLUMNS), *(f.label for f in fields)]
    for company in qs.iterator(chunk_size=CHUNK):
        custom = company.custom or {}
        yield [*(_text(get(company)) for _, get in COMPANY_COLUMNS), *(_text(custom.get(f.key)) for f in fields)]


class _Echo:
    """A file-like object whose write returns the text, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff"  # lets Excel read the file as UTF-8
        for row in rows:
            yield writer.writerow([neutralise(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(rows: Iterator[list[Any]], filename: str, title: str) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for count, row in enumerate(rows):
        if count > XLSX_MAX_ROWS:
            break
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                      for v in map(neutralise, row)])
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _params(request: HttpRequest) -> dict[str, Any]:
    params = {k: request.GET.get(k, "") for k in ("q", "stage", "owner", "tag", "company", "sort",
                                                   "industry", "country", "size_band", "health", "alive")}
    params.update({k: v for k, v in request.GET.items() if k.startswith("cf_")})
    return params


def _export(request: HttpRequest, rows_for, name: str, title: str) -> HttpResponse:
    kind = request.GET.get("format", "csv")
    if kind not in ("csv", "xlsx"):
        return HttpResponse("format must be csv or xlsx", status=400, content_type="text/plain")
    rows = rows_for(request.user, _params(request))
    try:
        first = next(rows)  # raises bad filters now, as a 400, rather than mid-stream
    except ValidationFailed as exc:
        message = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        return HttpResponse(message, status=400, content_type="text/plain")
    filename = f"{name}-{timezone.localdate():%Y-%m-%d}"

    def all_rows() -> Iterator[list[Any]]:
        yield first
        yield from rows

    if kind == "xlsx":
        return xlsx_response(all_rows(), filename, title)
    return csv_response(all_rows(), filename)


@login_required
def contact_export(request: HttpRequest) -> HttpResponse:
    return _export(request, contact_rows, "contacts", "Contacts")


@login_required
def company_export(request: HttpRequest) -> HttpResponse:
    return _export(request, company_rows, "companies", "Companies")
