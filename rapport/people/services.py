"""Writes to contacts, companies and tags. Each service validates, audits and records events.

Services take the acting user and check what that user may do; views and API routers only
translate requests into calls here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import may_assign_owner, team_id_for_owner
from rapport.timeline import services as timeline

from . import selectors
from .custom_fields import clean_custom
from .models import Company, Contact, CustomFieldEntity, LifecycleStage, SizeBand, Tag
from .normalize import InvalidValue, name_key, normalize_domain, normalize_email, normalize_phone

CONTACT_FIELDS = [
    "first_name", "last_name", "email", "other_emails", "phone", "other_phones", "job_title", "company",
    "owner", "team", "lifecycle_stage", "source", "street", "city", "region", "postal_code", "country",
    "time_zone", "custom",
]
COMPANY_FIELDS = [
    "name", "domain", "other_domains", "industry", "size_band", "country", "owner", "team", "notes", "custom",
]
TEXT_LIMITS = {
    "first_name": 100, "last_name": 100, "job_title": 150, "source": 100, "street": 200, "city": 100,
    "region": 100, "postal_code": 20, "name": 200, "industry": 100, "notes": 20000,
}


def _clean_text(data: dict, errors: dict, cleaned: dict) -> None:
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            value = "" if data[field] is None else str(data[field]).strip()
            if len(value) > limit:
                errors[field] = f"at most {limit} characters"
            cleaned[field] = value


def _clean_country(data: dict, errors: dict, cleaned: dict) -> None:
    if "country" in data:
        code = (data["country"] or "").strip().upper()
        if code and (len(code) != 2 or not code.isalpha()):
            errors["country"] = "use the two-letter ISO country code, e.g. GB or US"
        cleaned["country"] = code


def resolve_owner(actor, data: dict, errors: dict, cleaned: dict, *, current_owner_id=None) -> None:
    if "owner" not in data:
        return
    owner = data["owner"]
    if owner is not None and not hasattr(owner, "pk"):
        owner = get_user_model().objects.filter(pk=owner, is_active=True).first()
        if owner is None:
            errors["owner"] = "no such active user"
            return
    if (owner.pk if owner else None) == current_owner_id:
        return
    if not may_assign_owner(actor, owner):
        errors["owner"] = "you may not give records to this user"
        return
    cleaned["owner"] = owner
    cleaned["team_id"] = team_id_for_owner(owner)


def _clean_contact(actor, data: dict[str, Any], *, instance: Contact | None = None) -> dict[str, Any]:
    unknown = set(data) - set(CONTACT_FIELDS) - {"tags"}
    errors: dict[str, str] = {name: "unknown field" for name in unknown if name != "team"}
    if "team" in data:
        errors["team"] = "the team follows the owner; change the owner instead"
    cleaned: dict[str, Any] = {}
    _clean_text(data, errors, cleaned)
    _clean_country(data, errors, cleaned)
    if "email" in data:
        if data["email"] in (None, ""):
            cleaned["email"] = None
        else:
            try:
                cleaned["email"] = normalize_email(data["email"])
            except InvalidValue as exc:
                errors["email"] = str(exc)
    if "other_emails" in data:
        emails = []
        for raw in data["other_emails"] or []:
            try:
                emails.append(normalize_email(raw))
            except InvalidValue as exc:
                errors["other_emails"] = str(exc)
        cleaned["other_emails"] = emails
    region = (cleaned.get("country") or (instance.country if instance else "") or None)
    if "phone" in data:
        try:
            cleaned["phone"] = normalize_phone(data["phone"] or "", region)
        except InvalidValue as exc:
            errors["phone"] = str(exc)
    if "other_phones" in data:
        phones = []
        for raw in data["other_phones"] or []:
            try:
                phones.append(normalize_phone(raw, region))
            except InvalidValue as exc:
                errors["other_phones"] = str(exc)
        cleaned["other_phones"] = [p for p in phones if p]
    if "lifecycle_stage" in data:
        if data["lifecycle_stage"] not in LifecycleStage.values:
            errors["lifecycle_stage"] = f"choose one of: {', '.join(LifecycleStage.values)}"
        else:
            cleaned["lifecycle_stage"] = data["lifecycle_stage"]
    if "time_zone" in data:
        import zoneinfo

        zone = (data["time_zone"] or "").strip()
        if zone and zone not in zoneinfo.available_timezones():
            errors["time_zone"] = f"'{zone}' is not a time zone (e.g. Europe/London)"
        cleaned["time_zone"] = zone
    if "company" in data:
        company = data["company"]
        if company is not None and not isinstance(company, Company):
            company = selectors.company_queryset(actor).filter(pk=company).first()
            if company is None:
                errors["company"] = "no such company"
        cleaned["company"] = company
    if "custom" in data:
        custom, custom_errors = clean_custom(
            CustomFieldEntity.CONTACT, data["custom"] or {}, existing=instance.custom if instance else {},
            partial=instance is not None,
        )
        errors.update({f"custom.{k}": v for k, v in custom_errors.items()})
        cleaned["custom"] = custom
    elif instance is None:
        custom, custom_errors = clean_custom(CustomFieldEntity.CONTACT, {})
        errors.update({f"custom.{k}": v for k, v in custom_errors.items()})
    resolve_owner(actor, data, errors, cleaned, current_owner_id=instance.owner_id if instance else None)
    if "tags" in data:
        names = [str(t).strip().lower()[:60] for t in (data["tags"] or []) if str(t).strip()]
        cleaned["tags"] = sorted(set(names))
    first = cleaned.get("first_name", instance.first_name if instance else "")
    last = cleaned.get("last_name", instance.last_name if instance else "")
    email = cleaned.get("email", instance.email if instance else None)
    if not (first or last or email) and "first_name" not in errors:
        errors["first_name"] = "give at least a name or an e-mail address"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _email_taken(email: str | None, exclude_id: int | None = None) -> bool:
    if not email:
        return False
    qs = Contact.objects.filter(email=email, deleted_at__isnull=True)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.exists()


def set_tags(contact: Contact, names: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    contact.tags.set([existing[n] for n in names])


@transaction.atomic
def create_contact(*, actor, data: dict[str, Any], source: str = "web") -> Contact:
    """A new contact. The e-mail is unique among live contacts; the owner defaults to the actor."""
    data = dict(data)
    data.setdefault("owner", actor)
    cleaned = _clean_contact(actor, data)
    if _email_taken(cleaned.get("email")):
        raise ValidationFailed({"email": "another contact already has this e-mail address"})
    tags = cleaned.pop("tags", None)
    if "owner" not in cleaned:  # actor is its own owner and _resolve_owner skipped it
        cleaned["owner"], cleaned["team_id"] = actor, team_id_for_owner(actor)
    contact = Contact(created_by=actor, **cleaned)
    contact.name_key = name_key(contact.first_name, contact.last_name)
    contact.last_name_key = contact.last_name.lower()
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise ValidationFailed({"email": "another contact already has this e-mail address"}) from exc
    if tags:
        set_tags(contact, tags)
    audit.audit_created(actor=actor, instance=contact, fields=CONTACT_FIELDS, source=source)
    timeline.record_event(kind="record", contact=contact, company=contact.company, actor=actor,
                          summary="Contact created", payload={"source": source})
    return contact


@transaction.atomic
def update_contact(*, actor, contact: Contact, data: dict[str, Any], source: str = "web") -> Contact:
    """Change a contact the actor can see. Owner changes follow `may_assign_owner`."""
    contact = selectors.contact_for_update(actor, contact.pk)
    cleaned = _clean_contact(actor, data, instance=contact)
    if "email" in cleaned and _email_taken(cleaned["email"], exclude_id=contact.pk):
        raise ValidationFailed({"email": "another contact already has this e-mail address"})
    tags = cleaned.pop("tags", None)
    before = audit.snapshot(contact, CONTACT_FIELDS)
    old_stage = contact.lifecycle_stage
    for field, value in cleaned.items():
        setattr(contact, field, value)
    contact.name_key = name_key(contact.first_name, contact.last_name)
    contact.last_name_key = contact.last_name.lower()
    contact.updated_at = timezone.now()
    contact.save()
    changes = audit.changes_between(before, audit.snapshot(contact, CONTACT_FIELDS))
    if tags is not None:
        old_tags = sorted(contact.tags.values_list("name", flat=True))
        if old_tags != tags:
            set_tags(contact, tags)
            changes["tags"] = [old_tags, tags]
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=contact, changes=changes, source=source)
    if contact.lifecycle_stage != old_stage:
        timeline.record_event(
            kind="stage_change", contact=contact, company=contact.company, actor=actor,
            summary=f"Stage {LifecycleStage(old_stage).label} → {contact.get_lifecycle_stage_display()}",
            payload={"from": old_stage, "to": contact.lifecycle_stage},
        )
    return contact


@transaction.atomic
def delete_contact(*, actor, contact: Contact, source: str = "web") -> Contact:
    """Soft delete: the contact goes to the trash and can be restored."""
    contact = selectors.contact_for_update(actor, contact.pk)
    contact.deleted_at = timezone.now()
    contact.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=contact, source=source)
    return contact


@transaction.atomic
def restore_contact(*, actor, contact_id: int, source: str = "web") -> Contact:
    """Bring a contact back from the trash, unless a live contact has taken its e-mail since."""
    contact = selectors.trashed_contacts(actor).select_for_update().filter(pk=contact_id).first()
    if contact is None:
        raise NotAllowed("this contact is not in your trash")
    if _email_taken(contact.email):
        raise ValidationFailed({"email": f"a live contact already uses {contact.email}; merge or change it first"})
    contact.deleted_at = None
    contact.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.RESTORE, instance=contact, source=source)
    return contact


def bulk_update_contacts(*, actor, contact_ids: list[int], action: str, owner_id: int | None = None,
                         tag: str = "") -> int:
    """Apply one action (assign_owner, add_tag, delete) to the listed contacts the actor may see."""
    ids = list(selectors.contact_queryset(actor).filter(pk__in=contact_ids).values_list("pk", flat=True))
    if action == "assign_owner":
        owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
        if owner is None:
            raise ValidationFailed({"owner": "choose an active user"})
        if not may_assign_owner(actor, owner):
            raise ValidationFailed({"owner": "you may not give records to this user"})
    elif action == "add_tag":
        tag = (tag or "").strip().lower()[:60]
        if not tag:
            raise ValidationFailed({"tag": "type a tag"})
    elif action != "delete":
        raise ValidationFailed({"action": "choose assign_owner, add_tag or delete"})
    with transaction.atomic():
        for contact in Contact.objects.filter(pk__in=ids).select_for_update():
            if action == "assign_owner":
                update_contact(actor=actor, contact=contact, data={"owner": owner})
            elif action == "add_tag":
                names = sorted(set(contact.tags.values_list("name", flat=True)) | {tag})
                update_contact(actor=actor, contact=contact, data={"tags": names})
            else:
                delete_contact(actor=actor, contact=contact)
    return len(ids)


# --- companies --------------------------------------------------------------------------------

def _clean_company(actor, data: dict[str, Any], *, instance: Company | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - set(COMPANY_FIELDS)}
    if "team" in data:
        errors["team"] = "the team follows the owner; change the owner instead"
    cleaned: dict[str, Any] = {}
    _clean_text(data, errors, cleaned)
    _clean_country(data, errors, cleaned)
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = "a company needs a name"
    elif instance is None and "name" not in cleaned:
        errors["name"] = "a company needs a name"
    for field in ("domain",):
        if field in data:
            try:
                cleaned[field] = normalize_domain(data[field] or "")
            except InvalidValue as exc:
                errors[field] = str(exc)
    if "other_domains" in data:
        domains = []
        for raw in data["other_domains"] or []:
            try:
                domains.append(normalize_domain(raw))
            except InvalidValue as exc:
                errors["other_domains"] = str(exc)
        cleaned["other_domains"] = [d for d in domains if d]
    if "size_band" in data:
        if data["size_band"] and data["size_band"] not in SizeBand.values:
            errors["size_band"] = f"choose one of: {', '.join(SizeBand.values)}"
        cleaned["size_band"] = data["size_band"] or ""
    if "custom" in data:
        custom, custom_errors = clean_custom(
            CustomFieldEntity.COMPANY, data["custom"] or {}, existing=instance.custom if instance else {},
            partial=instance is not None,
        )
        errors.update({f"custom.{k}": v for k, v in custom_errors.items()})
        cleaned["custom"] = custom
    elif instance is None:
        custom, custom_errors = clean_custom(CustomFieldEntity.COMPANY, {})
        errors.update({f"custom.{k}": v for k, v in custom_errors.items()})
    resolve_owner(actor, data, errors, cleaned, current_owner_id=instance.owner_id if instance else None)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@transaction.atomic
def create_company(*, actor, data: dict[str, Any], source: str = "web") -> Company:
    data = dict(data)
    data.setdefault("owner", actor)
    cleaned = _clean_company(actor, data)
    if "owner" not in cleaned:
        cleaned["owner"], cleaned["team_id"] = actor, team_id_for_owner(actor)
    company = Company(created_by=actor, **cleaned)
    company.name_key = company.name.lower()
    company.save()
    audit.audit_created(actor=actor, instance=company, fields=COMPANY_FIELDS, source=source)
    timeline.record_event(kind="record", company=company, actor=actor, summary="Company created",
                          payload={"source": source})
    return company


@transaction.atomic
def update_company(*, actor, company: Company, data: dict[str, Any], source: str = "web") -> Company:
    company = selectors.company_for_update(actor, company.pk)
    cleaned = _clean_company(actor, data, instance=company)
    before = audit.snapshot(company, COMPANY_FIELDS)
    for field, value in cleaned.items():
        setattr(company, field, value)
    company.name_key = company.name.lower()
    company.updated_at = timezone.now()
    company.save()
    changes = audit.changes_between(before, audit.snapshot(company, COMPANY_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=company, changes=changes, source=source)
    return company


@transaction.atomic
def delete_company(*, actor, company: Company, source: str = "web") -> Company:
    company = selectors.company_for_update(actor, company.pk)
    company.deleted_at = timezone.now()
    company.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=company, source=source)
    return company


@transaction.atomic
def restore_company(*, actor, company_id: int, source: str = "web") -> Company:
    company = selectors.trashed_companies(actor).filter(pk=company_id).first()
    if company is None:
        raise NotAllowed("this company is not in your trash")
    company.deleted_at = None
    company.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.RESTORE, instance=company, source=source)
    return company


def company_named(*, actor, name: str, source: str = "web") -> Company | None:
    """The visible company with this name, or a new one owned by the actor (typing a new
    company name on a contact form creates it, as sellers expect)."""
    name = (name or "").strip()
    if not name:
        return None
    existing = selectors.company_queryset(actor).filter(name_key=name.lower()).order_by("id").first()
    return existing or create_company(actor=actor, data={"name": name}, source=source)
