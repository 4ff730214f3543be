"""Routing and hand-off: assignment rules, seller capacity and the first-response SLA.

Rules are read in order; the first whose conditions all hold decides who gets a new lead. A
condition left empty matches anything, so a rule with no conditions at all catches every lead
(useful as the last rule). Each rule gives the lead to one user or takes turns among the sellers
of a team; sellers at their capacity are skipped, and when nobody is left the fallback owner of
the routing settings takes the lead.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.core.models import Team, TrackedModel

__all__ = ["AssignmentRule", "SellerCapacity", "RoutingSettings", "RoundRobinTurn", "NoticeKind", "LeadNotice",
           "WEEKDAYS", "DEFAULT_BUSINESS_HOURS"]

# Monday first, as Python's datetime.weekday() counts.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_BUSINESS_HOURS = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}


class AssignmentRule(TrackedModel):
    """One line of the routing table: conditions on the lead, and who gets it when they hold."""

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, help_text="Rules are tried from the lowest position up.")
    active = models.BooleanField(default=True)
    # Each condition is a list of accepted values; an empty list accepts anything. Countries are
    # ISO codes, size bands the company size bands, sources the lead sources.
    countries = models.JSONField(default=list, blank=True)
    industries = models.JSONField(default=list, blank=True)
    size_bands = models.JSONField(default=list, blank=True)
    sources = models.JSONField(default=list, blank=True)
    # Exactly one of these two: the rule's service layer enforces it.
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="Take turns among this team's sellers.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SellerCapacity(models.Model):
    """How many open leads a seller may hold at once, and whether they take new ones at all."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lead_capacity")
    max_open_leads = models.PositiveIntegerField(default=50)
    accepts_leads = models.BooleanField(default=True, help_text="Off while on holiday: round-robin skips them.")

    class Meta:
        verbose_name_plural = "seller capacities"

    def __str__(self) -> str:
        return f"{self.user}: {self.max_open_leads}"


class RoutingSettings(models.Model):
    """The one row of routing settings (pk 1): fallback owner, default capacity and the SLA."""

    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Gets a lead no rule could place (nobody matched, or everyone was at capacity).",
    )
    default_capacity = models.PositiveIntegerField(
        default=50, help_text="Open leads a seller may hold when they have no capacity of their own."
    )
    first_response_hours = models.DecimalField(
        max_digits=5, decimal_places=2, default=4, help_text="Business hours a seller has to make first contact."
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    # {"mon": [["09:00", "17:00"]], ...}: days missing or empty are closed. Several spans per day
    # allow a lunch break.
    business_hours = models.JSONField(default=dict, blank=True)
    # ["2026-12-25", ...]: closed all day.
    holidays = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "routing settings"

    def __str__(self) -> str:
        return "Routing settings"


class RoundRobinTurn(models.Model):
    """Whose turn it is in a team: a counter raised in the same statement that reads it.

    `turns` is only ever raised with an UPDATE ... SET turns = turns + 1 inside the routing
    transaction, which takes the row's write lock first (PostgreSQL row lock, SQLite database
    lock); two leads routed at the same moment therefore get consecutive turns, never the same.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+")
    turns = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.team}: {self.turns}"


class NoticeKind(models.TextChoices):
    HANDOFF = "handoff", "New lead for you"
    ESCALATION = "escalation", "Overdue lead"


class LeadNotice(models.Model):
    """A message for one user about one lead, shown on their queue until they dismiss it."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                  db_index=False)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=NoticeKind.choices)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "created_at"], name="lead_notice_inbox_idx")]
        constraints = [
            # A hand-off is announced once per lead and owner; an escalation once per manager.
            models.UniqueConstraint(fields=["lead", "recipient", "kind"], name="lead_notice_once"),
        ]

    def __str__(self) -> str:
        return self.message
