"""Reads of contacts and companies, always narrowed to what the acting user may see."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet, Sum

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import visible_to

from .models import Company, Contact, CustomField, CustomFieldType, LifecycleStage, Tag
from .normalize import InvalidValue, normalize_phone, prefix_range

CONTACT_SORTS = {"-created": "-id", "created": "id", "name": "name_key", "-name": "-name_key",
                 "-updated": "-updated_at", "updated": "updated_at"}
COMPANY_SORTS = {"-created": "-id", "created": "id", "name": "name_key", "-name": "-name_key",
                 "-updated": "-updated_at", "updated": "updated_at"}
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{5,}$")


def contact_queryset(user) -> QuerySet[Contact]:
    """Live (not trashed) contacts the user may see."""
    return visible_to(Contact.objects.filter(deleted_at__isnull=True), user)


def company_queryset(user) -> QuerySet[Company]:
    return visible_to(Company.objects.filter(deleted_at__isnull=True), user)


def trashed_contacts(user) -> QuerySet[Contact]:
    return visible_to(Contact.objects.filter(deleted_at__isnull=False), user).order_by("-deleted_at")


def trashed_companies(user) -> QuerySet[Company]:
    return visible_to(Company.objects.filter(deleted_at__isnull=False), user).order_by("-deleted_at")


def get_contact(user, contact_id: int) -> Contact:
    """The contact, or NotVisible whether it is missing or hidden from this user (both are 404)."""
    contact = contact_queryset(user).select_related("company", "owner", "team").filter(pk=contact_id).first()
    if contact is None:
        raise NotVisible(f"contact {contact_id}")
    return contact


def contact_for_update(user, contact_id: int) -> Contact:
    contact = contact_queryset(user).select_for_update().filter(pk=contact_id).first()
    if contact is None:
        raise NotVisible(f"contact {contact_id}")
    return contact


def get_company(user, company_id: int) -> Company:
    company = company_queryset(user).select_related("owner", "team").filter(pk=company_id).first()
    if company is None:
        raise NotVisible(f"company {company_id}")
    return company


def company_for_update(user, company_id: int) -> Company:
    company = company_queryset(user).select_for_update().filter(pk=company_id).first()
    if company is None:
        raise NotVisible(f"company {company_id}")
    return company


def _search_q(q: str, *, region: str | None = None) -> Q:
    text = q.strip().lower()
    if "@" in text:
        low, high = prefix_range(text)
        return Q(email__gte=low, email__lt=high)
    if PHONE_LIKE.match(text) and sum(c.isdigit() for c in text) >= 5:
        try:
            phone = normalize_phone(text, region)
        except InvalidValue:
            phone = "+" + re.sub(r"\D", "", text)
        low, high = prefix_range(phone)
        return Q(phone__gte=low, phone__lt=high)
    low, high = prefix_range(text)
    return (Q(name_key__gte=low, name_key__lt=high) | Q(last_name_key__gte=low, last_name_key__lt=high)
            | Q(email__gte=low, email__lt=high))


def _company_search_q(q: str) -> Q:
    text = q.strip().lower()
    domain = re.sub(r"^(https?://)?(www\.)?", "", text).split("/")[0]
    low, high = prefix_range(text)
    dlow, dhigh = prefix_range(domain)
    return Q(name_key__gte=low, name_key__lt=high) | Q(domain__gte=dlow, domain__lt=dhigh)


def custom_filters(entity: str, params: dict[str, Any]) -> dict[str, Any]:
    """Filters on custom fields from `cf_<key>` parameters, typed by the field's definition."""
    lookups: dict[str, Any] = {}
    fields = {f.key: f for f in CustomField.objects.filter(entity=entity)}
    for name, raw in params.items():
        if not name.startswith("cf_") or raw in (None, ""):
            continue
        key = name[3:]
        field = fields.get(key)
        if field is None:
            raise ValidationFailed({name: f"'{key}' is not a custom field"})
        value: Any = raw
        if field.field_type == CustomFieldType.BOOLEAN:
            value = str(raw).lower() in {"1", "true", "yes", "on"}
        elif field.field_type == CustomFieldType.NUMBER:
            try:
                value = float(raw)
                value = int(value) if value.is_integer() else value
            except ValueError as exc:
                raise ValidationFailed({name: "must be a number"}) from exc
        lookups[f"custom__{key}"] = value
    return lookups


def filter_contacts(user, params: dict[str, Any]) -> QuerySet[Contact]:
    """Contacts the user may see, narrowed by the list's filters (q, stage, owner, tag, company, cf_*)."""
    qs = contact_queryset(user)
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(_search_q(q))
    stage = params.get("stage")
    if stage:
        if stage not in LifecycleStage.values:
            raise ValidationFailed({"stage": f"choose one of: {', '.join(LifecycleStage.values)}"})
        qs = qs.filter(lifecycle_stage=stage)
    owner = params.get("owner")
    if owner:
        if owner == "me":
            owner = user.pk
        try:
            qs = qs.filter(owner_id=int(owner))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed({"owner": "must be a user id or 'me'"}) from exc
    tag = (params.get("tag") or "").strip().lower()
    if tag:
        qs = qs.filter(tags__name=tag)
    company = params.get("company")
    if company:
        try:
            qs = qs.filter(company_id=int(company))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed({"company": "must be a company id"}) from exc
    lookups = custom_filters("contact", params)
    if lookups:
        qs = qs.filter(**lookups)
    return qs


def list_contacts(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    sort = params.get("sort") or "-created"
    if sort not in CONTACT_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(CONTACT_SORTS)}"})
    qs = filter_contacts(user, params).select_related("company", "owner")
    return keyset_page(qs, order=CONTACT_SORTS[sort], cursor=cursor, size=size)


def filter_companies(user, params: dict[str, Any]) -> QuerySet[Company]:
    qs = company_queryset(user)
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(_company_search_q(q))
    owner = params.get("owner")
    if owner:
        if owner == "me":
            owner = user.pk
        try:
            qs = qs.filter(owner_id=int(owner))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed({"owner": "must be a user id or 'me'"}) from exc
    for field in ("industry", "country", "size_band"):
        if params.get(field):
            qs = qs.filter(**{field: params[field]})
    lookups = custom_filters("company", params)
    if lookups:
        qs = qs.filter(**lookups)
    return qs


def list_companies(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    sort = params.get("sort") or "-created"
    if sort not in COMPANY_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(COMPANY_SORTS)}"})
    qs = filter_companies(user, params).select_related("owner")
    return keyset_page(qs, order=COMPANY_SORTS[sort], cursor=cursor, size=size)


def search_everything(user, q: str, *, limit: int = 8) -> dict[str, list]:
    """The global search box: contacts and companies by name, e-mail, phone or domain."""
    q = (q or "").strip()
    if len(q) < 2:
        return {"contacts": [], "companies": []}
    contacts = list(contact_queryset(user).filter(_search_q(q)).select_related("company")
                    .order_by("name_key", "id")[:limit])
    companies = list(company_queryset(user).filter(_company_search_q(q)).order_by("name_key", "id")[:limit])
    return {"contacts": contacts, "companies": companies}


def contact_tags(contact: Contact) -> list[str]:
    return list(contact.tags.values_list("name", flat=True))


def all_tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def company_contacts(user, company: Company, *, limit: int = 100) -> list[Contact]:
    return list(contact_queryset(user).filter(company=company).order_by("name_key", "id")[:limit])


def minutes_with_contact(contact: Contact) -> int:
    from rapport.timeline.models import Activity

    total = Activity.objects.filter(contact=contact, deleted_at__isnull=True).aggregate(m=Sum("duration_minutes"))
    return int(total["m"] or 0)


def custom_field_definitions(entity: str) -> list[CustomField]:
    return list(CustomField.objects.filter(entity=entity))


def tags_for_contacts(contact_ids: list[int]) -> dict[int, list[str]]:
    """Tag names per contact for one page of a list, in one query."""
    through = Contact.tags.through
    result: dict[int, list[str]] = {}
    for contact_id, name in through.objects.filter(contact_id__in=contact_ids).values_list(
            "contact_id", "tag__name").order_by("tag__name"):
        result.setdefault(contact_id, []).append(name)
    return result


def search_companies(user, q: str, *, limit: int = 10) -> list[Company]:
    return list(company_queryset(user).filter(_company_search_q(q)).order_by("name_key", "id")[:limit])


def stage_counts(user) -> list[tuple[str, str, int]]:
    """(stage, label, count) of the contacts the user may see, in lifecycle order."""
    from django.db.models import Count

    counts = dict(contact_queryset(user).order_by().values_list("lifecycle_stage").annotate(n=Count("id")))
    return [(s.value, s.label, counts.get(s.value, 0)) for s in LifecycleStage]
