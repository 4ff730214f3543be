"""Reads of tasks, narrowed to what the acting user may see.

A task is seen by its assignee, by their team (for managers and anyone whose role sees the
team's records) and by admins: the same rule as owned records, with the assignee as owner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.core.visibility import is_admin, profile_of, visible_to

from ..models import Recurrence, Task, TaskOrigin, TaskPriority, TaskStatus

TASK_SORTS = {"due": "due_at", "-due": "-due_at", "created": "id", "-created": "-id"}


def task_queryset(user) -> QuerySet[Task]:
    """Live (not trashed) tasks the user may see."""
    return visible_to(Task.objects.filter(deleted_at__isnull=True), user, owner_field="assignee")


def get_task(user, task_id: int) -> Task:
    """The task, or NotVisible whether it is missing or hidden (both answer 404)."""
    task = (task_queryset(user).select_related("assignee", "contact", "company", "deal", "lead__contact", "rule",
                                               "enrolment__cadence", "created_by", "completed_by")
            .filter(pk=task_id).first())
    if task is None:
        raise NotVisible(f"task {task_id}")
    return task


def task_assignees(user) -> QuerySet:
    """Whom the user may give a task to, by name: anyone for admins, else themselves and their
    team (the rule of `services.tasks.may_assign_task`, which judges every change)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if is_admin(user):
        return users
    team_id = profile_of(user).team_id
    if team_id is None:
        return users.filter(pk=user.pk)
    return users.filter(Q(pk=user.pk) | Q(profile__team_id=team_id))


def task_for_update(user, task_id: int) -> Task:
    task = task_queryset(user).select_for_update(of=("self",)).filter(pk=task_id).first()
    if task is None:
        raise NotVisible(f"task {task_id}")
    return task


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed({name: "must be a whole number"}) from exc


def _moment(params: dict[str, Any], name: str) -> dt.datetime | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed({name: "use a date and time such as 2026-12-01T00:00"}) from exc
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def filter_tasks(queryset: QuerySet[Task], params: dict[str, Any]) -> QuerySet[Task]:
    """Narrow by status, assignee, related record, origin, rule, priority, due range and
    overdue."""
    for name in ("assignee", "contact", "company", "deal", "lead", "rule"):
        value = _int(params, name)
        if value is not None:
            queryset = queryset.filter(**{f"{name}_id": value})
    choices = {"status": TaskStatus, "origin": TaskOrigin, "priority": TaskPriority}
    for name, enum in choices.items():
        value = params.get(name)
        if value:
            if value not in enum.values:
                raise ValidationFailed({name: f"choose one of: {', '.join(enum.values)}"})
            queryset = queryset.filter(**{name: value})
    due_before, due_after = _moment(params, "due_before"), _moment(params, "due_after")
    if due_before:
        queryset = queryset.filter(due_at__lt=due_before)
    if due_after:
        queryset = queryset.filter(due_at__gte=due_after)
    if params.get("overdue") in (True, "1", "true"):
        queryset = queryset.filter(status=TaskStatus.OPEN, due_at__lt=timezone.now())
    if params.get("recurring") in (True, "1", "true"):
        queryset = queryset.exclude(recurrence=Recurrence.NONE)
    return queryset


def list_tasks(user, params: dict[str, Any], *, cursor: str | None = None, size: int = 50) -> Page:
    sort = params.get("sort") or "due"
    if sort not in TASK_SORTS:
        raise ValidationFailed({"sort": f"choose one of: {', '.join(TASK_SORTS)}"})
    queryset = filter_tasks(task_queryset(user), params)
    if TASK_SORTS[sort].lstrip("-") == "due_at":
        # Keyset paging needs a value on every row; tasks without a due date come in the id sort.
        queryset = queryset.filter(due_at__isnull=False)
    queryset = queryset.select_related("assignee", "contact", "company", "deal", "lead", "rule")
    return keyset_page(queryset, order=TASK_SORTS[sort], cursor=cursor, size=size)


def open_tasks_of(user, *, contact=None, company=None, deal=None, limit: int = 20) -> list[Task]:
    """Open tasks about one record, soonest first, for the record's page."""
    queryset = task_queryset(user).filter(status=TaskStatus.OPEN)
    if contact is not None:
        queryset = queryset.filter(contact=contact)
    elif company is not None:
        queryset = queryset.filter(company=company)
    elif deal is not None:
        queryset = queryset.filter(deal=deal)
    else:
        return []
    return list(queryset.select_related("assignee").order_by(F("due_at").asc(nulls_last=True), "id")[:limit])


def overdue_counts(user, *, team_id: int | None) -> list[dict[str, Any]]:
    """Per seller in the team: open tasks, overdue ones and those due today, most overdue
    first: who is behind."""
    from rapport.core.models import Profile

    from ..services.tasks import start_of_day, zone_of

    now = timezone.now()
    members = list(Profile.objects.filter(team_id=team_id, user__is_active=True).select_related("user")
                   .order_by("user__first_name", "user__username")) if team_id else []
    ids = [p.user_id for p in members]
    # "Due today" ends at each seller's own midnight: a team can span time zones. An all-day
    # task is due today while its day lasts (due_at holds the day's start).
    due_today = Q(pk__in=[])
    for member in members:
        zone = zone_of(member.user)
        end = start_of_day(now.astimezone(zone).date() + dt.timedelta(days=1), zone)
        due_today |= Q(assignee_id=member.user_id, due_at__lt=end) & (
            Q(all_day=False, due_at__gte=now) | Q(all_day=True, due_at__gt=now - dt.timedelta(days=1)))
    counts = {row["assignee_id"]: row for row in
              visible_to(Task.objects.filter(deleted_at__isnull=True, status=TaskStatus.OPEN,
                                             assignee_id__in=ids), user, owner_field="assignee")
              .values("assignee_id").annotate(
                  open=Count("id"),
                  overdue=Count("id", filter=Q(due_at__lt=now, all_day=False)
                                | Q(due_at__lte=now - dt.timedelta(days=1), all_day=True)),
                  today=Count("id", filter=due_today))}
    rows = [{"user": p.user, "open": counts.get(p.user_id, {}).get("open", 0),
             "overdue": counts.get(p.user_id, {}).get("overdue", 0),
             "today": counts.get(p.user_id, {}).get("today", 0)} for p in members]
    rows.sort(key=lambda r: (-r["overdue"], -r["open"], r["user"].get_full_name() or r["user"].username))
    return rows
