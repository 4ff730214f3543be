"""Demo tasks and a cadence, and how to undo them.

Each demo seller gets a day's worth of hand-made tasks in every state (overdue, due today, later,
snoozed, repeating, done, cancelled) about their own deals and contacts, then the shipped
follow-up rules run over the whole demo as the background worker would, so the Today page
is full and every line says why it is there. One cadence is defined and a few contacts enrolled.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import connection, transaction

from rapport.assistant.models import (
    Cadence,
    CadenceEnrolment,
    CadenceStep,
    Recurrence,
    Task,
    TaskPriority,
    TaskStatus,
)
from rapport.core.visibility import team_id_for_owner
from rapport.people.models import Contact
from rapport.sales.models import Deal, DealStatus

# (title, hours from now to due, status, priority, recurrence, snoozed hours)
HAND_MADE = [
    ("Send the revised quote", -50, TaskStatus.OPEN, TaskPriority.HIGH, "", None),
    ("Call back about the delivery date", -20, TaskStatus.OPEN, TaskPriority.NORMAL, "", None),
    ("Confirm the pilot's start date", -3, TaskStatus.OPEN, TaskPriority.NORMAL, "", None),
    ("Prepare the renewal figures", 2, TaskStatus.OPEN, TaskPriority.HIGH, "", None),
    ("Introduce our support lead", 5, TaskStatus.OPEN, TaskPriority.LOW, "", None),
    ("Weekly pipeline clean-up", 1, TaskStatus.OPEN, TaskPriority.NORMAL, Recurrence.WEEKLY, None),
    ("Ask for a referral", -6, TaskStatus.OPEN, TaskPriority.LOW, "", 20),
    ("Draft the case study", 72, TaskStatus.OPEN, TaskPriority.NORMAL, "", None),
    ("Book the quarterly review", 170, TaskStatus.OPEN, TaskPriority.NORMAL, "", None),
    ("Send the welcome pack", -30, TaskStatus.DONE, TaskPriority.NORMAL, "", None),
    ("Check the invoice went out", -8, TaskStatus.DONE, TaskPriority.LOW, "", None),
    ("Chase the old tender", -100, TaskStatus.CANCELLED, TaskPriority.LOW, "", None),
]


@dataclass
class TasksSummary:
    counts: dict = field(default_factory=dict)
    id_ranges: dict = field(default_factory=dict)


def _highest(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
        return cursor.fetchone()[0] or 0


def load_tasks(*, now: dt.datetime, seed: int, seller_ids: list[int], run_rules: bool = True) -> TasksSummary:
    from django.contrib.auth import get_user_model

    from rapport.assistant.services.rules import run_follow_up_rules

    rng = random.Random(seed * 31 + 6)
    first = {"task": _highest(Task) + 1, "cadence": _highest(Cadence) + 1,
             "enrolment": _highest(CadenceEnrolment) + 1}
    summary = TasksSummary()
    sellers = list(get_user_model().objects.filter(pk__in=seller_ids).order_by("id"))
    rows = []
    with transaction.atomic():
        for seller in sellers:
            team_id = team_id_for_owner(seller)
            deals = list(Deal.objects.filter(owner=seller, status=DealStatus.OPEN, deleted_at__isnull=True)
                         .order_by("-amount").values_list("id", "company_id")[:8])
            contacts = list(Contact.objects.filter(owner=seller, deleted_at__isnull=True).order_by("id")
                            .values_list("id", "company_id")[:8])
            for i, (title, hours, status, priority, recurrence, snooze) in enumerate(HAND_MADE):
                due = now + dt.timedelta(hours=hours)
                about = {}
                if i % 2 == 0 and deals:
                    deal_id, company_id = deals[i // 2 % len(deals)]
                    about = {"deal_id": deal_id, "company_id": company_id}
                elif contacts:
                    contact_id, company_id = contacts[i % len(contacts)]
                    about = {"contact_id": contact_id, "company_id": company_id}
                done = status != TaskStatus.OPEN
                rows.append(Task(
                    title=title, due_at=due, assignee=seller, team_id=team_id, priority=priority, status=status,
                    recurrence=recurrence, created_by=seller, created_at=due - dt.timedelta(days=3),
                    updated_at=now, completed_at=due if done else None, completed_by=seller if done else None,
                    snoozed_until=now + dt.timedelta(hours=snooze) if snooze else None,
                    remind_at=due - dt.timedelta(minutes=30) if hours > 0 and status == TaskStatus.OPEN else None,
                    **about))
        Task.objects.bulk_create(rows)
        cadence = Cadence.objects.create(name="New customer welcome", description="Three touches in the first fortnight",
                                         created_by=sellers[0] if sellers else None)
        CadenceStep.objects.bulk_create([
            CadenceStep(cadence=cadence, position=0, kind="email", wait_days=0, template_name="Thank you for your time"),
            CadenceStep(cadence=cadence, position=1, kind="call", wait_days=3, title=""),
            CadenceStep(cadence=cadence, position=2, kind="task", wait_days=7, title="Send a short usage tip"),
        ])
        enrolments = []
        for seller in sellers:
            for contact_id, _ in list(Contact.objects.filter(owner=seller).order_by("-id")
                                      .values_list("id", "company_id")[:2]):
                enrolments.append(CadenceEnrolment(
                    cadence=cadence, contact_id=contact_id, owner=seller, team_id=team_id_for_owner(seller),
                    enrolled_by=seller, enrolled_at=now - dt.timedelta(days=rng.randint(1, 5)),
                    next_position=1, next_step_at=now - dt.timedelta(hours=1)))
        CadenceEnrolment.objects.bulk_create(enrolments)
    summary.counts = {"hand_made_tasks": len(rows), "enrolments": len(enrolments)}
    if run_rules:
        run = run_follow_up_rules(now=now)
        summary.counts["rule_tasks"] = run.created
    summary.id_ranges = {key: [first[key], _highest(model)]
                         for key, model in (("task", Task), ("cadence", Cadence), ("enrolment", CadenceEnrolment))
                         if _highest(model) >= first[key]}
    return summary


def reset_tasks(dataset, cursor) -> None:
    """Remove the demo's tasks, cadence and enrolments, and any task about a demo record."""
    q = connection.ops.quote_name
    ranges = dataset.id_ranges
    task = q(Task._meta.db_table)
    for column, key in (("id", "task"), ("contact_id", "contact"), ("company_id", "company"), ("deal_id", "deal"),
                        ("lead_id", "lead")):
        span = ranges.get(key)
        if span:
            cursor.execute(f"UPDATE {task} SET previous_id = NULL WHERE previous_id IN "
                           f"(SELECT id FROM {task} WHERE {q(column)} BETWEEN %s AND %s)", span)
            cursor.execute(f"DELETE FROM {task} WHERE {q(column)} BETWEEN %s AND %s", span)
    if ranges.get("task"):
        cursor.execute("DELETE FROM core_auditentry WHERE record_type = 'assistant.task' AND record_id BETWEEN %s AND %s",
                       ranges["task"])
    enrolment = q(CadenceEnrolment._meta.db_table)
    for column, key in (("id", "enrolment"), ("contact_id", "contact")):
        if ranges.get(key):
            cursor.execute(f"DELETE FROM {enrolment} WHERE {q(column)} BETWEEN %s AND %s", ranges[key])
    if ranges.get("cadence"):
        cursor.execute(f"DELETE FROM {q(CadenceStep._meta.db_table)} WHERE cadence_id BETWEEN %s AND %s",
                       ranges["cadence"])
        cursor.execute(f"DELETE FROM {enrolment} WHERE cadence_id BETWEEN %s AND %s", ranges["cadence"])
        cursor.execute(f"DELETE FROM {q(Cadence._meta.db_table)} WHERE id BETWEEN %s AND %s", ranges["cadence"])
