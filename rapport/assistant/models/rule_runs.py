"""A run of the follow-up rules an admin asked for with "Run now".

The rules take minutes on a big database, so the page queues the run for the background
worker; this row is what the page reads to say whether it is queued, running, done or failed,
and what it made. Scheduled runs (cron, `rapport assistant rules`) leave no row: each rule's
own `last_run_at` and `last_created` tell of them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["RuleRunStatus", "FollowUpRun"]


class RuleRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class FollowUpRun(models.Model):
    # Empty: every enabled rule, then the cadences; else the one rule of this kind.
    kind = models.CharField(max_length=30, blank=True, default="")
    status = models.CharField(max_length=10, choices=RuleRunStatus.choices, default=RuleRunStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0, help_text="Tasks the run made")
    # Tasks made per rule kind, and by the cadences ("cadences"), for the page.
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="followuprun_status_idx")]

    def __str__(self) -> str:
        return f"Follow-up run #{self.pk} ({self.kind or 'all rules'}, {self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (RuleRunStatus.DONE, RuleRunStatus.FAILED)
