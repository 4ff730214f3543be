"""Meetings, e-mail templates and sent messages, calendar feed tokens, mail preferences."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import Team, TrackedModel

__all__ = [
    "AttendeeResponse", "CalendarFeedToken", "EmailTemplate", "MailKind", "MailPreferences", "MailStatus",
    "Meeting", "MeetingAttendee", "MeetingStatus", "SentEmail", "TemplateSharing",
]


def new_meeting_uid() -> str:
    # Calendar clients match updates and cancellations to the event by this UID, so it is made
    # once and never changes; the domain part keeps it globally unique across installations.
    return f"{uuid.uuid4()}@rapport"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    DONE = "done", "Done"


class Meeting(TrackedModel):
    """A meeting the organiser arranged with contacts and colleagues.

    `uid` and `sequence` are what calendar clients use: every invitation, update and
    cancellation carries the same UID, and each change raises the sequence so clients replace
    the copy they hold instead of adding a second one.
    """

    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The zone the organiser thinks in: invitations carry it as TZID so a 09:00 meeting stays
    # 09:00 across a daylight-saving change in the attendees' calendars.
    time_zone = models.CharField(max_length=64, default="UTC")
    organiser = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  db_index=False)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    location = models.CharField(max_length=300, blank=True, default="")
    video_url = models.URLField(max_length=500, blank=True, default="")
    agenda = models.TextField(blank=True, default="")
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="meetings", db_index=False)
    company = models.ForeignKey("people.Company", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="meetings", db_index=False)
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="meetings", db_index=False)
    uid = models.CharField(max_length=255, unique=True, default=new_meeting_uid, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    outcome_note = models.TextField(blank=True, default="")
    next_step = models.CharField(max_length=300, blank=True, default="")
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    # The logged meeting (with its minutes) the outcome became on the timeline.
    activity = models.ForeignKey("timeline.Activity", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", db_index=False)

    class Meta:
        indexes = [
            # The agenda and the feed read one organiser's meetings by time.
            models.Index(fields=["organiser", "starts_at"], name="meeting_organiser_idx"),
            models.Index(fields=["team", "starts_at"], name="meeting_team_idx"),
            models.Index(fields=["contact", "starts_at"], condition=Q(contact__isnull=False),
                         name="meeting_contact_idx"),
            models.Index(fields=["deal", "starts_at"], condition=Q(deal__isnull=False), name="meeting_deal_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d %H:%M})"

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def awaits_outcome(self) -> bool:
        return (self.status == MeetingStatus.SCHEDULED and self.deleted_at is None
                and self.ends_at <= timezone.now() and self.outcome_recorded_at is None)


class AttendeeResponse(models.TextChoices):
    # The PARTSTAT values of RFC 5545 that an invitation's reply can carry.
    NEEDS_ACTION = "needs-action", "No answer yet"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    TENTATIVE = "tentative", "Maybe"


class MeetingAttendee(models.Model):
    """One person invited: a contact or a user, with the address the invitation went to.

    The address is a snapshot: if the contact's e-mail changes later, updates and the
    cancellation still reach the calendar that holds the original invitation.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", db_index=False)
    name = models.CharField(max_length=200, blank=True, default="")
    email = models.CharField(max_length=254)
    response = models.CharField(max_length=12, choices=AttendeeResponse.choices,
                                default=AttendeeResponse.NEEDS_ACTION)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "email"], name="meeting_attendee_unique_email"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class TemplateSharing(models.TextChoices):
    OWNER = "owner", "Only me"
    TEAM = "team", "My team"


class EmailTemplate(TrackedModel):
    """A reusable e-mail with merge fields such as {{ first_name }}, private or shared with a team."""

    name = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    sharing = models.CharField(max_length=5, choices=TemplateSharing.choices, default=TemplateSharing.TEAM)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "name"], name="email_template_owner_idx"),
            models.Index(fields=["team", "name"], name="email_template_team_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class MailKind(models.TextChoices):
    CONTACT = "contact", "E-mail to a contact"
    INVITATION = "invitation", "Meeting invitation"
    UPDATE = "update", "Meeting update"
    CANCELLATION = "cancellation", "Meeting cancellation"
    REMINDER = "reminder", "Task reminder"
    DIGEST = "digest", "Daily digest"


class MailStatus(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class SentEmail(models.Model):
    """Every message Rapport handed to the mail server (or failed to), with why it was sent.

    `dedupe_key` makes background sends idempotent: a reminder or digest that was already sent
    for the same trigger is not sent again when the job runs twice.
    """

    kind = models.CharField(max_length=12, choices=MailKind.choices)
    status = models.CharField(max_length=6, choices=MailStatus.choices, default=MailStatus.SENT)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", db_index=False)
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", db_index=False)
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", db_index=False)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails",
                                db_index=False)
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 db_index=False)
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    message_id = models.CharField(max_length=300, blank=True, default="")
    error = models.TextField(blank=True, default="")
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "sent_at"], condition=Q(contact__isnull=False), name="sent_email_contact_idx"),
            models.Index(fields=["meeting", "sent_at"], condition=Q(meeting__isnull=False), name="sent_email_meeting_idx"),
        ]
        constraints = [
            # Only successful sends count as done: a failed reminder is tried again next run.
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(status="sent") & ~Q(dedupe_key=""),
                                    name="sent_email_once_per_trigger"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address}: {self.subject}"


class CalendarFeedToken(models.Model):
    """The secret in a user's private calendar feed URL. Only its SHA-256 is stored: a leaked
    database copy does not reveal anyone's calendar, and the user sees the URL once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so the settings page can tell two feeds apart without the secret.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed {self.prefix}… of {self.user}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class MailPreferences(models.Model):
    """Which e-mails Rapport sends a user on its own; both on until the user opts out."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preferences")
    task_reminders = models.BooleanField(default=True)
    daily_digest = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "mail preferences"

    def __str__(self) -> str:
        return f"mail preferences of {self.user}"
