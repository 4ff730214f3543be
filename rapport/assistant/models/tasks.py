"""Tasks, follow-up rules and cadences.

A task is one thing a person should do, by a time, about a customer (contact, company, deal
or lead). Tasks are made by hand, by a follow-up rule (which records why on the task and a
trigger key so it never makes the same task twice), or by a cadence step.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import Team, TrackedModel

__all__ = [
    "TaskStatus", "TaskPriority", "TaskOrigin", "Recurrence", "Task", "RuleKind", "FollowUpRule",
    "CadenceStepKind", "Cadence", "CadenceStep", "EnrolmentStatus", "CadenceEnrolment",
]


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class TaskPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"


class TaskOrigin(models.TextChoices):
    MANUAL = "manual", "Added by hand"
    RULE = "rule", "Follow-up rule"
    CADENCE = "cadence", "Cadence step"


class Recurrence(models.TextChoices):
    NONE = "", "Does not repeat"
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every week"
    MONTHLY = "monthly", "Every month"
    EVERY_N_DAYS = "days", "Every N days"


class RuleKind(models.TextChoices):
    AFTER_MEETING = "after_meeting", "Follow up after a meeting"
    STALLED_DEAL = "stalled_deal", "Deal without activity"
    NEW_CUSTOMER = "new_customer", "New customer check-ins"
    PURCHASE_INTERVAL = "purchase_interval", "Customer past their usual purchase interval"
    LEAD_SLA = "lead_sla", "Lead nearing its first-response deadline"


class FollowUpRule(models.Model):
    """An admin-kept rule that makes tasks. One row per kind; `days` and `settings` tune it.

    `settings` holds the kind's extra knobs (check-in days of new customers, hours before a
    lead's deadline, how far back a run looks); `rapport.assistant.services.rules` documents
    each and validates them.
    """

    kind = models.CharField(max_length=30, choices=RuleKind.choices, unique=True)
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    days = models.PositiveIntegerField(default=3, help_text="The rule's N days (see its description)")
    settings = models.JSONField(default=dict, blank=True)
    priority = models.CharField(max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_created = models.PositiveIntegerField(default=0, help_text="Tasks the last run made")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Task(TrackedModel):
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    # Stored in UTC. An all-day task is due by the end of its day in the assignee's zone; its
    # due_at holds the start of that day there.
    due_at = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The assignee's team, copied when the assignee changes (visibility is one equality, decision 0002).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks", db_index=False)
    company = models.ForeignKey("people.Company", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks", db_index=False)
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="tasks", db_index=False)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="tasks", db_index=False)
    priority = models.CharField(max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    origin = models.CharField(max_length=10, choices=TaskOrigin.choices, default=TaskOrigin.MANUAL)
    rule = models.ForeignKey(FollowUpRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks",
                             db_index=False)
    # What made the rule fire (e.g. "deal:42:2026-11-01"); unique per rule, so no rule run makes
    # the same task twice, however often it runs or however many workers run it.
    trigger_key = models.CharField(max_length=120, blank=True, default="")
    enrolment = models.ForeignKey("CadenceEnrolment", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="tasks", db_index=False)
    reason = models.CharField(max_length=300, blank=True, default="", help_text="Why this task exists")
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, blank=True, default="")
    recurrence_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For every N days")
    # The task this one repeats (its previous occurrence).
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 db_index=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "trigger_key"], condition=Q(rule__isnull=False),
                                    name="task_rule_trigger_unique"),
            models.CheckConstraint(condition=Q(recurrence="days", recurrence_days__gte=1) | ~Q(recurrence="days"),
                                   name="task_every_n_days_has_n"),
        ]
        indexes = [
            # The agenda: one seller's open tasks by due time.
            models.Index(fields=["assignee", "status", "due_at"], name="task_agenda_idx"),
            models.Index(fields=["team", "status", "due_at"], name="task_team_agenda_idx"),
            models.Index(fields=["contact", "status"], condition=Q(contact__isnull=False), name="task_contact_idx"),
            models.Index(fields=["company", "status"], condition=Q(company__isnull=False), name="task_company_idx"),
            models.Index(fields=["deal", "status"], condition=Q(deal__isnull=False), name="task_deal_idx"),
            models.Index(fields=["lead", "status"], condition=Q(lead__isnull=False), name="task_lead_idx"),
            # Deleting a task (or the contact it belongs to) checks these references; without
            # an index each check would read the whole table.
            models.Index(fields=["previous"], condition=Q(previous__isnull=False), name="task_previous_idx"),
            models.Index(fields=["enrolment"], condition=Q(enrolment__isnull=False), name="task_enrolment_idx"),
            models.Index(fields=["remind_at"], condition=Q(status="open", reminded_at__isnull=True,
                                                           remind_at__isnull=False), name="task_reminder_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN

    def is_overdue(self, now=None) -> bool:
        """Past its due time; an all-day task only once its whole day is over."""
        if self.status != TaskStatus.OPEN or self.due_at is None:
            return False
        now = now or timezone.now()
        if self.all_day:
            return self.due_at + dt.timedelta(days=1) <= now
        return self.due_at < now


class CadenceStepKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "E-mail from a template"
    TASK = "task", "Task"


class Cadence(TrackedModel):
    """An ordered series of steps with waits between them, run per enrolled contact."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class CadenceStep(models.Model):
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=CadenceStepKind.choices)
    # Days to wait after the previous step (or the enrolment, for the first step).
    wait_days = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200, blank=True, default="")
    # E-mail steps name a shared template (the meetings part owns templates; kept by name so
    # a cadence survives a template being renamed or removed: the task then says which it was).
    template_name = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["cadence", "position"]
        constraints = [models.UniqueConstraint(fields=["cadence", "position"], name="cadence_step_position_unique")]

    def __str__(self) -> str:
        return f"{self.cadence}: step {self.position + 1}"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    FINISHED = "finished", "Finished"
    STOPPED = "stopped", "Stopped"


class CadenceEnrolment(models.Model):
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="enrolments")
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="cadence_enrolments",
                                db_index=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    status = models.CharField(max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    next_position = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", db_index=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cadence", "contact"], condition=Q(status="active"),
                                    name="enrolment_one_active_per_contact"),
        ]
        indexes = [
            models.Index(fields=["status", "next_step_at"], name="enrolment_due_idx"),
            models.Index(fields=["contact", "status"], name="enrolment_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.cadence}"
