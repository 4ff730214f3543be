"""Reads of meetings, e-mail templates, calendar feeds and mail preferences, narrowed to what
the acting user may see.

A meeting is seen by whoever sees its organiser's records (the organiser plays the owner's
part in `visible_to`) and by every colleague invited to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import is_admin, profile_of, visible_to

from .. import ical
from ..models import (
    CalendarFeedToken,
    EmailTemplate,
    MailPreferences,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    SentEmail,
    TemplateSharing,
)

# The feed carries a month of history and a year ahead: enough for any calendar view people
# use, and a bounded document however long someone has used Rapport.
FEED_PAST = dt.timedelta(days=31)
FEED_AHEAD = dt.timedelta(days=366)
FEED_MAX_ROWS = 2000


def _attendees_prefetch() -> Prefetch:
    return Prefetch("attendees", queryset=MeetingAttendee.objects.order_by("id"))


def meeting_queryset(user) -> QuerySet[Meeting]:
    """Live meetings the user may see: by the organiser's visibility, or as an invited colleague."""
    live = Meeting.objects.filter(deleted_at__isnull=True)
    invited = MeetingAttendee.objects.filter(user_id=user.pk).values("meeting_id")
    return live.filter(Q(pk__in=visible_to(live, user, owner_field="organiser").values("pk")) | Q(pk__in=invited))


def get_meeting(user, meeting_id: int) -> Meeting:
    """The meeting, or NotVisible whether it is missing or hidden (both are 404)."""
    meeting = (meeting_queryset(user).select_related("organiser", "contact", "company", "deal")
               .prefetch_related(_attendees_prefetch()).filter(pk=meeting_id).first())
    if meeting is None:
        raise NotVisible(f"meeting {meeting_id}")
    return meeting


def _moment(params: dict[str, Any], name: str) -> dt.datetime | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed({name: "use a date and time such as 2026-11-24T09:00"}) from exc
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def filter_meetings(queryset: QuerySet[Meeting], params: dict[str, Any]) -> QuerySet[Meeting]:
    """Narrow by status, related contact/company/deal, organiser and a start window."""
    status = params.get("status")
    if status:
        if status not in MeetingStatus.values:
            raise ValidationFailed({"status": f"choose one of: {', '.join(MeetingStatus.values)}"})
        queryset = queryset.filter(status=status)
    for name in ("contact", "company", "deal", "organiser"):
        value = params.get(name)
        if value not in (None, ""):
            try:
                queryset = queryset.filter(**{f"{name}_id": int(value)})
            except (TypeError, ValueError) as exc:
                raise ValidationFailed({name: "must be a whole number"}) from exc
    since, until = _moment(params, "starts_after"), _moment(params, "starts_before")
    if since is not None:
        queryset = queryset.filter(starts_at__gte=since)
    if until is not None:
        queryset = queryset.filter(starts_at__lt=until)
    return queryset


def list_meetings(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    """Meetings the user may see, soonest first (or latest first with sort=-start)."""
    order = "-starts_at" if params.get("sort") == "-start" else "starts_at"
    if params.get("sort") not in (None, "", "start", "-start"):
        raise ValidationFailed({"sort": "choose start or -start"})
    queryset = filter_meetings(meeting_queryset(user), params).select_related("organiser", "contact", "deal")
    page = keyset_page(queryset.prefetch_related(_attendees_prefetch()), order=order, cursor=cursor, size=size)
    return page


def meetings_about(user, *, contact=None, deal=None, limit: int = 10) -> list[Meeting]:
    """Scheduled meetings about a record, for its page: upcoming first, then those awaiting an outcome."""
    queryset = meeting_queryset(user).filter(status=MeetingStatus.SCHEDULED)
    if contact is not None:
        queryset = queryset.filter(Q(contact=contact) | Q(attendees__contact=contact)).distinct()
    elif deal is not None:
        queryset = queryset.filter(deal=deal)
    else:
        return []
    return list(queryset.select_related("organiser").order_by("starts_at", "id")[:limit])


def _day_bounds(user, day: dt.date) -> tuple[dt.datetime, dt.datetime, dt.tzinfo]:
    zone = ical.zone_of(profile_of(user).time_zone)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone), zone


def own_meetings(user) -> QuerySet[Meeting]:
    """Meetings in the user's own calendar: those they organise and those they are invited to."""
    invited = MeetingAttendee.objects.filter(user_id=user.pk).values("meeting_id")
    return Meeting.objects.filter(Q(organiser_id=user.pk) | Q(pk__in=invited), deleted_at__isnull=True)


def meetings_on(user, day: dt.date) -> list[Meeting]:
    """The user's scheduled and held meetings that start on `day` in their time zone."""
    start, end, _ = _day_bounds(user, day)
    return list(own_meetings(user).filter(starts_at__gte=start, starts_at__lt=end)
                .exclude(status=MeetingStatus.CANCELLED)
                .select_related("contact", "company", "deal", "organiser").order_by("starts_at", "id"))


def awaiting_outcome(user, *, limit: int = 20) -> list[Meeting]:
    """Meetings the user organised that have ended without an outcome: Rapport asks for one."""
    return list(Meeting.objects.filter(organiser_id=user.pk, deleted_at__isnull=True, status=MeetingStatus.SCHEDULED,
                                       ends_at__lte=timezone.now(), outcome_recorded_at__isnull=True)
                .select_related("contact", "company", "deal").order_by("-ends_at", "-id")[:limit])


def emails_of(meeting: Meeting) -> list[SentEmail]:
    return list(SentEmail.objects.filter(meeting=meeting).order_by("-sent_at", "-id")[:100])


# --- e-mail templates -----------------------------------------------------------------------

def template_queryset(user) -> QuerySet[EmailTemplate]:
    """The user's own templates and those their team shares (admins see every template)."""
    live = EmailTemplate.objects.filter(deleted_at__isnull=True)
    if is_admin(user):
        return live
    team_id = profile_of(user).team_id
    shared = Q(sharing=TemplateSharing.TEAM, team_id=team_id) if team_id else Q(pk__in=[])
    return live.filter(Q(owner_id=user.pk) | shared)


def get_template(user, template_id: int) -> EmailTemplate:
    template = template_queryset(user).select_related("owner").filter(pk=template_id).first()
    if template is None:
        raise NotVisible(f"template {template_id}")
    return template


def list_templates(user, *, cursor: str | None = None, size: int = 50) -> Page:
    return keyset_page(template_queryset(user).select_related("owner"), order="name", cursor=cursor, size=size)


def contact_emails(user, contact, *, limit: int = 20) -> list[SentEmail]:
    """Messages sent to a contact the caller fetched through a selector taking `user`."""
    return list(SentEmail.objects.filter(contact=contact).order_by("-sent_at", "-id")[:limit])


# --- calendar feed and preferences ----------------------------------------------------------

def hash_feed_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def feed_token(raw: str) -> CalendarFeedToken | None:
    """The token row for a secret from a feed URL, live or revoked (the view tells them apart)."""
    if not raw or len(raw) > 100:
        return None
    return (CalendarFeedToken.objects.select_related("user").filter(token_hash=hash_feed_secret(raw)).first())


def feed_tokens_of(user) -> list[CalendarFeedToken]:
    return list(CalendarFeedToken.objects.filter(user=user).order_by("-created_at", "-id")[:20])


def feed_meetings(user) -> tuple[list[Meeting], dict[int, list[MeetingAttendee]]]:
    now = timezone.now()
    meetings = list(own_meetings(user).filter(starts_at__gte=now - FEED_PAST, starts_at__lt=now + FEED_AHEAD)
                    .select_related("organiser").order_by("starts_at", "id")[:FEED_MAX_ROWS])
    attendees: dict[int, list[MeetingAttendee]] = {}
    for attendee in MeetingAttendee.objects.filter(meeting_id__in=[m.pk for m in meetings]).order_by("id"):
        attendees.setdefault(attendee.meeting_id, []).append(attendee)
    return meetings, attendees


def feed_tasks(user) -> list[ical.FeedTask]:
    """The user's open tasks with a due date, as the feed shows them (read through the tasks
    part's selector, so the same visibility rules apply)."""
    try:
        from ..models import Task, TaskStatus
        from . import tasks as task_selectors
    except ImportError:
        return []
    now = timezone.now()
    zone = ical.zone_of(profile_of(user).time_zone)
    rows = (task_selectors.task_queryset(user).filter(assignee_id=user.pk, status=TaskStatus.OPEN,
                                                      due_at__isnull=False, due_at__lt=now + FEED_AHEAD)
            .order_by("due_at", "id")[:FEED_MAX_ROWS])
    found = []
    for task in rows:
        task: Task
        due = task.due_at.astimezone(zone)
        found.append(ical.FeedTask(uid=f"task-{task.pk}@rapport", title=task.title, due=due.date(),
                                   description=task.notes or task.reason))
    return found


def mail_preferences(user) -> MailPreferences:
    """The user's preferences; both reminders and the digest are on until they opt out."""
    found = MailPreferences.objects.filter(user=user).first()
    return found or MailPreferences(user=user)


# --- the agenda -------------------------------------------------------------------------------

def _value_at_risk(meeting: Meeting):
    """A meeting about a deal puts the deal's weighted amount at stake (amount × chance)."""
    from decimal import Decimal

    deal = meeting.deal
    if deal is None or deal.status != "open":
        return Decimal(0), ""
    return deal.amount * Decimal(deal.effective_probability) / 100, deal.currency


def _about(meeting: Meeting) -> tuple[str, str]:
    if meeting.deal_id:
        return meeting.deal.name, f"/deals/{meeting.deal_id}/"
    if meeting.contact_id:
        return str(meeting.contact), f"/contacts/{meeting.contact_id}/"
    if meeting.company_id:
        return meeting.company.name, f"/companies/{meeting.company_id}/"
    return "", ""


def agenda_lines(user, day: dt.date) -> list[dict[str, Any]]:
    """The user's meetings on `day` (their time zone) and the meetings that ended without an
    outcome, as lines of the Today agenda (`rapport.assistant.selectors.agenda` merges them).

    Each line is a dict:
      kind            "meeting" or "meeting_outcome" (a past meeting waiting for its notes)
      title           what the line says
      reason          why it is on the agenda today
      at              when (the meeting's start; for outcome prompts its end)
      value_at_risk   Decimal: the related open deal's weighted amount, else 0
      currency        the value's currency ("" when 0)
      record_label, record_url   the contact/deal/company it is about ("" when none)
      url             the meeting's page (the outcome form for a prompt)
      actions         [(label, url)], GET links, the first being the main one
      meeting         the Meeting itself
    Three queries whatever the number of meetings.
    """
    zone = ical.zone_of(profile_of(user).time_zone)
    lines: list[dict[str, Any]] = []
    prompts = awaiting_outcome(user, limit=20)
    prompt_ids = {m.pk for m in prompts}
    deals = [m.deal for m in prompts if m.deal_id]
    todays = [m for m in meetings_on(user, day) if m.pk not in prompt_ids]
    deals += [m.deal for m in todays if m.deal_id]
    _attach_stages(deals)
    for meeting in todays:
        value, currency = _value_at_risk(meeting)
        label, record_url = _about(meeting)
        start = meeting.starts_at.astimezone(zone)
        held = meeting.status == MeetingStatus.DONE
        invited = meeting.organiser_id != user.pk
        reason = (f"Meeting at {start:%H:%M}" + (f" with {label}" if label else "")
                  + (f", organised by {meeting.organiser.get_full_name() or meeting.organiser.username}"
                     if invited else "") + (" (held)" if held else ""))
        lines.append({"kind": "meeting", "title": meeting.title, "reason": reason, "at": meeting.starts_at,
                      "value_at_risk": value, "currency": currency, "record_label": label,
                      "record_url": record_url, "url": f"/meetings/{meeting.pk}/",
                      "actions": [("Open meeting", f"/meetings/{meeting.pk}/")]
                      + ([("Change", f"/meetings/{meeting.pk}/edit/")] if not held and not invited else [])
                      + ([("Open record", record_url)] if record_url else []),
                      "meeting": meeting})
    for meeting in prompts:
        value, currency = _value_at_risk(meeting)
        label, record_url = _about(meeting)
        lines.append({"kind": "meeting_outcome", "title": f"How did “{meeting.title}” go?",
                      "reason": f"The meeting ended {meeting.ends_at.astimezone(zone):%d %b %H:%M}; "
                                "record a short note and the next step",
                      "at": meeting.ends_at, "value_at_risk": value, "currency": currency,
                      "record_label": label, "record_url": record_url,
                      "url": f"/meetings/{meeting.pk}/outcome/",
                      "actions": [("Record outcome", f"/meetings/{meeting.pk}/outcome/")]
                      + ([("Open record", record_url)] if record_url else []),
                      "meeting": meeting})
    return lines


def _attach_stages(deals: list) -> None:
    """Load the stages the deals' probabilities default to, in one query."""
    from rapport.sales.models import Stage

    missing = {d.stage_id for d in deals if d is not None and d.probability is None}
    if not missing:
        return
    stages = {s.pk: s for s in Stage.objects.filter(pk__in=missing)}
    for deal in deals:
        if deal is not None and deal.stage_id in stages:
            deal.stage = stages[deal.stage_id]
