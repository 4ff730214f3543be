"""Importing leads from a CSV file, with the contact importer's rules for what is refused.

The file is read by the contact importer's reader (encoding and delimiter guessed, header
checked) and every refused row goes to the same kind of rejects file: the original cells, then
line, column and reason. Each row goes through the same services as a lead typed in by hand
or sent to the API (`find_or_create_prospect`, then `create_lead`), so a row is accepted or
refused for exactly the same reasons; each row is its own savepoint, so one bad row never takes
others with it. Lead files are counted in thousands, not millions: correctness wins over the
contact importer's bulk writes here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.people.imports.engine import RejectsFile
from rapport.people.imports.reading import ImportFileError, count_data_lines, iter_rows, sniff

from .. import services

# Field → header spellings (squeezed to lower-case letters and digits) as CRM and form exports name them.
COLUMNS: dict[str, list[str]] = {
    "email": ["email", "emailaddress", "mail", "workemail", "businessemail", "contactemail"],
    "first_name": ["firstname", "givenname", "forename", "first"],
    "last_name": ["lastname", "surname", "familyname", "last"],
    "phone": ["phone", "phonenumber", "telephone", "tel", "mobile"],
    "job_title": ["jobtitle", "position", "role"],
    "company": ["company", "companyname", "organisation", "organization", "account", "accountname"],
    "domain": ["domain", "website", "companydomain", "web", "url"],
    "title": ["title", "leadtitle", "subject", "inquiry", "enquiry", "interest"],
    "source": ["source", "leadsource"],
    "campaign": ["campaign", "campaignname"],
    "utm_source": ["utmsource"], "utm_medium": ["utmmedium"], "utm_campaign": ["utmcampaign"],
    "utm_term": ["utmterm"], "utm_content": ["utmcontent"],
    "owner": ["owner", "leadowner", "assignedto", "seller"],
    "budget_amount": ["budget", "budgetamount", "amount"],
    "budget_currency": ["currency", "budgetcurrency"],
    "budget_band": ["budgetband", "budgetrange"],
    "authority": ["authority", "buyingrole", "decisionrole"],
    "need_categories": ["needcategories", "categories", "productcategories", "products"],
    "need": ["need", "needs", "notes", "message", "comments"],
    "timeline": ["timeline", "timeframe", "purchasetimeline", "buyingwindow"],
    "first_touch_at": ["firsttouch", "firsttouchat", "created", "createdat", "date"],
}
PERSON = ("email", "first_name", "last_name", "phone", "job_title")
LEAD = ("title", "source", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
        "owner", "budget_amount", "budget_currency", "budget_band", "authority", "need_categories", "need",
        "timeline", "first_touch_at")
# Each row runs through the services (a few dozen queries): bigger files go through the API batch or split.
MAX_ROWS = 50_000


def squeeze(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def suggest_mapping(headers: list[str]) -> dict[str, str]:
    """header → field for every header recognised (each field once); others are left out (skipped)."""
    lookup = {}
    for target, words in COLUMNS.items():
        lookup.setdefault(squeeze(target), target)
        for word in words:
            lookup.setdefault(word, target)
    mapping: dict[str, str] = {}
    for header in headers:
        target = lookup.get(squeeze(header), "")
        if target and target not in mapping.values():
            mapping[header] = target
    return mapping


@dataclass
class LeadImportSummary:
    read: int = 0
    created: int = 0
    rejected: int = 0
    rows_total: int = 0
    dry_run: bool = False
    rejects_path: str = ""
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "created": self.created, "rejected": self.rejected}


class _DryRun(Exception):
    """Raised inside a row's savepoint to undo it after checking it."""


def _owner(value: str):
    """An owner named in a cell: username, e-mail or user id."""
    users = get_user_model().objects.filter(is_active=True)
    found = users.filter(username=value).first() or users.filter(email__iexact=value).first()
    if found is None and value.isdigit():
        found = users.filter(pk=int(value)).first()
    if found is None:
        raise ValidationFailed({"owner": f"no active user '{value}'"})
    return found.pk


def import_leads(*, actor, path: Path | str, dry_run: bool = False, rejects_path: Path | None = None,
                 mapping: dict[str, str] | None = None,
                 progress: Callable[[LeadImportSummary], None] | None = None) -> LeadImportSummary:
    """Import every row of `path` as a lead (see the module's docstring); returns the counts."""
    path = Path(path)
    try:
        fmt = sniff(path)
    except ImportFileError as exc:
        raise ValidationFailed({"file": str(exc)}) from exc
    mapping = mapping if mapping is not None else suggest_mapping(fmt.headers)
    if "email" not in mapping.values():
        raise ValidationFailed({"file": "The file needs a column with the contact's e-mail address (e.g. Email); "
                                        f"its columns are: {', '.join(fmt.headers)}"})
    summary = LeadImportSummary(dry_run=dry_run, rows_total=count_data_lines(path),
                                ignored_columns=[h for h in fmt.headers if h not in mapping])
    if summary.rows_total > MAX_ROWS:
        raise ValidationFailed({"file": f"at most {MAX_ROWS:,} leads per file; split the file"})
    header_of = {target: header for header, target in mapping.items()}
    columns = [(index, mapping[h]) for index, h in enumerate(fmt.headers) if h in mapping]
    rejects = RejectsFile(rejects_path, fmt.headers)
    try:
        for line, cells in iter_rows(path, fmt):
            summary.read += 1
            column, reason = _import_row(actor, cells, columns, len(fmt.headers), header_of, dry_run)
            if reason:
                summary.rejected += 1
                rejects.add(line, cells, column, reason)
            else:
                summary.created += 1
            if progress is not None and summary.read % 100 == 0:
                progress(summary)
    finally:
        rejects.close()
    if summary.rejected and rejects_path is not None:
        summary.rejects_path = str(rejects_path)
    if progress is not None:
        progress(summary)
    return summary


def _import_row(actor, cells: list[str], columns, width: int, header_of: dict[str, str],
                dry_run: bool) -> tuple[str, str]:
    """("", "") when the row became a lead, else (column, reason)."""
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return "", (f"the row has {len(cells)} cells but the header names {width} columns "
                    "(a separator inside an unquoted cell?)")
    values = {target: cells[index].strip() for index, target in columns if index < len(cells) and cells[index].strip()}
    if "email" not in values:
        return header_of.get("email", "email"), "an e-mail address is required"
    person = {k: values[k] for k in PERSON if k in values}
    company = {k: v for k, v in (("name", values.get("company")), ("domain", values.get("domain"))) if v} or None
    data = {k: values[k] for k in LEAD if k in values}
    try:
        if "owner" in data:
            data["owner"] = _owner(data["owner"])
        with transaction.atomic():
            contact, found_company = services.find_or_create_prospect(actor=actor, contact=person, company=company,
                                                                      source_label="import")
            services.create_lead(actor=actor, contact=contact, company=found_company, data=data,
                                 source_label="import")
            if dry_run:
                raise _DryRun
    except _DryRun:
        return "", ""
    except ValidationFailed as exc:
        field_name, reason = next(iter(exc.errors.items()))
        target = {"contact.email": "email", "contact.first_name": "first_name", "contact.last_name": "last_name",
                  "contact.phone": "phone", "contact.job_title": "job_title", "company.name": "company",
                  "company.domain": "domain"}.get(field_name, field_name)
        reasons = "; ".join(f"{k.replace('contact.', '').replace('company.', 'company ')}: {v}"
                            if k != field_name else v for k, v in exc.errors.items())
        return header_of.get(target, target), reasons
    except NotAllowed as exc:
        return "", str(exc)
    return "", ""
