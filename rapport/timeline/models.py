"""The timeline: append-only events, and the activities sellers log (note, call, meeting, e-mail)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.core.models import Team, TrackedModel


class EventKind(models.TextChoices):
    NOTE = "note", "Note"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "E-mail"
    PAGE_VIEW = "page_view", "Page view"
    FORM = "form", "Form submitted"
    PURCHASE = "purchase", "Purchase"
    CASE = "case", "Case"
    SURVEY = "survey", "Survey answer"
    REFERRAL = "referral", "Referral"
    CAMPAIGN_OPEN = "campaign_open", "Campaign opened"
    CAMPAIGN_CLICK = "campaign_click", "Campaign clicked"
    STAGE_CHANGE = "stage_change", "Stage changed"
    DEAL = "deal", "Deal"
    PROPOSAL = "proposal", "Proposal"
    RECORD = "record", "Record changed"
    LEAD = "lead", "Lead"
    TASK = "task", "Task done or cancelled"


ACTIVITY_KINDS = (EventKind.NOTE, EventKind.CALL, EventKind.MEETING, EventKind.EMAIL)


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    LEFT_VOICEMAIL = "voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Activity(TrackedModel):
    """Something a person did with a customer and logged: the editable side of an event."""

    kind = models.CharField(max_length=10, choices=[(k.value, k.label) for k in ACTIVITY_KINDS])
    occurred_at = models.DateTimeField(default=timezone.now)
    # Indexed together with occurred_at below; single-column indexes would only slow writes.
    contact = models.ForeignKey(
        "people.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="activities",
        db_index=False,
    )
    company = models.ForeignKey(
        "people.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="activities",
        db_index=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The deal the time was spent on: cost of sales adds up these minutes.
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities", db_index=False
    )
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="")
    # Minutes spent with the customer: time with customers is a first-class figure.
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=30, blank=True, default="", choices=CallOutcome.choices)
    direction = models.CharField(max_length=10, blank=True, default="", choices=Direction.choices)
    attendees = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="activity_contact_idx"),
            models.Index(fields=["company", "occurred_at"], name="activity_company_idx"),
            models.Index(fields=["owner", "occurred_at"], name="activity_owner_idx"),
            models.Index(fields=["deal", "occurred_at"], name="activity_deal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.body[:40]}"


class Event(models.Model):
    """One thing that happened in a relationship. Never updated, never deleted by users."""

    kind = models.CharField(max_length=20, choices=EventKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Indexed together with occurred_at below; no separate single-column indexes.
    contact = models.ForeignKey(
        "people.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    company = models.ForeignKey(
        "people.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    summary = models.CharField(max_length=300, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="event_contact_idx"),
            models.Index(fields=["company", "occurred_at"], name="event_company_idx"),
            models.Index(fields=["activity"], name="event_activity_idx"),
            # Partial: most events concern no deal, and the index should not carry them.
            models.Index(fields=["deal", "occurred_at"], condition=models.Q(deal__isnull=False), name="event_deal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d}: {self.summary}"
