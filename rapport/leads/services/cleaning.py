"""Judging a lead's fields: one place, so the web form, the API, capture and the import refuse
the same input for the same reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.people.models import Company
from rapport.people.services import resolve_owner
from rapport.sales import currencies
from rapport.sales.models import ProductCategory

from ..models import Authority, BudgetBand, LeadSource, LeadStatus, PurchaseTimeline

TEXT_LIMITS = {"title": 200, "campaign": 200, "utm_source": 200, "utm_medium": 200, "utm_campaign": 200,
               "utm_term": 200, "utm_content": 200, "need": 10_000}
CHOICES = {"source": LeadSource, "budget_band": BudgetBand, "authority": Authority, "timeline": PurchaseTimeline}
EDITABLE = {*TEXT_LIMITS, *CHOICES, "owner", "company", "budget_amount", "budget_currency", "need_categories",
            "first_touch_at", "status"}
# Through `status` an edit only marks a new lead as being worked on (or back); qualifying,
# converting and dropping have their own services because each has its own rules.
EDITABLE_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING)


def _choice(name: str, value: Any, errors: dict[str, str]) -> str:
    choices = CHOICES[name]
    value = "" if value is None else str(value).strip()
    if value not in choices.values:
        shown = [v for v in choices.values if v]
        errors[name] = f"choose one of: {', '.join(shown)}" + (" (or leave it empty)" if "" in choices.values else "")
    return value


def clean_need_categories(raw: Any, errors: dict[str, str]) -> list[ProductCategory]:
    """Categories of the product catalogue, named by id or by name; every one must exist."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [part for part in (p.strip() for p in raw.replace(";", ",").split(",")) if part]
    if not isinstance(raw, list | tuple):
        errors["need_categories"] = "a list of product category ids or names"
        return []
    found: list[ProductCategory] = []
    missing: list[str] = []
    for item in raw:
        if isinstance(item, ProductCategory):
            found.append(item)
            continue
        if isinstance(item, bool) or not isinstance(item, int | str):
            missing.append(str(item))
            continue
        text = str(item).strip()
        category = None
        if text.isdigit():
            category = ProductCategory.objects.filter(pk=int(text)).first()
        if category is None:
            category = ProductCategory.objects.filter(name__iexact=text).first()
        if category is None:
            missing.append(text)
        elif category not in found:
            found.append(category)
    if missing:
        errors["need_categories"] = f"no such product category: {', '.join(missing)}"
    return found


def _when(value: Any, field: str, errors: dict[str, str]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    when = value
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            errors[field] = "use a date and time such as 2026-11-23T14:30"
            return None
    if not isinstance(when, dt.datetime):
        errors[field] = "use a date and time such as 2026-11-23T14:30"
        return None
    if timezone.is_naive(when):
        when = timezone.make_aware(when, dt.UTC)
    if when > timezone.now() + dt.timedelta(minutes=5):
        errors[field] = "cannot be in the future"
    return when


def clean_lead(actor, data: dict[str, Any], *, instance=None) -> dict[str, Any]:
    """The cleaned values of `data`, or ValidationFailed naming each bad field and why."""
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - EDITABLE - {"team"}}
    if "team" in data:
        errors["team"] = "the team follows the owner; change the owner instead"
    cleaned: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data:
            value = "" if data[name] is None else str(data[name]).strip()
            if len(value) > limit:
                errors[name] = f"at most {limit} characters"
            cleaned[name] = value
    for name in CHOICES:
        if name in data:
            cleaned[name] = _choice(name, data[name], errors)
    if cleaned.get("source") == "":
        errors["source"] = f"choose one of: {', '.join(LeadSource.values)}"
    if "status" in data:
        status = data["status"]
        current = instance.status if instance is not None else LeadStatus.NEW
        if status not in EDITABLE_STATUSES or current not in EDITABLE_STATUSES:
            errors["status"] = ("an edit only moves a lead between new and working; qualify, convert or "
                                "disqualify it with its own action")
        else:
            cleaned["status"] = status
    # Budget: an amount in a currency, or a band (or both). The currency defaults to the base one.
    currency = instance.budget_currency if instance is not None and instance.budget_currency else None
    if "budget_currency" in data and data["budget_currency"] not in (None, ""):
        try:
            currency = currencies.clean_currency(data["budget_currency"], field="budget_currency")
        except ValidationFailed as exc:
            errors.update(exc.errors)
            currency = None
        cleaned["budget_currency"] = currency or ""
    elif "budget_currency" in data:
        cleaned["budget_currency"] = ""
        currency = None
    if "budget_amount" in data:
        raw = data["budget_amount"]
        if raw in (None, ""):
            cleaned["budget_amount"] = None
        elif "budget_currency" not in errors:
            currency = currency or settings.RAPPORT_BASE_CURRENCY
            try:
                cleaned["budget_amount"] = currencies.clean_money(raw, currency, field="budget_amount")
                cleaned["budget_currency"] = currency
            except ValidationFailed as exc:
                errors.update(exc.errors)
    if "need_categories" in data:
        cleaned["need_categories"] = clean_need_categories(data["need_categories"], errors)
    if "company" in data:
        company = data["company"]
        if company not in (None, "") and not isinstance(company, Company):
            from rapport.people import selectors as people

            try:
                company_id = int(company)
            except (TypeError, ValueError):
                company_id = None
                errors["company"] = "must be a company id"
            company = people.company_queryset(actor).filter(pk=company_id).first() if company_id else None
            if company is None:
                errors.setdefault("company", "no such company")
        cleaned["company"] = company or None
    if "first_touch_at" in data:
        when = _when(data["first_touch_at"], "first_touch_at", errors)
        if when is not None:
            cleaned["first_touch_at"] = when
    if "owner" in data:
        if actor is None or not getattr(actor, "pk", None):
            # Capture and other system callers name an owner they already trust (a routing rule's).
            owner = data["owner"]
            if owner is not None and not hasattr(owner, "pk"):
                errors["owner"] = "a system caller must pass the owner itself"
            else:
                from rapport.core.visibility import team_id_for_owner

                cleaned["owner"], cleaned["team_id"] = owner, team_id_for_owner(owner)
        else:
            owner = data["owner"]
            if owner == "":
                owner = None
            elif owner is not None and not hasattr(owner, "pk"):
                try:
                    owner = int(owner)
                except (TypeError, ValueError):
                    errors["owner"] = "must be a user id"
            if "owner" not in errors:
                resolve_owner(actor, {"owner": owner}, errors, cleaned,
                              current_owner_id=instance.owner_id if instance else None)
    if errors:
        raise ValidationFailed(errors)
    return cleaned
