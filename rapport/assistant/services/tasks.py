"""Writing tasks: create, change, complete (making the next occurrence of a repeating task),
snooze, reassign, cancel, delete and restore. Each write validates, audits and, where a task
concerns a contact or deal, leaves an event on the timeline when it is done.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin, profile_of, team_id_for_owner, visible_to
from rapport.timeline.models import EventKind
from rapport.timeline.services import record_event

from ..models import Recurrence, Task, TaskOrigin, TaskPriority, TaskStatus

TASK_FIELDS = ["title", "notes", "due_at", "all_day", "assignee", "contact", "company", "deal", "lead", "priority",
               "status", "remind_at", "snoozed_until", "recurrence", "recurrence_days", "completed_at"]
EDITABLE = {"title", "notes", "due_at", "due_date", "due_time", "assignee", "contact", "company", "deal", "lead",
            "priority", "remind_at", "recurrence", "recurrence_days"}
MAX_RECURRENCE_DAYS = 365
# Far enough for any real plan; a year such as 20266 is a typing slip, not a plan.
LATEST_YEAR_AHEAD = 10


def zone_of(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(profile_of(user).time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def start_of_day(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


# --- parsing ------------------------------------------------------------------------------

def _parse_date(value: Any, field: str, errors: dict[str, str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "use a date such as 2026-12-01"
        return None


def _parse_time(value: Any, field: str, errors: dict[str, str]) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "use a time such as 14:30"
        return None


def _parse_moment(value: Any, field: str, errors: dict[str, str], zone) -> dt.datetime | None:
    """A date and time; without an offset it is read in the user's zone."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            errors[field] = "use a date and time such as 2026-12-01T14:30"
            return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def _due(data: dict[str, Any], zone, errors: dict[str, str]) -> tuple[dt.datetime | None, bool] | None:
    """(due_at, all_day) from `due_at` (a moment, or a bare date meaning all day) or from
    `due_date` with an optional `due_time`; None when the data does not touch the due time."""
    touched = {"due_at", "due_date", "due_time"} & set(data)
    if not touched:
        return None
    if data.get("due_at") not in (None, "") and data.get("due_date") not in (None, ""):
        errors["due_at"] = "send either due_at or due_date (with due_time), not both"
        return None
    raw = data.get("due_at")
    if raw not in (None, ""):
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime) or (
                isinstance(raw, str) and len(raw.strip()) == 10):
            day = _parse_date(raw, "due_at", errors)
            return (start_of_day(day, zone), True) if day else None
        moment = _parse_moment(raw, "due_at", errors, zone)
        return (moment, False) if moment else None
    day_raw, time_raw = data.get("due_date"), data.get("due_time")
    if day_raw in (None, ""):
        if time_raw not in (None, ""):
            errors["due_date"] = "a due time needs a due date"
            return None
        return (None, False)
    day = _parse_date(day_raw, "due_date", errors)
    if day is None:
        return None
    if time_raw in (None, ""):
        return (start_of_day(day, zone), True)
    at = _parse_time(time_raw, "due_time", errors)
    if at is None:
        return None
    return (dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC), False)


def _user(value: Any, field: str, errors: dict[str, str]):
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        return value
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        errors[field] = "must be a user id"
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        errors[field] = f"no active user with id {user_id}"
    return user


def _related(actor, field: str, value: Any, errors: dict[str, str]):
    """The contact, company, deal or lead with this id, if the actor may see it."""
    if value in (None, ""):
        return None
    if hasattr(value, "pk"):
        value = value.pk
    try:
        record_id = int(value)
    except (TypeError, ValueError):
        errors[field] = f"must be a {field} id"
        return None
    from rapport.leads.models import Lead
    from rapport.people import selectors as people
    from rapport.sales.selectors import deals

    try:
        if field == "contact":
            return people.get_contact(actor, record_id)
        if field == "company":
            return people.get_company(actor, record_id)
        if field == "deal":
            return deals.get_deal(actor, record_id)
        lead = visible_to(Lead.objects.filter(deleted_at__isnull=True), actor).filter(pk=record_id).first()
        if lead is None:
            raise NotVisible(field)
        return lead
    except NotVisible:
        errors[field] = f"no {field} {record_id} that you can see"
        return None


def may_assign_task(actor, assignee) -> bool:
    """Anyone may give themselves a task; colleagues in one's own team may be given tasks too
    (a seller asks a teammate to call back); admins give tasks to anyone."""
    if assignee is None or assignee.pk == actor.pk or is_admin(actor):
        return True
    team_id = profile_of(actor).team_id
    return team_id is not None and profile_of(assignee).team_id == team_id


def _clean(actor, data: dict[str, Any], *, task: Task | None) -> dict[str, Any]:
    errors = {name: "unknown field" for name in set(data) - EDITABLE}
    cleaned: dict[str, Any] = {}
    creating = task is None
    if creating or "title" in data:
        title = (data.get("title") or "").strip() if isinstance(data.get("title") or "", str) else None
        if title is None:
            errors["title"] = "must be text"
        elif not title:
            errors["title"] = "say what is to be done"
        elif len(title) > 200:
            errors["title"] = "at most 200 characters"
        cleaned["title"] = title
    if "notes" in data:
        notes = str(data.get("notes") or "").strip()
        if len(notes) > 10_000:
            errors["notes"] = "at most 10,000 characters"
        cleaned["notes"] = notes
    assignee = task.assignee if task is not None else actor
    if "assignee" in data:
        assignee = _user(data["assignee"], "assignee", errors)
        if assignee is None and "assignee" not in errors:
            errors["assignee"] = "a task needs someone to do it"
        elif assignee is not None and not may_assign_task(actor, assignee):
            errors["assignee"] = "you may only give tasks to yourself or people in your team"
        cleaned["assignee"] = assignee
    zone = zone_of(assignee or actor)
    due = _due(data, zone, errors)
    if due is not None:
        cleaned["due_at"], cleaned["all_day"] = due
        if due[0] is not None and due[0].year > timezone.now().year + LATEST_YEAR_AHEAD:
            errors["due_date" if "due_date" in data else "due_at"] = "that is more than ten years ahead"
    for field in ("contact", "company", "deal", "lead"):
        if field in data:
            cleaned[field] = _related(actor, field, data[field], errors)
    if "priority" in data:
        priority = data.get("priority") or TaskPriority.NORMAL
        if priority not in TaskPriority.values:
            errors["priority"] = f"choose one of: {', '.join(TaskPriority.values)}"
        cleaned["priority"] = priority
    if "remind_at" in data:
        cleaned["remind_at"] = (None if data["remind_at"] in (None, "")
                                else _parse_moment(data["remind_at"], "remind_at", errors, zone))
        if cleaned["remind_at"] is not None:
            cleaned["reminded_at"] = None
    if "recurrence" in data or "recurrence_days" in data:
        recurrence = data.get("recurrence", task.recurrence if task else "") or ""
        days = data.get("recurrence_days", task.recurrence_days if task else None)
        if recurrence not in Recurrence.values:
            errors["recurrence"] = "choose daily, weekly, monthly, days (every N days) or leave it empty"
        elif recurrence == Recurrence.EVERY_N_DAYS:
            try:
                days = int(days)
                if not 1 <= days <= MAX_RECURRENCE_DAYS:
                    raise ValueError
            except (TypeError, ValueError):
                errors["recurrence_days"] = f"every N days needs N, a whole number from 1 to {MAX_RECURRENCE_DAYS}"
        elif days not in (None, ""):
            errors["recurrence_days"] = "only used with recurrence 'days' (every N days)"
        else:
            days = None
        cleaned["recurrence"], cleaned["recurrence_days"] = recurrence, days
    effective_recurrence = cleaned.get("recurrence", task.recurrence if task else "")
    effective_due = cleaned.get("due_at", task.due_at if task else None)
    if effective_recurrence and effective_due is None and "recurrence" not in errors:
        errors["recurrence"] = "a repeating task needs a due date to repeat from"
    if errors:
        raise ValidationFailed(errors)
    return cleaned


# --- permissions --------------------------------------------------------------------------

def check_may_change(actor, task: Task) -> None:
    """The assignee, whoever made the task, the team's manager and admins may change a task."""
    if actor.pk in (task.assignee_id, task.created_by_id) or is_admin(actor):
        return
    profile = profile_of(actor)
    if profile.role == "manager" and profile.team_id is not None and profile.team_id == task.team_id:
        return
    raise NotAllowed("only the person the task is for, who made it, or their manager may change it")


def _check_open(task: Task) -> None:
    if task.status != TaskStatus.OPEN:
        raise ValidationFailed({"status": f"this task is {task.get_status_display().lower()}; reopen it first"})


def _save_audited(actor, task: Task, before: dict, source: str) -> Task:
    task.updated_at = timezone.now()
    task.save()
    changes = audit.changes_between(before, audit.snapshot(task, TASK_FIELDS))
    if changes:
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=task, changes=changes, source=source)
    return task


# --- writes -------------------------------------------------------------------------------

@transaction.atomic
def create_task(*, actor, data: dict[str, Any], source: str = "web", origin: str = TaskOrigin.MANUAL,
                reason: str = "") -> Task:
    """A task for the actor (or a teammate they name) about records the actor can see."""
    cleaned = _clean(actor, data, task=None)
    cleaned.setdefault("assignee", actor)
    if cleaned.get("company") is None and cleaned.get("contact") is not None:
        cleaned["company"] = cleaned["contact"].company
    task = Task.objects.create(created_by=actor, team_id=team_id_for_owner(cleaned["assignee"]), origin=origin,
                               reason=reason[:300], **cleaned)
    audit.audit_created(actor=actor, instance=task, fields=TASK_FIELDS, source=source)
    return task


@transaction.atomic
def update_task(*, actor, task: Task, data: dict[str, Any], source: str = "web") -> Task:
    """Change what, when, for whom or about what; a done or cancelled task cannot be edited."""
    check_may_change(actor, task)
    _check_open(task)
    cleaned = _clean(actor, data, task=task)
    before = audit.snapshot(task, TASK_FIELDS)
    for name, value in cleaned.items():
        setattr(task, name, value)
    if "assignee" in cleaned:
        task.team_id = team_id_for_owner(task.assignee)
    if "due_at" in cleaned:
        task.snoozed_until = None  # a new due time replaces any snooze
    return _save_audited(actor, task, before, source)


def next_due(task: Task) -> dt.datetime | None:
    """When the next occurrence of a repeating task falls: one step after this one's due time,
    stepped on until it is after today (a daily task done a week late is not recreated seven
    times over). Months keep the day of the month where they can (31 Jan -> 28/29 Feb)."""
    if not task.recurrence or task.due_at is None:
        return None
    zone = zone_of(task.assignee) if task.assignee_id else zoneinfo.ZoneInfo("UTC")
    local = task.due_at.astimezone(zone)
    anchor_day = local.day
    today = timezone.now().astimezone(zone).date()
    for _ in range(2000):
        if task.recurrence == Recurrence.DAILY:
            local = local + dt.timedelta(days=1)
        elif task.recurrence == Recurrence.WEEKLY:
            local = local + dt.timedelta(weeks=1)
        elif task.recurrence == Recurrence.EVERY_N_DAYS:
            local = local + dt.timedelta(days=task.recurrence_days or 1)
        else:
            year, month = local.year + (local.month == 12), local.month % 12 + 1
            day = min(anchor_day, calendar.monthrange(year, month)[1])
            local = local.replace(year=year, month=month, day=day)
        if local.date() > today:
            break
    return local.astimezone(dt.UTC)


def _completion_event(actor, task: Task, verb: str) -> None:
    if task.contact_id is None and task.deal_id is None and task.company_id is None:
        return
    # Its own kind, so a timeline can be filtered to the follow-ups that were done.
    record_event(kind=EventKind.TASK, contact=task.contact, company=task.company, deal=task.deal, actor=actor,
                 summary=f"Task {verb}: {task.title}", payload={"task": task.pk, "status": task.status})


@transaction.atomic
def complete_task(*, actor, task: Task, source: str = "web") -> tuple[Task, Task | None]:
    """Mark a task done (timeline event on its contact/deal); a repeating task gets its next
    occurrence, a copy due one step later. Returns (the task, the next one or None)."""
    check_may_change(actor, task)
    _check_open(task)
    before = audit.snapshot(task, TASK_FIELDS)
    now = timezone.now()
    task.status, task.completed_at, task.completed_by = TaskStatus.DONE, now, actor
    task.snoozed_until = None
    _save_audited(actor, task, before, source)
    _completion_event(actor, task, "done")
    following = None
    due = next_due(task)
    if due is not None:
        following = Task.objects.create(
            title=task.title, notes=task.notes, due_at=due, all_day=task.all_day, assignee=task.assignee,
            team_id=task.team_id, contact=task.contact, company=task.company, deal=task.deal, lead=task.lead,
            priority=task.priority, origin=task.origin if task.origin != TaskOrigin.RULE else TaskOrigin.MANUAL,
            reason=task.reason, recurrence=task.recurrence, recurrence_days=task.recurrence_days, previous=task,
            remind_at=(due - (task.due_at - task.remind_at)) if task.remind_at and task.due_at else None,
            created_by=actor,
        )
        audit.audit_created(actor=actor, instance=following, fields=TASK_FIELDS, source=source)
    return task, following


@transaction.atomic
def reopen_task(*, actor, task: Task, source: str = "web") -> Task:
    check_may_change(actor, task)
    if task.status == TaskStatus.OPEN:
        raise ValidationFailed({"status": "this task is already open"})
    before = audit.snapshot(task, TASK_FIELDS)
    task.status, task.completed_at, task.completed_by = TaskStatus.OPEN, None, None
    return _save_audited(actor, task, before, source)


def parse_snooze(value: Any, *, user, now: dt.datetime | None = None) -> dt.datetime:
    """A snooze target: "1h", "3h", "tomorrow" (09:00 in the user's zone), "next_week"
    (Monday 09:00), a number of minutes, or a date and time."""
    now = now or timezone.now()
    zone = zone_of(user)
    errors: dict[str, str] = {}
    if isinstance(value, dt.datetime):
        until = value if timezone.is_aware(value) else value.replace(tzinfo=zone)
    elif value in (None, ""):
        raise ValidationFailed({"until": "say until when: 1h, 3h, tomorrow, next_week or a date and time"})
    else:
        text = str(value).strip().lower()
        local = now.astimezone(zone)
        if text in ("1h", "3h"):
            until = now + dt.timedelta(hours=int(text[0]))
        elif text == "tomorrow":
            until = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(9), tzinfo=zone)
        elif text == "next_week":
            days = 7 - local.weekday()
            until = dt.datetime.combine(local.date() + dt.timedelta(days=days), dt.time(9), tzinfo=zone)
        elif text.isdigit():
            until = now + dt.timedelta(minutes=int(text))
        else:
            until = _parse_moment(str(value).strip(), "until", errors, zone)
            if until is None:
                raise ValidationFailed({"until": "use 1h, 3h, tomorrow, next_week or a date and time such as "
                                                 "2026-12-01T09:00"})
    until = until.astimezone(dt.UTC)
    if until <= now:
        raise ValidationFailed({"until": "a snooze must end in the future"})
    if until > now + dt.timedelta(days=366):
        raise ValidationFailed({"until": "snooze for at most a year; reschedule the task instead"})
    return until


@transaction.atomic
def snooze_task(*, actor, task: Task, until: Any, source: str = "web") -> Task:
    """Hide an open task from the agenda until a time; its due date stays (it still counts as
    overdue in the team's view: a snooze is a personal reminder, not a new deadline)."""
    check_may_change(actor, task)
    _check_open(task)
    before = audit.snapshot(task, TASK_FIELDS)
    task.snoozed_until = parse_snooze(until, user=actor)
    return _save_audited(actor, task, before, source)


def reschedule_task(*, actor, task: Task, data: dict[str, Any], source: str = "web") -> Task:
    """A new due date (and time): the same as changing it, named for the agenda's action."""
    due = {k: v for k, v in data.items() if k in ("due_at", "due_date", "due_time")}
    if not due or all(v in (None, "") for v in due.values()):
        raise ValidationFailed({"due_date": "choose the new due date"})
    return update_task(actor=actor, task=task, data=due, source=source)


def reassign_task(*, actor, task: Task, assignee: Any, source: str = "web") -> Task:
    return update_task(actor=actor, task=task, data={"assignee": assignee}, source=source)


@transaction.atomic
def cancel_task(*, actor, task: Task, source: str = "web") -> Task:
    """No longer needed; kept (with who cancelled it) rather than deleted, so a rule does not
    make it again for the same trigger."""
    check_may_change(actor, task)
    _check_open(task)
    before = audit.snapshot(task, TASK_FIELDS)
    task.status, task.completed_at, task.completed_by = TaskStatus.CANCELLED, timezone.now(), actor
    return _save_audited(actor, task, before, source)


@transaction.atomic
def delete_task(*, actor, task: Task, source: str = "web") -> Task:
    check_may_change(actor, task)
    task.deleted_at = timezone.now()
    task.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=task, source=source)
    return task


@transaction.atomic
def restore_task(*, actor, task_id: int, source: str = "web") -> Task:
    task = (visible_to(Task.objects.filter(deleted_at__isnull=False), actor, owner_field="assignee")
            .filter(pk=task_id).first())
    if task is None:
        raise NotVisible(f"task {task_id}")
    check_may_change(actor, task)
    task.deleted_at = None
    task.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.RESTORE, instance=task, source=source)
    return task


def open_tasks_q() -> Q:
    return Q(status=TaskStatus.OPEN, deleted_at__isnull=True)
