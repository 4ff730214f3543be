"""Web forms: what a field may map to, and what a submission becomes.

A submission finds or creates the contact (by e-mail) and the company (by domain), creates a
lead (source web form, UTM from the page), records consent word for word, joins the
visitor's anonymous page views, and keeps what was sent as a `FormSubmission`, all in one
transaction: either everything is stored or the visitor sees why nothing was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.db import transaction

from rapport.core.errors import ValidationFailed
from rapport.core.visibility import may_assign_owner
from rapport.leads.services import create_lead
from rapport.people import selectors as people
from rapport.people import services as people_services
from rapport.people.custom_fields import definitions
from rapport.people.models import Company, Contact, CustomFieldType, SizeBand
from rapport.people.normalize import InvalidValue, normalize_domain, normalize_email
from rapport.timeline.services import record_event

from ..models import Authority, BudgetBand, ConsentRecord, FormSubmission, PurchaseTimeline, WebForm
from . import identity


@dataclass(frozen=True)
class Target:
    """Where a form field's value goes, and how the field is shown."""

    key: str
    label: str
    widget: str = "text"  # text, email, tel, number, date, textarea, select, checkbox
    choices: tuple[tuple[str, str], ...] = ()
    limit: int = 200


def _choices(enum) -> tuple[tuple[str, str], ...]:
    return tuple((value, label) for value, label in enum.choices if value)


STANDARD_TARGETS: dict[str, Target] = {t.key: t for t in [
    Target("contact.email", "E-mail", "email", limit=254),
    Target("contact.first_name", "First name", limit=100),
    Target("contact.last_name", "Last name", limit=100),
    Target("contact.phone", "Phone", "tel", limit=40),
    Target("contact.job_title", "Job title", limit=150),
    Target("contact.country", "Country (two-letter code, e.g. GB)", limit=2),
    Target("contact.city", "City", limit=100),
    Target("company.name", "Company", limit=200),
    Target("company.domain", "Company web site", limit=253),
    Target("company.industry", "Industry", limit=100),
    Target("company.size_band", "Company size (people)", "select", _choices(SizeBand)),
    Target("lead.need", "What can we help with?", "textarea", limit=10_000),
    Target("lead.budget_amount", "Budget", "number", limit=20),
    Target("lead.budget_band", "Budget", "select", _choices(BudgetBand)),
    Target("lead.timeline", "When do you plan to buy?", "select", _choices(PurchaseTimeline)),
    Target("lead.authority", "Your part in the decision", "select", _choices(Authority)),
]}
CUSTOM_WIDGETS = {CustomFieldType.TEXT: "text", CustomFieldType.NUMBER: "number", CustomFieldType.DATE: "date",
                  CustomFieldType.CHOICE: "select", CustomFieldType.BOOLEAN: "checkbox"}
# Names the form machinery itself posts (filled by the page or the embed script, not by the visitor).
HONEYPOT = "rapport_website"
STARTED = "rapport_started"
RESERVED = {HONEYPOT, STARTED, "rapport_visitor", "rapport_page", "rapport_referrer", "rapport_consent",
            "csrfmiddlewaretoken"}
# Free mail providers say nothing about the company someone works for.
FREE_MAIL = {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com",
             "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.com",
             "yandex.ru", "orange.fr", "free.fr", "libero.it", "qq.com", "163.com"}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def all_targets() -> dict[str, Target]:
    """The standard targets plus every custom field of contacts and companies."""
    targets = dict(STANDARD_TARGETS)
    for entity in ("contact", "company"):
        for custom in definitions(entity):
            targets[f"{entity}.custom.{custom.key}"] = Target(
                f"{entity}.custom.{custom.key}", custom.label, CUSTOM_WIDGETS.get(custom.field_type, "text"),
                tuple((str(c), str(c)) for c in custom.choices), limit=1000)
    return targets


@dataclass
class SubmissionMeta:
    """What the page (not the visitor) tells us about the submission."""

    page_url: str = ""
    referrer: str = ""
    visitor_id: str = ""
    consent_given: bool = False
    extra_utm: dict[str, str] = field(default_factory=dict)


def utm_from(url: str) -> dict[str, str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    found = {k: v.strip()[:200] for k, v in parse_qsl(query) if k in UTM_FIELDS and v.strip()}
    return found


def clean_values(form: WebForm, posted: dict[str, list[str]]) -> dict[str, str]:
    """The visitor's values keyed by target, or ValidationFailed keyed by field name.

    Refused: names the form does not have, a name sent twice, values over their length,
    a missing required value, a malformed e-mail, and a missing consent the form requires.
    """
    fields = list(form.fields.all())
    targets = all_targets()
    known = {f.target for f in fields}
    errors: dict[str, str] = {}
    for name, values in posted.items():
        if name not in known and name not in RESERVED:
            errors[name[:80]] = f"this form has no field '{name[:80]}'"
        elif len(values) > 1:
            errors[name] = "sent more than once"
    values: dict[str, str] = {}
    for form_field in fields:
        target = targets.get(form_field.target)
        raw = (posted.get(form_field.target) or [""])[-1]
        raw = raw.strip() if isinstance(raw, str) else ""
        if target is None:
            continue  # a custom field deleted since the form was built: nothing to store it in
        if target.widget == "checkbox":
            raw = "yes" if raw else ""
        if len(raw) > target.limit:
            errors[form_field.target] = f"{form_field.label}: at most {target.limit:,} characters"
            continue
        if not raw:
            if form_field.required:
                errors[form_field.target] = f"{form_field.label} is required"
            continue
        if target.choices and raw not in {value for value, _ in target.choices}:
            errors[form_field.target] = f"{form_field.label}: choose one of the options"
            continue
        values[form_field.target] = raw
    if "contact.email" not in errors:
        try:
            values["contact.email"] = normalize_email(values.get("contact.email", ""))
        except InvalidValue as exc:
            errors["contact.email"] = str(exc)
    if form.consent_wording and form.consent_required and not (posted.get("rapport_consent") or [""])[-1]:
        errors["rapport_consent"] = "please tick the consent box to send this form"
    if errors:
        raise ValidationFailed(errors)
    return values


def _group(values: dict[str, str], entity: str) -> dict[str, Any]:
    """{"first_name": ..., "custom": {...}} for one entity's targets."""
    data: dict[str, Any] = {}
    for target, value in values.items():
        parts = target.split(".")
        if parts[0] != entity:
            continue
        if len(parts) == 3 and parts[1] == "custom":
            data.setdefault("custom", {})[parts[2]] = value
        else:
            data[parts[1]] = value
    return data


def _prefixed(errors: dict[str, str], entity: str) -> dict[str, str]:
    return {f"{entity}.{name}": reason for name, reason in errors.items()}


def _company(form: WebForm, data: dict[str, Any], email: str) -> Company | None:
    domain = ""
    raw_domain = data.get("domain") or ""
    try:
        domain = normalize_domain(raw_domain) if raw_domain else ""
    except InvalidValue as exc:
        raise ValidationFailed({"company.domain": str(exc)}) from exc
    if not domain:
        mail_domain = email.rsplit("@", 1)[-1]
        domain = "" if mail_domain in FREE_MAIL else mail_domain
    name = (data.get("name") or "").strip()
    visible = people.company_queryset(form.owner)
    company = visible.filter(domain=domain).order_by("id").first() if domain else None
    if company is None and name:
        company = visible.filter(name_key=name.lower()).order_by("id").first()
    if company is not None:
        return company
    if not name and not data.get("domain"):
        # Only an e-mail domain: not enough to create a company, and guessing names breeds duplicates.
        return None
    payload = {**data, "name": name or domain, "domain": domain}
    try:
        return people_services.create_company(actor=form.owner, data=payload, source="web_form")
    except ValidationFailed as exc:
        raise ValidationFailed(_prefixed(exc.errors, "company")) from exc


def _contact(form: WebForm, data: dict[str, Any], company: Company | None) -> tuple[Contact, bool]:
    """(contact, created). An existing contact gets only its blanks filled, and only if the form's
    owner may edit it: a stranger typing into a public form never overwrites what a seller keeps."""
    email = data["email"]
    existing = Contact.objects.filter(email=email, deleted_at__isnull=True).select_related("company").first()
    try:
        if existing is None:
            payload = {**data, **({"company": company} if company is not None else {})}
            return people_services.create_contact(actor=form.owner, data=payload, source="web_form"), True
        if not people.contact_queryset(form.owner).filter(pk=existing.pk).exists():
            return existing, False
        blanks = {k: v for k, v in data.items() if k not in ("email", "custom") and not getattr(existing, k, "")}
        custom = {k: v for k, v in (data.get("custom") or {}).items() if existing.custom.get(k) in (None, "")}
        if custom:
            blanks["custom"] = custom
        if company is not None and existing.company_id is None:
            blanks["company"] = company
        if blanks:
            existing = people_services.update_contact(actor=form.owner, contact=existing, data=blanks,
                                                      source="web_form")
        return existing, False
    except ValidationFailed as exc:
        raise ValidationFailed(_prefixed(exc.errors, "contact")) from exc


def _lead_data(form: WebForm, values: dict[str, str], utm: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = _group(values, "lead")
    data["source"] = "web_form"
    data["title"] = (form.lead_title or f"Web form: {form.name}")[:200]
    data["campaign"] = form.campaign or utm.get("utm_campaign", "")
    data.update(utm)
    if not form.route_leads:
        data["owner"] = form.owner
    return data


@transaction.atomic
def submit_form(*, form: WebForm, posted: dict[str, list[str]], meta: SubmissionMeta) -> FormSubmission:
    """Turn one submission into contact, company, lead, consent and timeline entries.

    Raises ValidationFailed keyed by the form's field names (e.g. "contact.email"), with nothing
    stored, when anything is wrong.
    """
    values = clean_values(form, posted)
    contact_data = _group(values, "contact")
    company = _company(form, _group(values, "company"), contact_data["email"])
    contact, created = _contact(form, contact_data, company)
    utm = {**utm_from(meta.page_url), **meta.extra_utm}
    visitor = identity.visitor_for_submission(meta.visitor_id)
    first_touch = None
    if visitor is not None:
        first_touch = identity.earliest_page_view(visitor)
        identity.identify_visitor(visitor=visitor, contact=contact, via=f"the web form “{form.name}”")
    lead_data = _lead_data(form, values, utm)
    if first_touch is not None:
        lead_data["first_touch_at"] = first_touch
    try:
        lead = create_lead(actor=None, contact=contact, company=company or contact.company, data=lead_data,
                           source_label="form")
    except ValidationFailed as exc:
        raise ValidationFailed(_prefixed(exc.errors, "lead")) from exc
    if created and lead.owner_id and lead.owner_id != contact.owner_id and may_assign_owner(form.owner, lead.owner):
        # The contact follows its lead to the seller routing chose, when the form's owner may hand it on.
        contact = people_services.update_contact(actor=form.owner, contact=contact, data={"owner": lead.owner},
                                                 source="web_form")
    submission = FormSubmission.objects.create(
        form=form, values=values, contact=contact, lead=lead, visitor=visitor, page_url=meta.page_url[:2000],
        utm=utm)
    consent = bool(form.consent_wording and meta.consent_given)
    if consent:
        where = f" on {meta.page_url[:200]}" if meta.page_url else ""
        ConsentRecord.objects.create(contact=contact, wording=form.consent_wording, given_at=submission.submitted_at,
                                     source=f"web form “{form.name}”{where}"[:300], form=form,
                                     submission=submission)
    record_event(kind="form", contact=contact, company=contact.company,
                 summary=f"Sent the form “{form.name}”" + (" and gave consent" if consent else ""),
                 payload={"form": form.pk, "submission": submission.pk, "lead": lead.pk, "consent": consent,
                          "page": meta.page_url[:500]},
                 occurred_at=submission.submitted_at)
    return submission
