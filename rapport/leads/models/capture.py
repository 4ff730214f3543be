"""Capture: tracked web sites, anonymous visitors and their page views, web forms, their
submissions and the consent given through them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import TrackedModel


def new_public_key() -> str:
    # Public, not secret: it only names a site or form in URLs and snippets. Random so that one
    # form's address does not reveal how many others exist.
    return secrets.token_urlsafe(9)


class ConsentMode(models.TextChoices):
    ALWAYS = "always", "Track every visitor (who has not opted out)"
    AFTER_CONSENT = "after_consent", "Track only after the visitor consents"


class TrackedSite(TrackedModel):
    """A web site that runs the tracking script: where it may send from and when it may track."""

    name = models.CharField(max_length=120)
    key = models.CharField(max_length=20, unique=True, default=new_public_key, editable=False)
    # Scheme + host (+ port), e.g. "https://www.example.com". Page views from other origins are refused.
    origins = models.JSONField(default=list, blank=True)
    consent_mode = models.CharField(max_length=20, choices=ConsentMode.choices, default=ConsentMode.AFTER_CONSENT)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """A browser known only by the random id the tracking script gave it, until it says who it is."""

    anonymous_id = models.CharField(max_length=64, unique=True)
    site = models.ForeignKey(TrackedSite, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", db_index=False)
    first_seen_at = models.DateTimeField(default=timezone.now)
    identified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Only identified visitors: "which browsers are this contact's" without indexing the anonymous crowd.
            models.Index(fields=["contact"], condition=Q(contact__isnull=False), name="visitor_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"Visitor {self.anonymous_id[:8]}"


class VisitorPageView(models.Model):
    """Which anonymous visitor a page-view event belongs to, until the visitor becomes known.

    Why a join table and not a `visitor` column on the timeline's events: the events table is the
    busiest table of the product (every contact page and the insights engine read it), and a
    column plus index there would be paid for by every event of every kind, forever. Here only
    anonymous page views get a row (two integers, keyed by the event id), written in the same
    bulk insert round as the events. When the visitor becomes known their events get the
    contact's id — so the contact timeline stays the one indexed read by (contact, time) it
    always was — and these rows are deleted; later page views go straight to the contact.
    """

    event = models.OneToOneField("timeline.Event", primary_key=True, on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="anonymous_views")


class WebForm(TrackedModel):
    """A lead form a marketer builds: its fields, consent wording and where its leads go."""

    name = models.CharField(max_length=120, help_text="For you; visitors see the title.")
    slug = models.CharField(max_length=20, unique=True, default=new_public_key, editable=False)
    title = models.CharField(max_length=200, blank=True, default="")
    intro = models.TextField(blank=True, default="")
    submit_label = models.CharField(max_length=60, default="Send")
    thank_you = models.TextField(default="Thank you! We will be in touch soon.")
    # The consent checkbox's exact wording: what is stored with each consent, word for word.
    consent_wording = models.TextField(blank=True, default="")
    consent_required = models.BooleanField(default=False, help_text="The form cannot be sent without consent.")
    # Who the form acts for: contacts and companies it creates are theirs, and it updates only
    # existing contacts they may see. Leads go through routing unless `route_leads` is off.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    route_leads = models.BooleanField(default=True)
    lead_title = models.CharField(max_length=200, blank=True, default="")
    campaign = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebFormField(models.Model):
    """One field of a form and where its value goes ("contact.email", "lead.need", "company.custom.tier")."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="fields")
    target = models.CharField(max_length=80)
    label = models.CharField(max_length=120)
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=200, blank=True, default="")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "target"], name="webform_field_target_unique")]

    def __str__(self) -> str:
        return f"{self.label} → {self.target}"


class FormSubmission(models.Model):
    """What a visitor sent, kept as sent: the contact and lead it made or updated point back here."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    submitted_at = models.DateTimeField(default=timezone.now)
    values = models.JSONField(default=dict, blank=True)
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", db_index=False)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    visitor = models.ForeignKey(Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_index=False)
    page_url = models.CharField(max_length=2000, blank=True, default="")
    utm = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["form", "submitted_at"], name="submission_form_idx")]


class ConsentRecord(models.Model):
    """A contact's consent: the exact words they agreed to, when, and through what. Append-only."""

    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="+", db_index=False)
    wording = models.TextField()
    given_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=300, help_text="e.g. web form 'Demo request' on https://…")
    form = models.ForeignKey(WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False)
    submission = models.ForeignKey(FormSubmission, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_index=False)

    class Meta:
        indexes = [models.Index(fields=["contact", "given_at"], name="consent_contact_idx")]

    def __str__(self) -> str:
        return f"Consent of contact {self.contact_id} on {self.given_at:%Y-%m-%d}"


__all__ = ["ConsentMode", "ConsentRecord", "FormSubmission", "TrackedSite", "Visitor", "VisitorPageView", "WebForm",
           "WebFormField"]
