"""Setting capture up: tracked sites and web forms, built by admins and marketers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction, Role
from rapport.core.visibility import is_admin, profile_of

from ..models import ConsentMode, TrackedSite, WebForm, WebFormField
from .forms import all_targets
from .tracking import BadBatch, clean_origin, forget_sites

SITE_FIELDS = ["name", "origins", "consent_mode", "active"]
FORM_FIELDS = ["name", "title", "intro", "submit_label", "thank_you", "consent_wording", "consent_required",
               "owner", "route_leads", "lead_title", "campaign", "active"]
FORM_TEXT_LIMITS = {"name": 120, "title": 200, "intro": 5000, "submit_label": 60, "thank_you": 5000,
                    "consent_wording": 2000, "lead_title": 200, "campaign": 200}
MAX_FORM_FIELDS = 40


def may_build(user) -> bool:
    """Admins and marketers set up forms and tracking; sellers see what they capture."""
    return bool(user and user.is_authenticated and (is_admin(user) or profile_of(user).role == Role.MARKETER))


def check_may_build(user) -> None:
    if not may_build(user):
        raise NotAllowed("only admins and marketers set up lead capture")


def _flag(value: Any) -> bool:
    return value in (True, "on", "true", "1", "yes")


@transaction.atomic
def save_site(*, actor, data: dict[str, Any], site: TrackedSite | None = None) -> TrackedSite:
    """Create or change a tracked site: its name, the origins it sends from and its consent mode."""
    check_may_build(actor)
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - set(SITE_FIELDS)}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "give the site a name"
    elif len(name) > 120:
        errors["name"] = "at most 120 characters"
    raw = data.get("origins") or []
    if isinstance(raw, str):
        raw = raw.split()
    origins: list[str] = []
    for item in raw:
        try:
            origin = clean_origin(str(item))
        except BadBatch as exc:
            errors["origins"] = str(exc)
            break
        if origin not in origins:
            origins.append(origin)
    if not origins and "origins" not in errors:
        errors["origins"] = "list at least one origin, e.g. https://www.example.com"
    if len(origins) > 20:
        errors["origins"] = "at most 20 origins"
    mode = data.get("consent_mode") or ConsentMode.AFTER_CONSENT
    if mode not in ConsentMode.values:
        errors["consent_mode"] = f"choose one of: {', '.join(ConsentMode.values)}"
    if errors:
        raise ValidationFailed(errors)
    creating = site is None
    site = site or TrackedSite(created_by=actor)
    before = audit.snapshot(site, SITE_FIELDS)
    site.name, site.origins, site.consent_mode = name, origins, mode
    site.active = _flag(data.get("active", True))
    site.updated_at = timezone.now()
    site.save()
    forget_sites()
    transaction.on_commit(forget_sites)  # again: a request may have cached the old row meanwhile
    if creating:
        audit.audit_created(actor=actor, instance=site, fields=SITE_FIELDS)
    elif changes := audit.changes_between(before, audit.snapshot(site, SITE_FIELDS)):
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=site, changes=changes)
    return site


def _clean_fields(rows: list[dict[str, Any]], errors: dict[str, str]) -> list[dict[str, Any]]:
    targets = all_targets()
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        target = str(row.get("target") or "")
        if target not in targets:
            errors["fields"] = f"'{target}' is not a field a form can fill"
            continue
        if target in seen:
            errors["fields"] = f"'{target}' appears twice"
            continue
        seen.add(target)
        label = str(row.get("label") or "").strip() or targets[target].label
        if len(label) > 120:
            errors[f"fields.{target}"] = "a label has at most 120 characters"
        help_text = str(row.get("help_text") or "").strip()
        if len(help_text) > 200:
            errors[f"fields.{target}"] = "help text has at most 200 characters"
        cleaned.append({"target": target, "label": label, "required": _flag(row.get("required")),
                        "help_text": help_text})
    # Every submission is matched to a contact by e-mail, so the e-mail field is always there and required.
    email = next((row for row in cleaned if row["target"] == "contact.email"), None)
    if email is None:
        cleaned.insert(0, {"target": "contact.email", "label": "E-mail", "required": True, "help_text": ""})
    else:
        email["required"] = True
    if len(cleaned) > MAX_FORM_FIELDS:
        errors["fields"] = f"at most {MAX_FORM_FIELDS} fields"
    return cleaned


@transaction.atomic
def save_form(*, actor, data: dict[str, Any], fields: list[dict[str, Any]], form: WebForm | None = None) -> WebForm:
    """Create or change a web form and its fields (in the order given)."""
    check_may_build(actor)
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - set(FORM_FIELDS)}
    cleaned: dict[str, Any] = {}
    for name, limit in FORM_TEXT_LIMITS.items():
        if name in data or form is None:
            value = str(data.get(name) or "").strip()
            if len(value) > limit:
                errors[name] = f"at most {limit:,} characters"
            cleaned[name] = value
    if form is None or "name" in data:
        if not cleaned.get("name"):
            errors["name"] = "give the form a name"
    for name in ("submit_label", "thank_you"):
        if name in cleaned and not cleaned[name]:
            cleaned.pop(name)  # keep the default wording
    for name in ("consent_required", "route_leads", "active"):
        if name in data or form is None:
            cleaned[name] = _flag(data.get(name, name != "consent_required"))
    if cleaned.get("consent_required") and not (cleaned.get("consent_wording") or (form and form.consent_wording)):
        errors["consent_wording"] = "write the consent wording the visitor agrees to"
    owner = data.get("owner") or (form.owner if form else actor)
    if not hasattr(owner, "pk"):
        try:
            owner = get_user_model().objects.filter(pk=int(owner), is_active=True).first()
        except (TypeError, ValueError):
            owner = None
    if owner is None or not owner.is_active:
        errors["owner"] = "choose an active user"
    cleaned["owner"] = owner
    field_rows = _clean_fields(fields, errors)
    if errors:
        raise ValidationFailed(errors)
    creating = form is None
    form = form or WebForm(created_by=actor)
    before = audit.snapshot(form, FORM_FIELDS)
    for name, value in cleaned.items():
        setattr(form, name, value)
    form.updated_at = timezone.now()
    form.save()
    form.fields.all().delete()
    WebFormField.objects.bulk_create([WebFormField(form=form, position=i, **row) for i, row in enumerate(field_rows)])
    if creating:
        audit.audit_created(actor=actor, instance=form, fields=FORM_FIELDS)
    else:
        changes = audit.changes_between(before, audit.snapshot(form, FORM_FIELDS))
        if changes:
            audit.audit(actor=actor, action=AuditAction.UPDATE, instance=form, changes=changes)
    return form
