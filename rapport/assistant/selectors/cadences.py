"""Reads of cadences and enrolments.

Cadences hold no customer data and serve every team, so everyone reads them. An enrolment
names a contact, so a user sees only the enrolments of contacts they may see: the same rule
as the contact page, through the people selector.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page

from ..models import Cadence, CadenceEnrolment, CadenceStep, EnrolmentStatus

# Enough for a select box; a company with more live cadences has a naming problem.
MAX_ENROLLABLE = 200


def cadence_queryset(user) -> QuerySet[Cadence]:
    """Live (not trashed) cadences: every signed-in user may read them."""
    return Cadence.objects.filter(deleted_at__isnull=True)


def get_cadence(user, cadence_id: int) -> Cadence:
    cadence = cadence_queryset(user).select_related("created_by").filter(pk=cadence_id).first()
    if cadence is None:
        raise NotVisible(f"cadence {cadence_id}")
    return cadence


def steps_of(cadence: Cadence) -> list[CadenceStep]:
    return list(cadence.steps.order_by("position"))


def enrolment_queryset(user) -> QuerySet[CadenceEnrolment]:
    """Enrolments of contacts the user may see."""
    from rapport.people.selectors import contact_queryset

    return CadenceEnrolment.objects.filter(contact__in=contact_queryset(user).values("pk"))


def list_cadences(user, *, cursor: str | None = None, size: int = 50) -> Page:
    """Cadences by name, each with its number of steps (`step_count`) and of active enrolments
    the user may see (`active_count`): two queries whatever the page holds."""
    queryset = cadence_queryset(user).select_related("created_by").annotate(step_count=Count("steps"))
    page = keyset_page(queryset, order="name", cursor=cursor, size=size)
    ids = [c.pk for c in page.items]
    counts = {row["cadence_id"]: row["n"] for row in
              enrolment_queryset(user).filter(cadence_id__in=ids, status=EnrolmentStatus.ACTIVE)
              .order_by().values("cadence_id").annotate(n=Count("id"))}
    for cadence in page.items:
        cadence.active_count = counts.get(cadence.pk, 0)
    return page


def cadence_enrolments(user, cadence: Cadence, *, status: str = "", cursor: str | None = None,
                       size: int = 50) -> Page:
    """The cadence's enrolments the user may see, newest first, optionally of one status."""
    queryset = enrolment_queryset(user).filter(cadence=cadence)
    if status:
        if status not in EnrolmentStatus.values:
            raise ValidationFailed({"status": f"choose one of: {', '.join(EnrolmentStatus.values)}"})
        queryset = queryset.filter(status=status)
    queryset = queryset.select_related("contact", "owner")
    return keyset_page(queryset, order="-id", cursor=cursor, size=size)


def get_enrolment(user, enrolment_id: int) -> CadenceEnrolment:
    enrolment = (enrolment_queryset(user).select_related("cadence", "contact").filter(pk=enrolment_id).first())
    if enrolment is None:
        raise NotVisible(f"enrolment {enrolment_id}")
    return enrolment


def contact_enrolments(contact, *, limit: int = 20) -> list[CadenceEnrolment]:
    """The enrolments of a contact the caller fetched with a selector taking the user, newest
    first, each with its cadence's `step_count`."""
    enrolments = list(CadenceEnrolment.objects.filter(contact=contact).select_related("cadence", "owner")
                      .order_by("-enrolled_at", "-id")[:limit])
    counts = {row["cadence_id"]: row["n"] for row in
              CadenceStep.objects.filter(cadence_id__in={e.cadence_id for e in enrolments})
              .order_by().values("cadence_id").annotate(n=Count("id"))}
    for enrolment in enrolments:
        enrolment.step_count = counts.get(enrolment.cadence_id, 0)
    return enrolments


def enrollable_cadences(user) -> list[Cadence]:
    """Switched-on cadences with at least one step, by name: what a contact can be enrolled in."""
    return list(cadence_queryset(user).filter(active=True, steps__isnull=False).distinct()
                .order_by("name", "id")[:MAX_ENROLLABLE])
