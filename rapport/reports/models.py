"""What the insights engine concluded, stored where pages and lists can read it fast.

`rapport insights refresh` loads orders and events, runs `rapport.insights` (pure maths, no
Django) and writes one `CustomerScore` per customer (contact) and per company, replacing the
previous refresh's rows; `ModelRun` keeps what was fitted, when, and why that model was chosen.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.core.models import Team


class ModelRun(models.Model):
    """One refresh: the fitted models, the choice between them and how long it took."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateField(help_text="Scores describe customers as of this day")
    engine_version = models.CharField(max_length=20)
    # "bgnbd" or "pareto_nbd": the model that won on the holdout window.
    chosen_model = models.CharField(max_length=20, blank=True, default="")
    why = models.TextField(blank=True, default="")
    # Parameters, standard errors, log-likelihoods and holdout errors of every model fitted.
    fits = models.JSONField(default=dict, blank=True)
    customers = models.PositiveIntegerField(default=0)
    orders = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, default="running", help_text="queued, running, done or failed")
    error = models.TextField(blank=True, default="")
    companies = models.PositiveIntegerField(default=0)
    # Customers scored by their renewals (shifted-beta-geometric) rather than purchase timing alone.
    contractual = models.PositiveIntegerField(default=0)
    # Orders in a currency with no exchange rate on their date: counted as purchases, value unknown.
    orders_without_rate = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True, help_text="Wall-clock duration of the refresh")
    # Seconds per stage (load, summarise, fit, score, health, store), for the run page and benchmarks.
    timings = models.JSONField(default=dict, blank=True)
    # The admin who pressed "Refresh now"; empty for scheduled and command-line runs.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "started_at"], name="modelrun_status_idx")]

    def __str__(self) -> str:
        return f"Refresh as of {self.as_of} ({self.status})"


class CustomerScore(models.Model):
    """The latest scores of one contact (or one company): value, probability alive, health.

    Owner and team are copied from the customer at each refresh (decision 0002's reason), so
    reports can narrow scores to what a user may see without joining the customers.
    """

    contact = models.OneToOneField(
        "people.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="score"
    )
    company = models.OneToOneField(
        "people.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="score"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="+", db_index=False)
    as_of = models.DateField()
    model = models.CharField(max_length=20, help_text="bgnbd, pareto_nbd or sbg")
    engine_version = models.CharField(max_length=20)
    # The customer's history in the model's terms (periods are weeks).
    frequency = models.PositiveIntegerField(default=0, help_text="Repeat purchases")
    recency = models.FloatField(default=0)
    age = models.FloatField(default=0, help_text="T: weeks since the first purchase")
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0, help_text="Base currency")
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    # What the model says.
    probability_alive = models.FloatField(null=True, blank=True)
    expected_purchases_12m = models.FloatField(null=True, blank=True)
    expected_order_value = models.FloatField(null=True, blank=True)
    value_12m = models.FloatField(null=True, blank=True, help_text="Predicted 12-month value, base currency")
    lifetime_value = models.FloatField(null=True, blank=True, help_text="Discounted CLV, base currency")
    # Contracts and subscriptions (model "sbg" or "bg_nbd+sbg"): renewals so far and the chance of the next.
    renewals = models.PositiveIntegerField(null=True, blank=True)
    renewal_probability = models.FloatField(null=True, blank=True)
    orders_without_rate = models.PositiveIntegerField(default=0, help_text="Orders whose value is unknown")
    # The facts health is made of, kept so its reasons can be told in words (`health.reasons`).
    usual_interval_days = models.FloatField(null=True, blank=True, help_text="Mean days between purchases")
    last_contacted_at = models.DateTimeField(null=True, blank=True, help_text="Last call, meeting or e-mail")
    events_recent = models.PositiveIntegerField(default=0, help_text="Timeline events in the last 90 days")
    events_before = models.PositiveIntegerField(default=0, help_text="Timeline events in the 90 days before")
    open_deals = models.PositiveIntegerField(default=0)
    moving_deals = models.PositiveIntegerField(default=0, help_text="Open deals that changed stage in 30 days")
    stalled_deals = models.PositiveIntegerField(default=0)
    health = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0-100")
    # healthy (70+), watch (40-69) or at_risk (below 40), "" without health: the list's band filter,
    # indexed with the value so "at risk, highest value first" is one index walk.
    health_band = models.CharField(max_length=8, blank=True, default="")
    # {"alive": 0-100, "recency": ..., "engagement": ..., "contact": ..., "deals": ... or null when it does
    # not apply}: the components health is the weighted mean of.
    health_components = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(contact__isnull=False, company__isnull=True)
                           | models.Q(contact__isnull=True, company__isnull=False)),
                name="score_contact_xor_company",
            )
        ]
        indexes = [
            # The contact list sorted by value walks one of these (and checks each contact's
            # visibility); the chance-alive bands are checked row by row, not indexed.
            models.Index(fields=["lifetime_value"], name="score_value_idx"),
            models.Index(fields=["health_band", "lifetime_value"], name="score_band_value_idx"),
        ]
