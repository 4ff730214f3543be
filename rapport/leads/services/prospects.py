"""Who a lead is about: the contact (and company) named by id, or by e-mail with names and a
company domain or name, found or created through the people services.

Used by the API and the CSV import so both treat the same person the same way: an e-mail that
matches a contact the caller may see adds the lead to that contact (filling in only the blanks);
an unknown e-mail creates the contact; an e-mail held by a contact the caller may not see is
refused rather than creating a duplicate or revealing the other record.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rapport.core.errors import ValidationFailed
from rapport.people import selectors as people
from rapport.people import services as people_services
from rapport.people.models import Company, Contact
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email

PERSON_FIELDS = {"id", "email", "first_name", "last_name", "phone", "job_title", "country"}
COMPANY_FIELDS = {"id", "name", "domain"}


def _prefixed(errors: dict[str, str], prefix: str) -> dict[str, str]:
    return {f"{prefix}.{k}": v for k, v in errors.items()}


def _company(actor, raw: dict[str, Any] | None, source_label: str) -> Company | None:
    if not raw:
        return None
    unknown = set(raw) - COMPANY_FIELDS
    if unknown:
        raise ValidationFailed({f"company.{k}": "unknown field" for k in unknown})
    if raw.get("id") not in (None, ""):
        try:
            company = people.company_queryset(actor).filter(pk=int(raw["id"])).first()
        except (TypeError, ValueError):
            company = None
        if company is None:
            raise ValidationFailed({"company.id": "no such company"})
        return company
    domain = ""
    if raw.get("domain"):
        try:
            domain = normalize_domain(str(raw["domain"]))
        except InvalidValue as exc:
            raise ValidationFailed({"company.domain": str(exc)}) from exc
    name = str(raw.get("name") or "").strip()
    if domain:
        found = people.company_queryset(actor).filter(domain=domain).order_by("id").first()
        if found is not None:
            return found
        if not name:
            name = domain
    if not name:
        return None
    existing = people.company_queryset(actor).filter(name_key=name.lower()).order_by("id").first()
    if existing is not None:
        if domain and not existing.domain:
            existing = people_services.update_company(actor=actor, company=existing, data={"domain": domain},
                                                      source=source_label)
        return existing
    try:
        return people_services.create_company(actor=actor, data={"name": name, "domain": domain},
                                              source=source_label)
    except ValidationFailed as exc:
        raise ValidationFailed(_prefixed(exc.errors, "company")) from exc


@transaction.atomic
def find_or_create_prospect(*, actor, contact: dict[str, Any] | None, company: dict[str, Any] | None = None,
                            source_label: str = "api") -> tuple[Contact, Company | None]:
    """The (contact, company) a lead payload names; errors are keyed `contact.<field>` and
    `company.<field>`."""
    if not contact:
        raise ValidationFailed({"contact": "name the contact by id or by e-mail"})
    unknown = set(contact) - PERSON_FIELDS
    if unknown:
        raise ValidationFailed({f"contact.{k}": "unknown field" for k in unknown})
    if contact.get("id") not in (None, ""):
        try:
            found = people.contact_queryset(actor).select_related("company").filter(pk=int(contact["id"])).first()
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise ValidationFailed({"contact.id": "no such contact"})
        return found, _company(actor, company, source_label) or found.company
    if not contact.get("email"):
        raise ValidationFailed({"contact.email": "name the contact by id or by e-mail"})
    try:
        email = normalize_email(str(contact["email"]))
    except InvalidValue as exc:
        raise ValidationFailed({"contact.email": str(exc)}) from exc
    the_company = _company(actor, company, source_label)
    details = {k: contact[k] for k in ("first_name", "last_name", "phone", "job_title", "country")
               if contact.get(k) not in (None, "")}
    existing = Contact.objects.filter(email=email, deleted_at__isnull=True).select_related("company").first()
    if existing is not None:
        if not people.contact_queryset(actor).filter(pk=existing.pk).exists():
            raise ValidationFailed({"contact.email": "this e-mail belongs to a contact you may not see; "
                                                     "ask its owner or an admin to add the lead"})
        blanks = {k: v for k, v in details.items() if not getattr(existing, k)}
        if the_company is not None and existing.company_id is None:
            blanks["company"] = the_company
        if blanks:
            try:
                existing = people_services.update_contact(actor=actor, contact=existing, data=blanks,
                                                          source=source_label)
            except ValidationFailed as exc:
                raise ValidationFailed(_prefixed(exc.errors, "contact")) from exc
        return existing, the_company or existing.company
    try:
        created = people_services.create_contact(
            actor=actor, data={"email": email, **details, **({"company": the_company} if the_company else {})},
            source=source_label)
    except ValidationFailed as exc:
        raise ValidationFailed(_prefixed(exc.errors, "contact")) from exc
    return created, the_company
