"""Scoring: the ideal-customer fit rules, engagement settings and trained predictive models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.core.models import TrackedModel

__all__ = ["DEFAULT_EVENT_WEIGHTS", "FitAttribute", "FitOperator", "FitRule", "ModelStatus", "ScoreModel",
           "ScoringSettings"]


class FitAttribute(models.TextChoices):
    """What a fit rule looks at. Company facts fall back to the contact's where the contact has them."""

    INDUSTRY = "industry", "Industry"
    SIZE_BAND = "size_band", "Company size"
    COUNTRY = "country", "Country"
    BUDGET = "budget", "Budget floor"
    NEED = "need", "Need categories"
    CUSTOM = "custom", "Custom field"


class FitOperator(models.TextChoices):
    ONE_OF = "one_of", "is one of"
    AT_LEAST = "at_least", "is at least"
    AT_MOST = "at_most", "is at most"


class FitRule(TrackedModel):
    """One trait of the ideal customer, worth `weight` points when a lead has it.

    A lead's fit is the share of the active rules' weight it meets, 0-100. A rule whose fact the
    lead has not told us yet (no budget, no company) counts as missed and is marked "unknown", so
    the seller knows what to ask.
    """

    label = models.CharField(max_length=200, blank=True, default="",
                             help_text="How the rule reads on a lead; made from the rule when left empty")
    attribute = models.CharField(max_length=20, choices=FitAttribute.choices)
    # Custom fields only: which one (a company's or a contact's, by the field's entity).
    custom_field = models.ForeignKey("people.CustomField", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    operator = models.CharField(max_length=10, choices=FitOperator.choices, default=FitOperator.ONE_OF)
    # one_of: the accepted values (industries, size bands, country codes, category ids, choices).
    values = models.JSONField(default=list, blank=True)
    # at_least / at_most: the number; for a budget floor, in `currency`.
    number = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    weight = models.PositiveSmallIntegerField(default=10, help_text="1-100 points")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label or f"{self.get_attribute_display()} rule"


# Points one event is worth on the day it happens; each half-life halves them. The e-mail click
# is a campaign click; "email" is a logged e-mail (a reply usually), "form" a form submission.
DEFAULT_EVENT_WEIGHTS = {"page_view": 1.0, "campaign_open": 0.5, "campaign_click": 3.0, "form": 10.0,
                         "email": 2.0, "call": 3.0, "meeting": 15.0}


def default_event_weights() -> dict:
    return dict(DEFAULT_EVENT_WEIGHTS)


class ScoringSettings(models.Model):
    """The installation's one row of scoring settings (`ScoringSettings.current()`)."""

    # Leads whose fit is below this go to nurture on arrival; 0 turns that off.
    poor_fit_threshold = models.PositiveSmallIntegerField(default=30)
    half_life_days = models.FloatField(default=14.0)
    event_weights = models.JSONField(default=default_event_weights)
    # Training refuses (and the rule scores stay) with fewer closed leads than this, or fewer
    # than a tenth of it on either side (won / not won).
    min_outcomes = models.PositiveIntegerField(default=200)
    # Without a trained model the queue's score is this share of fit plus the rest of engagement.
    fit_share = models.PositiveSmallIntegerField(default=70, help_text="Percent, 0-100")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name_plural = "scoring settings"

    def __str__(self) -> str:
        return "Scoring settings"

    @classmethod
    def current(cls) -> ScoringSettings:
        row = cls.objects.order_by("id").first()
        return row if row is not None else cls.objects.create()


class ModelStatus(models.TextChoices):
    READY = "ready", "In use"
    TOO_FEW = "too_few", "Too few outcomes"


class ScoreModel(models.Model):
    """One run of `rapport leads train`: the fitted model, what it was fed and how well it did.

    The latest row decides how leads are scored: a ready model scores them, a "too few outcomes"
    row means the rule scores are used. The estimator is stored in the database (not a file): it
    is a few kilobytes, it is backed up and restored with the data it was trained on, it reaches
    every web server and worker without a shared disk, and it is written in the same transaction
    as its metrics, so the row and the model can never disagree.
    """

    version = models.CharField(max_length=40, unique=True)
    trained_at = models.DateTimeField(default=timezone.now)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status = models.CharField(max_length=10, choices=ModelStatus.choices)
    note = models.TextField(blank=True, default="")
    features = models.JSONField(default=list, blank=True)
    # roc_auc, brier, base_rate, calibration (a list of bins), train/holdout sizes and dates.
    metrics = models.JSONField(default=dict, blank=True)
    outcomes = models.PositiveIntegerField(default=0)
    wins = models.PositiveIntegerField(default=0)
    # joblib dump of a dict {"pipeline": ..., "means": ..., ...}; loaded only when the checksum and
    # the scikit-learn version match (an unpickled estimator from another version may misbehave).
    estimator = models.BinaryField(null=True, blank=True)
    estimator_sha256 = models.CharField(max_length=64, blank=True, default="")
    sklearn_version = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        ordering = ["-trained_at", "-id"]

    def __str__(self) -> str:
        return f"Lead model {self.version} ({self.get_status_display()})"
