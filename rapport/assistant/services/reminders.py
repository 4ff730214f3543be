"""Reminders of due tasks and the daily digest, e-mailed to each user who has not opted out.

Both are background work (the `rapport assistant reminders|digest` commands and the tasks in
`rapport/assistant/mail_jobs.py`) and safe to run again, even by two workers at once: a
reminder claims its tasks (marks them reminded) before it is sent, and a digest is sent at most
once per user and day (its `SentEmail.dedupe_key`, claimed before sending). A message the mail
server refused is logged as failed and tried again on the next run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone

from rapport.core.visibility import profile_of

from .. import ical
from ..models import MailKind, MailPreferences, MailStatus, SentEmail
from ..selectors import meetings as meeting_selectors
from . import mail


@dataclass
class RunReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)


def _opted_out(kind: str) -> Q:
    """Users who turned the given mail off (no preferences row means both are on)."""
    return Q(pk__in=MailPreferences.objects.filter(**{kind: False}).values("user_id"))


def _recipients(kind: str):
    return (get_user_model().objects.filter(is_active=True).exclude(email="").exclude(_opted_out(kind))
            .order_by("pk"))


def _send(user, *, subject: str, body: str, kind: str, dedupe_key: str = "") -> SentEmail | None:
    message = EmailMessage(subject=subject, body=body, from_email=mail.from_address(), to=[user.email])
    return mail.deliver(message, kind=kind, body=body, recipient_user=user, dedupe_key=dedupe_key)


def _claim(task_ids: list[int], now: dt.datetime) -> set[int]:
    """Mark the tasks reminded before the e-mail goes, and keep only those this run marked:
    a second worker running at the same moment finds them taken and does not remind twice."""
    from ..models import Task

    Task.objects.filter(pk__in=task_ids, reminded_at__isnull=True).update(reminded_at=now)
    return set(Task.objects.filter(pk__in=task_ids, reminded_at=now).values_list("pk", flat=True))


def _local(moment: dt.datetime, user) -> str:
    return f"{moment.astimezone(ical.zone_of(profile_of(user).time_zone)):%H:%M}"


def _link(text: str, path: str) -> list[str]:
    """A line with a link, when the site's address is configured (a bare path helps no one)."""
    base = getattr(settings, "RAPPORT_BASE_URL", "").rstrip("/")
    return [f"{text}: {base}{path}"] if base else []


def send_task_reminders(*, now: dt.datetime | None = None) -> RunReport:
    """One e-mail per user listing their open tasks whose reminder time has come, then those
    tasks are marked reminded. Opted-out users get none (and their reminders stay unsent)."""
    try:
        from ..models import Task, TaskStatus
    except ImportError:
        return RunReport()
    now = now or timezone.now()
    report = RunReport()
    due = (Task.objects.filter(status=TaskStatus.OPEN, deleted_at__isnull=True, reminded_at__isnull=True,
                               remind_at__isnull=False, remind_at__lte=now, assignee__isnull=False)
           .select_related("contact", "deal").order_by("assignee_id", "due_at", "id"))
    by_user: dict[int, list] = {}
    for task in due:
        by_user.setdefault(task.assignee_id, []).append(task)
    if not by_user:
        return report
    users = {u.pk: u for u in _recipients("task_reminders").filter(pk__in=list(by_user))}
    for user_id, tasks in by_user.items():
        user = users.get(user_id)
        if user is None:
            report.skipped += 1
            continue
        claimed = _claim([t.pk for t in tasks], now)
        tasks = [t for t in tasks if t.pk in claimed]
        if not tasks:
            report.skipped += 1
            continue
        lines = [f"Hello {user.first_name or user.username},", "", "Reminder of what is due:", ""]
        for task in tasks:
            about = task.contact or task.deal
            when = f" (due {_local(task.due_at, user)})" if task.due_at and not task.all_day else ""
            lines.append(f"- {task.title}{when}" + (f" — {about}" if about else ""))
        lines += ["", *_link("Open your agenda", "/today/"),
                  "You can turn these reminders off under Calendar and e-mail in Rapport."]
        subject = tasks[0].title if len(tasks) == 1 else f"{len(tasks)} tasks are due"
        sent = _send(user, subject=f"Reminder: {subject}", body="\n".join(lines) + "\n", kind=MailKind.REMINDER,
                     dedupe_key=f"reminder:{user.pk}:{max(t.remind_at for t in tasks).isoformat()}:"
                                f"{','.join(str(t.pk) for t in tasks)}"[:200])
        if sent is None or sent.status == MailStatus.SENT:
            report.sent += sent is not None
            report.skipped += sent is None
        else:
            # Refused by the mail server: give the tasks back so the next run reminds them.
            Task.objects.filter(pk__in=[t.pk for t in tasks], reminded_at=now).update(reminded_at=None)
            report.failed += 1
            report.failures.append(f"{user.email}: {sent.error}")
    return report


def digest_for(user, day: dt.date) -> list[str] | None:
    """The digest's lines for `user` on `day` (their time zone), or None when there is nothing
    to tell: no meetings, no due or overdue tasks, no meeting awaiting its outcome."""
    meetings = meeting_selectors.meetings_on(user, day)
    awaiting = meeting_selectors.awaiting_outcome(user, limit=10)
    tasks = []
    try:
        from ..models import TaskStatus
        from ..selectors import tasks as task_selectors

        zone = ical.zone_of(profile_of(user).time_zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        tasks = list(task_selectors.task_queryset(user).filter(assignee_id=user.pk, status=TaskStatus.OPEN,
                                                              due_at__lt=end)
                     .select_related("contact", "deal").order_by("due_at", "id")[:30])
    except ImportError:
        pass
    if not (meetings or awaiting or tasks):
        return None
    lines = [f"Good morning {user.first_name or user.username}, here is your day ({day:%A} {day.day} {day:%B}).", ""]
    if meetings:
        lines.append(f"Meetings ({len(meetings)}):")
        for meeting in meetings:
            about = meeting.contact or meeting.deal or meeting.company
            lines.append(f"- {_local(meeting.starts_at, user)} {meeting.title}" + (f" — {about}" if about else ""))
        lines.append("")
    if tasks:
        now = timezone.now()
        overdue = sum(1 for t in tasks if t.due_at and t.due_at < now)
        lines.append(f"Tasks due ({len(tasks)}{f', {overdue} overdue' if overdue else ''}):")
        for task in tasks:
            flag = " [overdue]" if task.due_at and task.due_at < now else ""
            about = task.contact or task.deal
            lines.append(f"- {task.title}{flag}" + (f" — {about}" if about else ""))
        lines.append("")
    if awaiting:
        lines.append("How did these meetings go? Record the outcome:")
        for meeting in awaiting:
            link = _link("", f"/meetings/{meeting.pk}/outcome/")
            lines.append(f"- {meeting.title} ({meeting.ends_at:%d %b}){link[0] if link else ''}")
        lines.append("")
    lines += [*_link("Open your agenda", "/today/"),
              "You can turn this digest off under Calendar and e-mail in Rapport."]
    return lines


def send_daily_digests(*, day: dt.date | None = None) -> RunReport:
    """Each user's digest for `day` (default: today in their zone), at most once per day."""
    report = RunReport()
    for user in _recipients("daily_digest").iterator(chunk_size=500):
        today = day or timezone.now().astimezone(ical.zone_of(profile_of(user).time_zone)).date()
        key = f"digest:{user.pk}:{today.isoformat()}"
        if mail.already_sent(key):
            report.skipped += 1
            continue
        lines = digest_for(user, today)
        if lines is None:
            report.skipped += 1
            continue
        sent = _send(user, subject=f"Your day: {today:%A} {today.day} {today:%B}", body="\n".join(lines) + "\n",
                     kind=MailKind.DIGEST, dedupe_key=key)
        if sent is None:  # another worker is sending this digest
            report.skipped += 1
        elif sent.status == MailStatus.SENT:
            report.sent += 1
        else:
            report.failed += 1
            report.failures.append(f"{user.email}: {sent.error}")
    return report
