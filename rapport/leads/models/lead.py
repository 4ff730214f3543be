"""Leads: a contact's buying inquiry, from its first touch to a deal, the nurture list or the bin.

A lead is not a person: the person is the contact (and company) in `people`. One contact can
make several inquiries over the years; each is a lead with its own source, qualification facts,
scores and outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.core.models import Team, TrackedModel

MONEY = {"max_digits": 14, "decimal_places": 2}


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    TRACKING = "tracking", "Website tracking"
    IMPORT = "import", "Import"
    API = "api", "API"
    REFERRAL = "referral", "Referral"
    CAMPAIGN = "campaign", "Campaign"
    EVENT = "event", "Event"
    MANUAL = "manual", "Manual"


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    WORKING = "working", "Working"
    QUALIFIED = "qualified", "Qualified"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"
    NURTURE = "nurture", "Nurture"


# Statuses in which a lead still waits for a seller (the queue, the SLA and the scores concern these).
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)


class Authority(models.TextChoices):
    """The contact's part in the buying decision; the values match a deal contact's roles."""

    UNKNOWN = "", "Unknown"
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    USER = "user", "User"
    FINANCE = "finance", "Finance"
    OTHER = "other", "Other"


class PurchaseTimeline(models.TextChoices):
    """When the prospect intends to buy."""

    UNKNOWN = "", "Unknown"
    NOW = "now", "Within a month"
    QUARTER = "quarter", "In 1–3 months"
    HALF_YEAR = "half_year", "In 3–6 months"
    YEAR = "year", "In 6–12 months"
    LATER = "later", "Later than a year"


class BudgetBand(models.TextChoices):
    """For prospects who give a range rather than an amount (in the lead's budget currency)."""

    UNKNOWN = "", "Unknown"
    UNDER_1K = "under_1k", "Under 1,000"
    FROM_1K = "1k_10k", "1,000–10,000"
    FROM_10K = "10k_50k", "10,000–50,000"
    FROM_50K = "50k_250k", "50,000–250,000"
    OVER_250K = "over_250k", "Over 250,000"


class DisqualifyReason(models.Model):
    """An admin-kept list: a lead is never dropped without one of these."""

    label = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class Lead(TrackedModel):
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="leads")
    company = models.ForeignKey(
        "people.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    title = models.CharField(max_length=200, blank=True, default="", help_text="What they asked about, in short.")
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.MANUAL)
    campaign = models.CharField(max_length=200, blank=True, default="")
    utm_source = models.CharField(max_length=200, blank=True, default="")
    utm_medium = models.CharField(max_length=200, blank=True, default="")
    utm_campaign = models.CharField(max_length=200, blank=True, default="")
    utm_term = models.CharField(max_length=200, blank=True, default="")
    utm_content = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads",
        db_index=False,
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)

    # The lead's clock: first touch is the prospect's first known interaction (an anonymous page view
    # can predate the lead); first response is a seller's first call, e-mail or meeting after it.
    first_touch_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    qualified_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    disqualified_at = models.DateTimeField(null=True, blank=True)

    # Qualification facts (budget, authority, need, timeline).
    budget_amount = models.DecimalField(null=True, blank=True, **MONEY)
    budget_currency = models.CharField(max_length=3, blank=True, default="")
    budget_band = models.CharField(max_length=20, choices=BudgetBand.choices, blank=True, default="")
    authority = models.CharField(max_length=20, choices=Authority.choices, blank=True, default="")
    need_categories = models.ManyToManyField("sales.ProductCategory", blank=True, related_name="leads")
    need = models.TextField(blank=True, default="", help_text="The need in the customer's own words.")
    timeline = models.CharField(max_length=20, choices=PurchaseTimeline.choices, blank=True, default="")

    disqualify_reason = models.ForeignKey(
        DisqualifyReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    disqualify_note = models.TextField(blank=True, default="")
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    # Scores: fit (rules met and missed), engagement (decayed events), predictive (the trained model's
    # calibrated chance of a won deal). `score` orders the queue: the predictive chance as 0–100 when
    # a model exists, else the rule score. Each score's reasons are stored beside it.
    fit_score = models.PositiveSmallIntegerField(null=True, blank=True)
    fit_details = models.JSONField(default=dict, blank=True)
    engagement_score = models.FloatField(null=True, blank=True)
    predicted_chance = models.FloatField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    score_reasons = models.JSONField(default=list, blank=True)
    score_model_version = models.CharField(max_length=40, blank=True, default="")
    scored_at = models.DateTimeField(null=True, blank=True)

    assignment_reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["owner", "status", "score"], name="lead_owner_queue_idx"),
            models.Index(fields=["team", "status", "score"], name="lead_team_queue_idx"),
            models.Index(fields=["status", "created_at"], name="lead_status_idx"),
            models.Index(fields=["source", "campaign"], name="lead_source_idx"),
            models.Index(fields=["company"], name="lead_company_idx"),
            models.Index(fields=["response_due_at"], condition=models.Q(first_response_at__isnull=True),
                         name="lead_sla_idx"),
            # The lead reports: the period's range first, then every column their queries read, so a
            # report reads this index alone instead of the wide lead rows (see routing/reports.py).
            models.Index(fields=["created_at", "source", "campaign", "status", "disqualify_reason", "qualified_at",
                                 "first_response_at", "owner", "team", "deal"],
                         condition=models.Q(deleted_at__isnull=True), name="lead_report_idx"),
        ]

    def __str__(self) -> str:
        return self.title or f"Lead {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LeadRequestKey(models.Model):
    """An API client's `Idempotency-Key` for creating leads, kept per user.

    A retried request (same user, same key) gets the first reply again instead of a second lead;
    the same key with a different body is refused, because the client has mixed up two requests.
    Only successful requests are kept: a refused one may be corrected and sent again with its key.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=40)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=201)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="lead_request_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="lead_request_key_age_idx")]
