"""Reads of the timeline, narrowed to records the user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import visible_to
from rapport.people import selectors as people

from .models import Activity, Event, EventKind


def _kind_filter(qs: QuerySet, kind: str | None) -> QuerySet:
    if kind:
        if kind not in EventKind.values:
            raise ValidationFailed({"kind": f"choose one of: {', '.join(EventKind.values)}"})
        qs = qs.filter(kind=kind)
    return qs


def _live(qs: QuerySet) -> QuerySet:
    # Events of a deleted activity leave the timeline with it (and come back on restore).
    return qs.filter(Q(activity__isnull=True) | Q(activity__deleted_at__isnull=True))


def contact_timeline(user, contact_id: int, *, kind: str | None = None, cursor: str | None = None,
                     size: int = 50) -> Page:
    contact = people.get_contact(user, contact_id)
    qs = _live(_kind_filter(Event.objects.filter(contact=contact), kind)).select_related("actor", "activity")
    return keyset_page(qs, order="-occurred_at", cursor=cursor, size=size)


def company_timeline(user, company_id: int, *, kind: str | None = None, cursor: str | None = None,
                     size: int = 50) -> Page:
    company = people.get_company(user, company_id)
    qs = _live(_kind_filter(Event.objects.filter(company=company), kind)).select_related("actor", "contact", "activity")
    return keyset_page(qs, order="-occurred_at", cursor=cursor, size=size)


def visible_events(user) -> QuerySet[Event]:
    """Events of contacts or companies the user may see (for the API's event list)."""
    contacts = people.contact_queryset(user).values("pk")
    companies = people.company_queryset(user).values("pk")
    return Event.objects.filter(Q(contact__in=contacts) | Q(contact__isnull=True, company__in=companies))


def activity_queryset(user) -> QuerySet[Activity]:
    return visible_to(Activity.objects.filter(deleted_at__isnull=True), user).select_related("contact", "company")


def get_activity(user, activity_id: int) -> Activity:
    """An activity on a contact/company the user may see (or their own)."""
    activity = Activity.objects.filter(pk=activity_id, deleted_at__isnull=True).select_related(
        "contact", "company").first()
    if activity is None:
        raise NotVisible(f"activity {activity_id}")
    if activity.contact_id and people.contact_queryset(user).filter(pk=activity.contact_id).exists():
        return activity
    if activity.company_id and people.company_queryset(user).filter(pk=activity.company_id).exists():
        return activity
    raise NotVisible(f"activity {activity_id}")


def minutes_logged_by(user, *, days: int = 30) -> int:
    """Minutes the user spent with customers in the last `days` days."""
    import datetime as dt

    from django.db.models import Sum
    from django.utils import timezone

    since = timezone.now() - dt.timedelta(days=days)
    total = Activity.objects.filter(owner=user, deleted_at__isnull=True, occurred_at__gte=since).aggregate(
        m=Sum("duration_minutes"))
    return int(total["m"] or 0)


def recent_activities_by(user, *, limit: int = 8) -> list[Activity]:
    return list(Activity.objects.filter(owner=user, deleted_at__isnull=True).select_related("contact", "company")
                .order_by("-occurred_at")[:limit])
