"""/api/v1/ endpoints for tasks, the Today agenda and the follow-up rules.

Thin: parse, call a selector or service, shape the reply. A task the caller may not see
answers 404 exactly as a missing one does. Dates travel as ISO 8601 strings: a bare date
(`2026-12-01`) makes an all-day task, a time without an offset is read in the assignee's zone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params
from rapport.core.errors import NotAllowed, NotVisible
from rapport.core.visibility import is_admin

from ..models import FollowUpRule
from ..selectors import agenda as agenda_selectors
from ..selectors import tasks as selectors
from ..services import rules as rule_services
from ..services import tasks as services

router = Router(tags=["tasks"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


class TaskFields(InputSchema):
    notes: str | None = None
    due_at: str | None = Field(None, description="ISO date (all day) or date and time; null clears it")
    due_date: str | None = Field(None, description="Alternative to due_at: a date, with due_time for a time")
    due_time: str | None = Field(None, description="HH:MM in the assignee's zone, with due_date")
    assignee: int | None = Field(None, description="User id: yourself (default) or someone in your team")
    contact: int | None = None
    company: int | None = None
    deal: int | None = None
    lead: int | None = None
    priority: str | None = Field(None, description="low, normal or high")
    remind_at: str | None = Field(None, description="When to e-mail a reminder (ISO date and time)")
    recurrence: str | None = Field(None, description="daily, weekly, monthly, days (every N days) or empty")
    recurrence_days: int | None = Field(None, description="N, with recurrence 'days'")


class TaskCreate(TaskFields):
    title: str


class TaskUpdate(TaskFields):
    """Only the fields sent change."""

    title: str | None = None


class TaskOut(Schema):
    id: int
    title: str
    notes: str
    due_at: dt.datetime | None
    all_day: bool
    overdue: bool
    assignee: int | None
    contact: int | None
    company: int | None
    deal: int | None
    lead: int | None
    priority: str
    status: str
    origin: str
    rule: str | None = Field(None, description="The kind of the follow-up rule that made it")
    reason: str
    remind_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    recurrence: str
    recurrence_days: int | None
    previous: int | None = Field(None, description="The occurrence this one repeats")
    completed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.is_overdue()

    @staticmethod
    def resolve_rule(obj) -> str | None:
        return obj.rule.kind if obj.rule_id else None

    # Related records travel as ids.
    @staticmethod
    def resolve_assignee(obj) -> int | None:
        return obj.assignee_id

    @staticmethod
    def resolve_contact(obj) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_deal(obj) -> int | None:
        return obj.deal_id

    @staticmethod
    def resolve_lead(obj) -> int | None:
        return obj.lead_id

    @staticmethod
    def resolve_previous(obj) -> int | None:
        return obj.previous_id


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class TaskFilters(Schema):
    status: str | None = Field(None, description="open, done or cancelled")
    assignee: int | None = None
    contact: int | None = None
    company: int | None = None
    deal: int | None = None
    lead: int | None = None
    origin: str | None = Field(None, description="manual, rule or cadence")
    rule: int | None = Field(None, description="Follow-up rule id")
    priority: str | None = None
    due_before: str | None = Field(None, description="Due strictly before this ISO date and time")
    due_after: str | None = Field(None, description="Due at or after this ISO date and time")
    overdue: bool | None = Field(None, description="Only open tasks past their due time")
    sort: str | None = Field(None, description="due (default), -due, created, -created")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class CompleteOut(Schema):
    task: TaskOut
    next: TaskOut | None = Field(None, description="The next occurrence of a repeating task")


class SnoozeIn(InputSchema):
    until: str = Field(description="1h, 3h, tomorrow, next_week, or an ISO date and time")


class AgendaLineOut(Schema):
    kind: str
    key: str
    title: str
    reason: str
    at: dt.datetime | None
    overdue: bool
    value_at_risk: str = Field(description="Base currency, decimal string")
    record_label: str
    record_url: str
    task: int | None

    @staticmethod
    def resolve_value_at_risk(obj) -> str:
        return str(round(obj.value, 2))

    @staticmethod
    def resolve_task(obj) -> int | None:
        return obj.task_id


class AgendaOut(Schema):
    day: dt.date
    total: int
    overdue: int
    lines: list[AgendaLineOut]


class RuleOut(Schema):
    id: int
    kind: str
    name: str
    enabled: bool
    days: int
    settings: dict
    priority: str
    last_run_at: dt.datetime | None
    last_created: int


class RuleIn(InputSchema):
    enabled: bool | None = None
    days: int | None = Field(None, ge=0, le=3650)
    settings: dict | None = None
    priority: str | None = None


def _body(payload) -> dict:
    return payload.model_dump(exclude_unset=True)


def _locked(actor, task_id: int):
    return selectors.task_for_update(actor, task_id)


@router.get("/tasks", response={200: TaskPage, **LIST_ERRORS}, operation_id="list_tasks")
def list_tasks(request, filters: Query[TaskFilters]):
    """Tasks you may see (yours, and your team's for managers), soonest due first."""
    reject_unknown_params(request, TaskFilters)
    params = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    page = selectors.list_tasks(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/tasks", response={201: TaskOut, **ERRORS}, operation_id="create_task")
def create_task(request, payload: TaskCreate):
    actor = actor_of(request)
    task = services.create_task(actor=actor, data=_body(payload), source=SOURCE)
    return Status(201, selectors.get_task(actor, task.pk))


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, operation_id="get_task")
def get_task(request, task_id: int):
    return selectors.get_task(actor_of(request), task_id)


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, operation_id="update_task")
def update_task(request, task_id: int, payload: TaskUpdate):
    """Change an open task; sending `assignee` reassigns it."""
    actor = actor_of(request)
    with transaction.atomic():
        services.update_task(actor=actor, task=_locked(actor, task_id), data=_body(payload), source=SOURCE)
    return selectors.get_task(actor, task_id)


@router.delete("/tasks/{task_id}", response={204: None, **ERRORS}, operation_id="delete_task")
def delete_task(request, task_id: int):
    """To the trash (restorable by an admin); a rule does not make it again for the same trigger."""
    actor = actor_of(request)
    services.delete_task(actor=actor, task=selectors.get_task(actor, task_id), source=SOURCE)
    return Status(204, None)


@router.post("/tasks/{task_id}/complete", response={200: CompleteOut, **ERRORS}, operation_id="complete_task")
def complete_task(request, task_id: int):
    actor = actor_of(request)
    with transaction.atomic():
        task, following = services.complete_task(actor=actor, task=_locked(actor, task_id), source=SOURCE)
    return {"task": selectors.get_task(actor, task.pk),
            "next": selectors.get_task(actor, following.pk) if following else None}


@router.post("/tasks/{task_id}/snooze", response={200: TaskOut, **ERRORS}, operation_id="snooze_task")
def snooze_task(request, task_id: int, payload: SnoozeIn):
    """Hide it from Today until then; the due time does not change."""
    actor = actor_of(request)
    with transaction.atomic():
        services.snooze_task(actor=actor, task=_locked(actor, task_id), until=payload.until, source=SOURCE)
    return selectors.get_task(actor, task_id)


@router.post("/tasks/{task_id}/cancel", response={200: TaskOut, **ERRORS}, operation_id="cancel_task")
def cancel_task(request, task_id: int):
    actor = actor_of(request)
    with transaction.atomic():
        services.cancel_task(actor=actor, task=_locked(actor, task_id), source=SOURCE)
    return selectors.get_task(actor, task_id)


@router.post("/tasks/{task_id}/reopen", response={200: TaskOut, **ERRORS}, operation_id="reopen_task")
def reopen_task(request, task_id: int):
    actor = actor_of(request)
    with transaction.atomic():
        services.reopen_task(actor=actor, task=_locked(actor, task_id), source=SOURCE)
    return selectors.get_task(actor, task_id)


@router.get("/agenda", response={200: AgendaOut, **ERRORS}, operation_id="get_agenda")
def get_agenda(request, user: int | None = None, limit: int = Query(50, ge=1, le=500)):
    """Today's agenda, ranked by value at risk: yours, or (managers) a team member's."""
    from django.contrib.auth import get_user_model

    reject_unknown_params(request, names=("user", "limit"))
    actor = actor_of(request)
    owner = actor
    if user is not None:
        owner = get_user_model().objects.filter(pk=user, is_active=True).first()
        if owner is None:
            raise NotVisible(f"user {user}")
    agenda = agenda_selectors.agenda_for(actor, owner, limit=limit)
    return {"day": agenda.day, "total": agenda.total, "overdue": agenda.overdue, "lines": agenda.lines}


@router.get("/follow-up-rules", response={200: list[RuleOut], 401: Problem}, operation_id="list_follow_up_rules")
def list_rules(request):
    return list(FollowUpRule.objects.order_by("id"))


@router.patch("/follow-up-rules/{rule_id}", response={200: RuleOut, **ERRORS}, operation_id="update_follow_up_rule")
def update_rule(request, rule_id: int, payload: RuleIn):
    """Admins only: switch a rule on or off, change its N days, settings or priority."""
    actor = actor_of(request)
    if not is_admin(actor):
        raise NotAllowed("only admins change follow-up rules")
    rule = FollowUpRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotVisible(f"rule {rule_id}")
    return rule_services.update_rule(actor=actor, rule=rule, data=_body(payload), source=SOURCE)
