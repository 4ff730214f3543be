"""Cadences: a series of steps (call, e-mail from a template, task) with waits between them,
run for each enrolled contact as tasks for the enrolment's owner.

An enrolment stops by itself when the contact replies (an inbound e-mail logged on their
timeline), books a meeting (a meeting scheduled or logged with them), or is disqualified (a
lead of theirs disqualified) after they were enrolled. `advance_enrolments` checks those first,
then makes the task of each step whose wait is over; the rules run calls it, so cadences move
as often as the follow-up rules run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction, Role
from rapport.core.visibility import is_admin, profile_of, team_id_for_owner

from ..models import (
    Cadence,
    CadenceEnrolment,
    CadenceStep,
    CadenceStepKind,
    EnrolmentStatus,
    Task,
    TaskOrigin,
)

STEP_VERBS = {CadenceStepKind.CALL: "Call", CadenceStepKind.EMAIL: "E-mail", CadenceStepKind.TASK: ""}
# Longer than any real series; a cadence is walked step by step in pages and forms.
MAX_STEPS = 30
MAX_NAME = 120
MAX_DESCRIPTION = 2000


@dataclass
class Advanced:
    tasks: int = 0
    stopped: int = 0
    finished: int = 0


def _clean_steps(steps: Any) -> list[dict[str, Any]]:
    errors: dict[str, str] = {}
    if not isinstance(steps, list) or not steps:
        raise ValidationFailed({"steps": "a cadence needs at least one step"})
    if len(steps) > MAX_STEPS:
        raise ValidationFailed({"steps": f"at most {MAX_STEPS} steps"})
    cleaned = []
    for i, step in enumerate(steps):
        kind = (step or {}).get("kind")
        if kind not in CadenceStepKind.values:
            errors[f"steps.{i}.kind"] = "choose call, email or task"
        try:
            wait = int((step or {}).get("wait_days", 0))
            if not 0 <= wait <= 365:
                raise ValueError
        except (TypeError, ValueError):
            errors[f"steps.{i}.wait_days"] = "a whole number of days from 0 to 365"
            wait = 0
        title = str((step or {}).get("title") or "").strip()
        template = str((step or {}).get("template_name") or "").strip()
        # Refused rather than cut: a cut title or template name would be a different one.
        if len(title) > 200:
            errors[f"steps.{i}.title"] = "at most 200 characters"
        if len(template) > 120:
            errors[f"steps.{i}.template_name"] = "at most 120 characters"
        if kind == CadenceStepKind.EMAIL and not template:
            errors[f"steps.{i}.template_name"] = "an e-mail step names the template to send"
        if kind == CadenceStepKind.TASK and not title:
            errors[f"steps.{i}.title"] = "say what the task is"
        cleaned.append({"position": i, "kind": kind, "wait_days": wait, "title": title, "template_name": template})
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _clean_name(name: Any, errors: dict[str, str]) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = "name the cadence"
    elif len(name) > MAX_NAME:
        errors["name"] = f"at most {MAX_NAME} characters"
    return name


def _clean_description(description: Any, errors: dict[str, str]) -> str:
    description = str(description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"at most {MAX_DESCRIPTION:,} characters"
    return description


def describe_step(step) -> str:
    """One line a person reads: "Call after 3 days", "E-mail “Welcome” straight away"."""
    get = step.get if isinstance(step, dict) else lambda name: getattr(step, name)
    kind, wait = get("kind"), get("wait_days")
    if kind == CadenceStepKind.EMAIL:
        what = f"E-mail “{get('template_name')}”"
    elif kind == CadenceStepKind.CALL:
        what = f"Call: {get('title')}" if get("title") else "Call"
    else:
        what = f"Task: {get('title')}"
    when = "straight away" if not wait else f"after {wait} day{'s' if wait != 1 else ''}"
    return f"{what}, {when}"


def may_define_cadences(actor) -> bool:
    """Admins and managers define cadences; everyone else enrols contacts in them."""
    return is_admin(actor) or profile_of(actor).role == Role.MANAGER


def may_change_cadence(actor, cadence: Cadence) -> bool:
    """Admins change any cadence; a manager the ones they made. A cadence serves every team,
    so one manager's change must not rewrite another's series under their sellers."""
    if is_admin(actor):
        return True
    return profile_of(actor).role == Role.MANAGER and cadence.created_by_id == actor.pk


def may_stop_enrolment(actor, enrolment: CadenceEnrolment) -> bool:
    return is_admin(actor) or enrolment.owner_id == actor.pk


@transaction.atomic
def create_cadence(*, actor, name: str, steps: list[dict[str, Any]], description: str = "",
                   source: str = "web") -> Cadence:
    """Admins and managers define cadences; sellers enrol their contacts in them."""
    if not may_define_cadences(actor):
        raise NotAllowed("only admins and managers define cadences")
    errors: dict[str, str] = {}
    name = _clean_name(name, errors)
    description = _clean_description(description, errors)
    try:
        cleaned = _clean_steps(steps)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    cadence = Cadence.objects.create(name=name, description=description, created_by=actor)
    CadenceStep.objects.bulk_create([CadenceStep(cadence=cadence, **s) for s in cleaned])
    audit.audit_created(actor=actor, instance=cadence, fields=["name", "description"], source=source)
    return cadence


@transaction.atomic
def update_cadence(*, actor, cadence: Cadence, data: dict[str, Any], source: str = "web") -> Cadence:
    """Rename, describe, switch on or off, or replace the series of steps (all of them, in the
    order given). Contacts already enrolled keep their place by number: one waiting for step 3
    gets the new step 3 when its wait is over, and finishes if the series is now shorter.
    Switching a cadence off takes no new enrolments; those under way carry on."""
    if not may_change_cadence(actor, cadence):
        raise NotAllowed("only admins and the manager who made this cadence may change it")
    unknown = set(data) - {"name", "description", "active", "steps"}
    errors: dict[str, str] = {name: "unknown field" for name in unknown}
    cadence = Cadence.objects.select_for_update().get(pk=cadence.pk)
    before = audit.snapshot(cadence, ["name", "description", "active"])
    if "name" in data:
        cadence.name = _clean_name(data["name"], errors)
    if "description" in data:
        cadence.description = _clean_description(data["description"], errors)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = "true or false"
        else:
            cadence.active = data["active"]
    old_steps = list(cadence.steps.order_by("position"))
    new_steps = None
    if "steps" in data:
        try:
            new_steps = _clean_steps(data["steps"])
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    changes = audit.changes_between(before, audit.snapshot(cadence, ["name", "description", "active"]))
    if new_steps is not None:
        old_lines, new_lines = [describe_step(s) for s in old_steps], [describe_step(s) for s in new_steps]
        if old_lines != new_lines:
            cadence.steps.all().delete()
            CadenceStep.objects.bulk_create([CadenceStep(cadence=cadence, **s) for s in new_steps])
            changes["steps"] = [old_lines, new_lines]
    if changes:
        cadence.updated_at = timezone.now()
        cadence.save()
        audit.audit(actor=actor, action=AuditAction.UPDATE, instance=cadence, changes=changes, source=source)
    return cadence


@transaction.atomic
def enrol_contact(*, actor, cadence: Cadence, contact, source: str = "web",
                  now: dt.datetime | None = None) -> CadenceEnrolment:
    """Enrol a contact the actor can see (the caller fetched it with a selector taking the actor)."""
    now = now or timezone.now()
    if not cadence.active:
        raise ValidationFailed({"cadence": "this cadence is switched off"})
    first = cadence.steps.order_by("position").first()
    if first is None:
        raise ValidationFailed({"cadence": "this cadence has no steps"})
    already = ValidationFailed({"contact": "already enrolled in this cadence"})
    if CadenceEnrolment.objects.filter(cadence=cadence, contact=contact, status=EnrolmentStatus.ACTIVE).exists():
        raise already
    try:
        # Two people enrolling the same contact at the same moment both pass the check above;
        # the database's one-active-enrolment constraint lets one in, and the other hears why.
        with transaction.atomic():
            enrolment = CadenceEnrolment.objects.create(
                cadence=cadence, contact=contact, owner=actor, team_id=team_id_for_owner(actor), enrolled_by=actor,
                enrolled_at=now, next_position=0, next_step_at=now + dt.timedelta(days=first.wait_days))
    except IntegrityError as exc:
        raise already from exc
    audit.audit_created(actor=actor, instance=enrolment, fields=["cadence", "contact", "owner"], source=source)
    return enrolment


def _stop(enrolment: CadenceEnrolment, reason: str, now: dt.datetime, actor=None, source: str = "system") -> None:
    enrolment.status, enrolment.ended_at, enrolment.stop_reason = EnrolmentStatus.STOPPED, now, reason[:200]
    enrolment.next_step_at = None
    enrolment.save(update_fields=["status", "ended_at", "stop_reason", "next_step_at"])
    audit.audit(actor=actor, action=AuditAction.UPDATE, instance=enrolment, source=source,
                changes={"status": [EnrolmentStatus.ACTIVE, EnrolmentStatus.STOPPED], "stop_reason": [None, reason]})


@transaction.atomic
def stop_enrolment(*, actor, enrolment: CadenceEnrolment, reason: str = "stopped by hand", source: str = "web"):
    """Stop a contact's cadence by hand: the person who enrolled them, or an admin."""
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise ValidationFailed({"status": "this enrolment has already ended"})
    if not may_stop_enrolment(actor, enrolment):
        raise NotAllowed("only the person who enrolled the contact (or an admin) may stop it")
    reason = str(reason or "").strip() or "stopped by hand"
    if len(reason) > 200:
        raise ValidationFailed({"reason": "at most 200 characters"})
    _stop(enrolment, reason, timezone.now(), actor=actor, source=source)


def _stop_conditions():
    """(reason, queryset condition) pairs, each an EXISTS on the contact's records since the
    enrolment, so every active enrolment is checked in three queries whatever their number."""
    from django.db.models import Exists, OuterRef

    from rapport.leads.models import Lead, LeadStatus
    from rapport.timeline.models import Activity, Event, EventKind

    from ..models import Meeting

    contact, since = OuterRef("contact_id"), OuterRef("enrolled_at")
    return [
        ("the contact replied", Exists(Activity.objects.filter(
            contact_id=contact, kind="email", direction="inbound", occurred_at__gte=since, deleted_at__isnull=True))),
        ("a meeting was booked", Exists(Event.objects.filter(
            contact_id=contact, kind=EventKind.MEETING, occurred_at__gte=since))
         | Exists(Meeting.objects.filter(contact_id=contact, created_at__gte=since, deleted_at__isnull=True))),
        ("the contact was disqualified", Exists(Lead.objects.filter(
            contact_id=contact, status=LeadStatus.DISQUALIFIED, disqualified_at__gte=since))),
    ]


def stop_reason(enrolment: CadenceEnrolment) -> str | None:
    """Why this enrolment should stop now, or None: a reply, a meeting, a disqualification."""
    for reason, condition in _stop_conditions():
        if CadenceEnrolment.objects.filter(pk=enrolment.pk).filter(condition).exists():
            return reason
    return None


def stop_finished_conversations(*, now: dt.datetime) -> int:
    """Stop every active enrolment whose contact replied, booked a meeting or was disqualified."""
    stopped = 0
    for reason, condition in _stop_conditions():
        for enrolment in CadenceEnrolment.objects.filter(status=EnrolmentStatus.ACTIVE).filter(condition):
            with transaction.atomic():
                _stop(enrolment, reason, now)
            stopped += 1
    return stopped


def _step_task(enrolment: CadenceEnrolment, step: CadenceStep, now: dt.datetime) -> Task:
    contact = enrolment.contact
    who = f"{contact.first_name} {contact.last_name}".strip() or contact.email or "the contact"
    if step.kind == CadenceStepKind.TASK:
        title = step.title
    elif step.kind == CadenceStepKind.EMAIL:
        title = f"E-mail {who} with the template “{step.template_name}”"
    else:
        title = step.title or f"Call {who}"
    task = Task.objects.create(
        title=title[:200], assignee_id=enrolment.owner_id, team_id=enrolment.team_id, contact=contact,
        company_id=contact.company_id, due_at=now, origin=TaskOrigin.CADENCE, enrolment=enrolment,
        reason=f"Step {step.position + 1} of the cadence “{enrolment.cadence.name}”"[:300], created_at=now,
        updated_at=now)
    audit.audit_created(actor=None, instance=task, fields=["title", "assignee", "contact", "due_at", "reason"],
                        source="system")
    return task


def advance_enrolments(*, now: dt.datetime | None = None, limit: int = 5000) -> Advanced:
    """Stop the enrolments whose contact replied, met or was disqualified; make the task of
    every due step and schedule the next one (or finish)."""
    now = now or timezone.now()
    done = Advanced(stopped=stop_finished_conversations(now=now))
    due = list(CadenceEnrolment.objects.filter(status=EnrolmentStatus.ACTIVE, next_step_at__lte=now)
               .select_related("cadence", "contact").order_by("next_step_at", "id")[:limit])
    steps: dict[int, list[CadenceStep]] = {}
    for enrolment in due:
        with transaction.atomic():
            if enrolment.cadence_id not in steps:
                steps[enrolment.cadence_id] = list(enrolment.cadence.steps.order_by("position"))
            series = steps[enrolment.cadence_id]
            if enrolment.next_position >= len(series):
                enrolment.status, enrolment.ended_at, enrolment.next_step_at = EnrolmentStatus.FINISHED, now, None
                enrolment.save(update_fields=["status", "ended_at", "next_step_at"])
                done.finished += 1
                continue
            _step_task(enrolment, series[enrolment.next_position], now)
            done.tasks += 1
            enrolment.next_position += 1
            if enrolment.next_position < len(series):
                enrolment.next_step_at = now + dt.timedelta(days=series[enrolment.next_position].wait_days)
            else:
                enrolment.status, enrolment.ended_at, enrolment.next_step_at = EnrolmentStatus.FINISHED, now, None
                done.finished += 1
            enrolment.save(update_fields=["next_position", "next_step_at", "status", "ended_at"])
    return done
