"""Writing to the timeline: events (append-only) and the activities people log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin, profile_of, team_id_for_owner

from .models import ACTIVITY_KINDS, Activity, CallOutcome, Direction, Event, EventKind

ACTIVITY_FIELDS = ["kind", "occurred_at", "contact", "company", "owner", "subject", "body",
                   "duration_minutes", "outcome", "direction", "attendees"]
MAX_MINUTES = 24 * 60


def record_event(*, kind: str, contact=None, company=None, actor=None, summary: str = "",
                 payload: dict[str, Any] | None = None, occurred_at: dt.datetime | None = None,
                 activity: Activity | None = None, deal=None) -> Event:
    """Append one event. Contact events also carry the contact's company, so a company's
    timeline is one indexed read."""
    if kind not in EventKind.values:
        raise ValueError(f"unknown event kind {kind!r}")
    if company is None and contact is not None:
        company = getattr(contact, "company", None)
    return Event.objects.create(
        kind=kind, contact=contact, company=company, actor=actor if getattr(actor, "pk", None) else None,
        summary=summary[:300], payload=payload or {}, occurred_at=occurred_at or timezone.now(),
        activity=activity, deal=deal,
    )


def _clean_activity(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    allowed = {"kind", "occurred_at", "subject", "body", "duration_minutes", "outcome", "direction", "attendees"}
    errors = {name: "unknown field" for name in set(data) - allowed}
    cleaned: dict[str, Any] = {}
    kind = data.get("kind")
    if creating:
        if kind not in [k.value for k in ACTIVITY_KINDS]:
            errors["kind"] = "choose note, call, meeting or email"
        cleaned["kind"] = kind
    elif "kind" in data:
        errors["kind"] = "the kind of a logged activity cannot change"
    if "occurred_at" in data and data["occurred_at"] not in (None, ""):
        when = data["occurred_at"]
        if isinstance(when, str):
            try:
                when = dt.datetime.fromisoformat(when)
            except ValueError:
                errors["occurred_at"] = "use a date and time such as 2026-11-23T14:30"
                when = None
        if isinstance(when, dt.datetime):
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
            if when > timezone.now() + dt.timedelta(days=1):
                errors["occurred_at"] = "a logged activity cannot be in the future"
            cleaned["occurred_at"] = when
    for name, limit in (("subject", 200), ("body", 20000)):
        if name in data:
            value = (data[name] or "").strip()
            if len(value) > limit:
                errors[name] = f"at most {limit} characters"
            cleaned[name] = value
    if "duration_minutes" in data and data["duration_minutes"] not in (None, ""):
        try:
            minutes = int(data["duration_minutes"])
            if minutes < 0 or minutes > MAX_MINUTES:
                raise ValueError
            cleaned["duration_minutes"] = minutes
        except (TypeError, ValueError):
            errors["duration_minutes"] = f"a whole number of minutes from 0 to {MAX_MINUTES}"
    if data.get("outcome"):
        if data["outcome"] not in CallOutcome.values:
            errors["outcome"] = f"choose one of: {', '.join(CallOutcome.values)}"
        cleaned["outcome"] = data["outcome"]
    if data.get("direction"):
        if data["direction"] not in Direction.values:
            errors["direction"] = "choose inbound or outbound"
        cleaned["direction"] = data["direction"]
    if "attendees" in data:
        attendees = data["attendees"] or []
        if isinstance(attendees, str):
            attendees = [a.strip() for a in attendees.split(",")]
        cleaned["attendees"] = [str(a)[:200] for a in attendees if str(a).strip()]
    effective_kind = cleaned.get("kind")
    if creating and effective_kind == "note" and not cleaned.get("body"):
        errors["body"] = "write the note"
    if creating and effective_kind == "email" and not cleaned.get("subject"):
        errors["subject"] = "an e-mail needs a subject"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _summary(activity: Activity) -> str:
    label = activity.get_kind_display()
    text = activity.subject or activity.body
    minutes = f" ({activity.duration_minutes} min)" if activity.duration_minutes else ""
    return f"{label}{minutes}: {text}"[:300] if text else f"{label}{minutes}"


@transaction.atomic
def log_activity(*, actor, data: dict[str, Any], contact=None, company=None, deal=None,
                 source: str = "web") -> Activity:
    """Log a note, call, meeting or e-mail against a contact, company or deal the actor can see.

    The caller fetched `contact`/`company`/`deal` through a selector that takes the actor. A
    deal's activities carry its minutes into the deal's cost of sales.
    """
    if contact is None and company is None and deal is None:
        raise ValidationFailed({"contact": "log an activity against a contact, a company or a deal"})
    cleaned = _clean_activity(data, creating=True)
    if company is None and contact is not None:
        company = contact.company
    if company is None and deal is not None:
        company = deal.company
    activity = Activity.objects.create(
        created_by=actor, owner=actor, team_id=team_id_for_owner(actor), contact=contact, company=company,
        deal=deal, **cleaned,
    )
    audit.audit_created(actor=actor, instance=activity, fields=ACTIVITY_FIELDS, source=source)
    record_event(
        kind=activity.kind, contact=contact, company=company, actor=actor, summary=_summary(activity),
        occurred_at=activity.occurred_at, activity=activity, deal=deal,
        payload={k: v for k, v in {"minutes": activity.duration_minutes, "outcome": activity.outcome,
                                   "direction": activity.direction}.items() if v},
    )
    if contact is not None and activity.kind != "note":
        # A call, e-mail or meeting answers the contact's open leads (their first-response clock).
        from rapport.leads.routing import record_first_response

        record_first_response(contact=contact, kind=activity.kind, occurred_at=activity.occurred_at, actor=actor)
    return activity


def check_may_change_activity(actor, activity: Activity) -> None:
    """Only the person who logged an activity, their team's manager or an admin may change it.

    Seeing a contact's timeline is not enough to rewrite a colleague's logged call: the minutes
    in it count towards that colleague's time with customers.
    """
    if activity.owner_id == actor.pk or is_admin(actor):
        return
    profile = profile_of(actor)
    if profile.role == "manager" and profile.team_id is not None and profile.team_id == activity.team_id:
        return
    raise NotAllowed("only the person who logged this activity (or their manager) may change it")


@transaction.atomic
def update_activity(*, actor, activity: Activity, data: dict[str, Any], source: str = "web") -> Activity:
    """Change a logged activity (the caller fetched it with a selector taking the actor)."""
    check_may_change_activity(actor, activity)
    cleaned = _clean_activity(data, creating=False)
    before = audit.snapshot(activity, ACTIVITY_FIELDS)
    for name, value in cleaned.items():
        setattr(activity, name, value)
    activity.updated_at = timezone.now()
    activity.save()
    changes = audit.changes_between(before, audit.snapshot(activity, ACTIVITY_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=activity, changes=changes, source=source)
        Event.objects.filter(activity=activity).update(summary=_summary(activity), occurred_at=activity.occurred_at)
    return activity


@transaction.atomic
def delete_activity(*, actor, activity: Activity, source: str = "web") -> Activity:
    check_may_change_activity(actor, activity)
    activity.deleted_at = timezone.now()
    activity.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=activity, source=source)
    return activity
