"""Meetings: schedule, change and cancel (each sending iCalendar e-mail to the attendees), and
record the outcome afterwards, which lands on the timeline and can make a follow-up task.

Callers fetch the meeting through `selectors.meetings.get_meeting(actor, id)`, which enforces
visibility; these functions then check that the actor may change it.
"""

from __future__ import annotations

import datetime as dt
from email.utils import formataddr
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin, profile_of, team_id_for_owner
from rapport.timeline.services import record_event

from .. import ical
from ..models import MailKind, Meeting, MeetingAttendee, MeetingStatus, SentEmail
from . import mail
from .meeting_input import clean_meeting

MEETING_FIELDS = ["title", "starts_at", "ends_at", "time_zone", "organiser", "location", "video_url", "agenda",
                  "contact", "company", "deal", "sequence", "status", "outcome_note", "next_step"]
# What the attendees' calendars show: a change to any of these is sent as an update.
INVITATION_FIELDS = {"title", "starts_at", "ends_at", "time_zone", "location", "video_url", "agenda"}


def local_time(meeting: Meeting) -> str:
    start = meeting.starts_at.astimezone(ical.zone_of(meeting.time_zone))
    return f"{start:%a} {start.day} {start:%b %Y %H:%M} ({meeting.time_zone})"


def check_may_change(actor, meeting: Meeting) -> None:
    """The organiser changes a meeting; so may an admin, or the manager of the organiser's team."""
    if meeting.organiser_id == actor.pk or is_admin(actor):
        return
    profile = profile_of(actor)
    if profile.role == "manager" and profile.team_id is not None and profile.team_id == meeting.team_id:
        return
    raise NotAllowed("only the organiser (or their manager) may change this meeting")


def _timeline(meeting: Meeting, *, actor, summary: str, payload: dict[str, Any]) -> None:
    if meeting.contact_id is None and meeting.company_id is None and meeting.deal_id is None:
        return
    company = meeting.company or (meeting.deal.company if meeting.deal_id else None)
    record_event(kind="meeting", contact=meeting.contact, company=company, deal=meeting.deal, actor=actor,
                 summary=summary, payload={"meeting": meeting.pk, "starts_at": meeting.starts_at.isoformat(),
                                           **payload})


def _save_attendees(meeting: Meeting, wanted: list[dict[str, Any]]) -> tuple[list[MeetingAttendee], list[MeetingAttendee]]:
    """Make the attendee list `wanted`; returns (current attendees, those taken off)."""
    existing = {a.email.lower(): a for a in meeting.attendees.all()}
    keep, removed = [], []
    wanted_keys = {a["email"].lower() for a in wanted}
    for key, attendee in existing.items():
        if key not in wanted_keys:
            removed.append(attendee)
    if removed:
        MeetingAttendee.objects.filter(pk__in=[a.pk for a in removed]).delete()
    for item in wanted:
        attendee = existing.get(item["email"].lower())
        if attendee is None:
            attendee = MeetingAttendee.objects.create(meeting=meeting, contact=item["contact"], user=item["user"],
                                                      name=item["name"][:200], email=item["email"])
        keep.append(attendee)
    return keep, removed


def _calendar_mail(meeting: Meeting, attendees: list[MeetingAttendee], *, kind: str,
                   only: list[MeetingAttendee] | None = None) -> list[SentEmail]:
    """One message per recipient over one SMTP connection. The document lists every attendee
    (calendars show who else is coming); a cancellation to people taken off lists only them."""
    method = "REQUEST" if kind in (MailKind.INVITATION, MailKind.UPDATE) else "CANCEL"
    recipients = only if only is not None else attendees
    if not recipients:
        return []
    listed = recipients if only is not None else attendees
    ics = ical.invitation(meeting, listed) if method == "REQUEST" else ical.cancellation(meeting, listed)
    organiser = meeting.organiser
    prefix = {MailKind.INVITATION: "Invitation", MailKind.UPDATE: "Updated invitation",
              MailKind.CANCELLATION: "Cancelled"}[kind]
    subject = f"{prefix}: {meeting.title} @ {local_time(meeting)}"
    lines = [f"{mail.display_name(organiser)} {'cancelled' if method == 'CANCEL' else 'invites you to'}: "
             f"{meeting.title}", f"When: {local_time(meeting)}, {meeting.duration_minutes} minutes"]
    if meeting.location:
        lines.append(f"Where: {meeting.location}")
    if meeting.video_url:
        lines.append(f"Video: {meeting.video_url}")
    if meeting.agenda and method == "REQUEST":
        lines += ["", "Agenda:", meeting.agenda]
    body = "\n".join(lines) + "\n"
    sent = []
    connection = mail.open_connection()
    try:
        for attendee in recipients:
            message = mail.CalendarMessage(
                method=method, ics=ics, subject=subject, body=body, from_email=mail.from_address(organiser),
                to=[formataddr((attendee.name, attendee.email))], reply_to=mail.reply_to(organiser),
                connection=connection)
            sent.append(mail.deliver(message, kind=kind, body=body, sender=organiser, meeting=meeting,
                                     contact=attendee.contact, recipient_user=attendee.user))
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not hide what was logged
            pass
    return sent


def schedule_meeting(*, actor, data: dict[str, Any], source: str = "web") -> Meeting:
    """Create the meeting with the actor as organiser, put it on the related contact's or deal's
    timeline, and e-mail each attendee an invitation (METHOD:REQUEST, sequence 0).

    The meeting stands even if the mail server refuses a message: `meeting.deliveries` lists
    each attempt so the caller can say which invitations did not go."""
    with transaction.atomic():
        cleaned = clean_meeting(actor, data)
        attendees = cleaned.pop("attendees")
        meeting = Meeting.objects.create(created_by=actor, organiser=actor, team_id=team_id_for_owner(actor), **cleaned)
        current, _ = _save_attendees(meeting, attendees)
        audit.audit_created(actor=actor, instance=meeting, fields=MEETING_FIELDS, source=source)
        _timeline(meeting, actor=actor, summary=f"Meeting scheduled: {meeting.title}, {local_time(meeting)}",
                  payload={"status": "scheduled"})
        _touch_deal(meeting)
    meeting.deliveries = _calendar_mail(meeting, current, kind=MailKind.INVITATION)
    return meeting


def _touch_deal(meeting: Meeting) -> None:
    # A booked meeting is activity: the deal is no longer stalled.
    if meeting.deal_id:
        from rapport.sales.models import Deal

        Deal.objects.filter(pk=meeting.deal_id, last_activity_at__lt=timezone.now()).update(
            last_activity_at=timezone.now())


def _check_open(meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationFailed({"status": "this meeting was cancelled; schedule a new one instead"})
    if meeting.status == MeetingStatus.DONE:
        raise ValidationFailed({"status": "this meeting is over and its outcome is recorded"})


def update_meeting(*, actor, meeting: Meeting, data: dict[str, Any], source: str = "web") -> Meeting:
    """Change a scheduled meeting. When anything the attendees' calendars show changes, the
    sequence goes up and everyone gets the update (same UID); people taken off get a
    cancellation. A change that changes nothing sends nothing."""
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update(of=("self",)).select_related("organiser", "contact", "deal").get(pk=meeting.pk)
        check_may_change(actor, meeting)
        _check_open(meeting)
        cleaned = clean_meeting(actor, data, instance=meeting)
        attendees = cleaned.pop("attendees", None)
        before = audit.snapshot(meeting, MEETING_FIELDS)
        old_emails = {a.email.lower() for a in meeting.attendees.all()}
        for name, value in cleaned.items():
            setattr(meeting, name, value)
        removed: list[MeetingAttendee] = []
        if attendees is not None:
            current, removed = _save_attendees(meeting, attendees)
        else:
            current = list(meeting.attendees.all())
        changes = audit.changes_between(before, audit.snapshot(meeting, MEETING_FIELDS))
        attendees_changed = old_emails != {a.email.lower() for a in current}
        resend = bool(changes.keys() & INVITATION_FIELDS) or attendees_changed
        if resend:
            meeting.sequence += 1
            changes["sequence"] = [meeting.sequence - 1, meeting.sequence]
        if changes or attendees_changed:
            meeting.updated_at = timezone.now()
            meeting.save()
            if attendees_changed:
                changes["attendees"] = [sorted(old_emails), sorted(a.email for a in current)]
            audit.audit(actor=actor, action=AuditAction.UPDATE, instance=meeting, changes=changes, source=source)
            _timeline(meeting, actor=actor, summary=f"Meeting changed: {meeting.title}, {local_time(meeting)}",
                      payload={"status": "changed", "sequence": meeting.sequence})
    deliveries = []
    if resend:
        deliveries += _calendar_mail(meeting, current, kind=MailKind.UPDATE)
        deliveries += _calendar_mail(meeting, current, kind=MailKind.CANCELLATION, only=removed)
    meeting.deliveries = deliveries
    return meeting


def cancel_meeting(*, actor, meeting: Meeting, reason: str = "", source: str = "web") -> Meeting:
    """Call the meeting off: a higher sequence and METHOD:CANCEL to every attendee."""
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update(of=("self",)).select_related("organiser", "contact", "deal").get(pk=meeting.pk)
        check_may_change(actor, meeting)
        _check_open(meeting)
        reason = (reason or "").strip()
        if len(reason) > 300:
            raise ValidationFailed({"reason": "at most 300 characters"})
        meeting.status = MeetingStatus.CANCELLED
        meeting.sequence += 1
        meeting.updated_at = timezone.now()
        meeting.save()
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=meeting, source=source,
                    changes={"status": [MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED],
                             "sequence": [meeting.sequence - 1, meeting.sequence],
                             **({"reason": [None, reason]} if reason else {})})
        _timeline(meeting, actor=actor, summary=f"Meeting cancelled: {meeting.title}"
                  + (f" ({reason})" if reason else ""), payload={"status": "cancelled"})
        attendees = list(meeting.attendees.all())
    meeting.deliveries = _calendar_mail(meeting, attendees, kind=MailKind.CANCELLATION)
    return meeting


def _create_follow_up(actor, meeting: Meeting, *, title: str, due: dt.date, source: str):
    """A follow-up task through the tasks part's service, when that part offers one."""
    try:
        from . import tasks as task_services
    except ImportError:
        return None
    create = getattr(task_services, "create_task", None)
    if create is None:
        return None
    data = {"title": title, "due_date": due.isoformat()}
    for name in ("contact", "deal", "company"):
        value = getattr(meeting, f"{name}_id")
        if value:
            data[name] = value
    return create(actor=actor, data=data, source=source)


def record_outcome(*, actor, meeting: Meeting, note: str, next_step: str = "",
                   follow_up_on: dt.date | str | None = None, source: str = "web") -> Meeting:
    """After the meeting: how it went and what happens next. The meeting is logged on the
    timeline as a meeting with its minutes (time with customers counts), and a follow-up task
    for the next step is made when a date is given."""
    note = (note or "").strip()
    next_step = (next_step or "").strip()
    errors = {}
    if not note:
        errors["note"] = "write a short note on how the meeting went"
    elif len(note) > 5000:
        errors["note"] = "at most 5000 characters"
    if len(next_step) > 300:
        errors["next_step"] = "at most 300 characters"
    due = None
    if follow_up_on not in (None, ""):
        if isinstance(follow_up_on, dt.date):
            due = follow_up_on
        else:
            try:
                due = dt.date.fromisoformat(str(follow_up_on).strip())
            except ValueError:
                errors["follow_up_on"] = "use a date such as 2026-12-01"
        if due is not None and not next_step:
            errors["next_step"] = "say what the follow-up is for"
        if due is not None and due < timezone.localdate():
            errors["follow_up_on"] = "the follow-up cannot be in the past"
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update(of=("self",)).select_related("organiser", "contact", "deal", "company").get(
            pk=meeting.pk)
        check_may_change(actor, meeting)
        if meeting.status == MeetingStatus.CANCELLED:
            raise ValidationFailed({"status": "this meeting was cancelled"})
        if meeting.starts_at > timezone.now():
            raise ValidationFailed({"note": "the meeting has not started yet; record its outcome afterwards"})
        first_time = meeting.outcome_recorded_at is None
        meeting.outcome_note, meeting.next_step = note, next_step
        meeting.outcome_recorded_at = timezone.now()
        meeting.status = MeetingStatus.DONE
        meeting.updated_at = timezone.now()
        if first_time:
            meeting.activity = _log_meeting(actor, meeting, source)
        meeting.save()
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=meeting, source=source,
                    changes={"outcome_note": [None, note], "next_step": [None, next_step], "status": [None, "done"]})
        if not first_time and meeting.activity_id:
            from rapport.timeline import services as timeline

            timeline.update_activity(actor=meeting.organiser, activity=meeting.activity,
                                     data={"body": _outcome_text(meeting)}, source=source)
        meeting.follow_up = (_create_follow_up(actor, meeting, title=next_step, due=due, source=source)
                             if due is not None else None)
    return meeting


def _outcome_text(meeting: Meeting) -> str:
    text = meeting.outcome_note
    if meeting.next_step:
        text += f"\n\nNext step: {meeting.next_step}"
    return text


def _log_meeting(actor, meeting: Meeting, source: str):
    if meeting.contact_id is None and meeting.company_id is None and meeting.deal_id is None:
        return None
    data = {"kind": "meeting", "occurred_at": meeting.starts_at, "subject": meeting.title,
            "body": _outcome_text(meeting), "duration_minutes": meeting.duration_minutes,
            "attendees": [a.name or a.email for a in meeting.attendees.all()]}
    if meeting.deal_id:
        from rapport.sales.services.deals import log_deal_activity

        return log_deal_activity(actor=actor, deal=meeting.deal, data=data, contact=meeting.contact, source=source)
    from rapport.timeline import services as timeline

    return timeline.log_activity(actor=actor, data=data, contact=meeting.contact, company=meeting.company,
                                 source=source)

