"""Pipelines and deals, the product catalogue, proposals, orders (purchases), targets and the
figures that convert and cost them.

Money is always a Decimal beside its ISO 4217 currency code; nothing here adds amounts of two
currencies. Reports convert through `ExchangeRate` (see `currencies.py`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import Role, Team, TrackedModel

MONEY = {"max_digits": 16, "decimal_places": 4}  # room for any currency's minor units and rates
QUANTITY = {"max_digits": 14, "decimal_places": 3}


class PipelineKind(models.TextChoices):
    NEW_BUSINESS = "new_business", "New business"
    RENEWAL = "renewal", "Renewals"
    UPSELL = "upsell", "Upsell"


class Pipeline(TrackedModel):
    """An ordered series of stages a kind of deal moves through.

    Renewal pipelines mark contractual relationships: the insights issue reads them for
    retention (shifted-beta-geometric) models.
    """

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=PipelineKind.choices, default=PipelineKind.NEW_BUSINESS)
    position = models.PositiveIntegerField(default=0)
    # A deal with no logged activity for this many days is flagged as stalled.
    stall_days = models.PositiveIntegerField(default=14)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=Q(deleted_at__isnull=True), name="pipeline_live_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """An open step of a pipeline. Deals point at the stage's id, so renaming or reordering a
    stage never loses a deal; a stage that still holds deals cannot be removed. Winning or
    losing is the deal's status, not a stage: a lost deal keeps the stage it was lost at."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    # Default win probability (0-100) for deals in this stage; a deal may override it.
    probability = models.PositiveSmallIntegerField(default=10)

    class Meta:
        ordering = ["pipeline_id", "position", "id"]
        indexes = [models.Index(fields=["pipeline", "position"], name="stage_pipeline_idx")]

    def __str__(self) -> str:
        return self.name


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class CloseReason(models.Model):
    """The admin's list of reasons a deal is won or lost; closing a deal requires one."""

    outcome = models.CharField(max_length=10, choices=[(DealStatus.WON, "Won"), (DealStatus.LOST, "Lost")])
    label = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["outcome", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["outcome", "label"], name="close_reason_unique")]

    def __str__(self) -> str:
        return self.label


class Deal(TrackedModel):
    name = models.CharField(max_length=200)
    company = models.ForeignKey(
        "people.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals", db_index=False
    )
    contacts = models.ManyToManyField("people.Contact", through="DealContact", related_name="deals", blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals", db_index=False)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", db_index=False)
    amount = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3)
    expected_close_date = models.DateField(null=True, blank=True)
    # None means "the stage's default"; see `effective_probability`.
    probability = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True, default="")
    # The lead this deal came from; the leads issue turns this into a foreign key.
    lead_id = models.BigIntegerField(null=True, blank=True)
    next_step = models.CharField(max_length=200, blank=True, default="")
    next_step_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.ForeignKey(CloseReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    close_note = models.TextField(blank=True, default="")
    # When the deal entered its current stage: the stage-change event records the time spent.
    stage_entered_at = models.DateTimeField(default=timezone.now)
    # The last logged activity on the deal (or its creation); drives the stalled flag.
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The board: one column = (pipeline, stage) of live open deals, paged by id. Status is
            # in the key so a column skips the stage's closed (lost) deals instead of walking them.
            models.Index(fields=["stage", "status", "id"], condition=Q(deleted_at__isnull=True),
                         name="deal_stage_idx"),
            # The board's column counts and totals per currency, read from this index alone
            # (every column they filter or add up is in it): 50,000 open deals in ~30 ms on SQLite
            # instead of ~300 ms looking each row up in the table (benchmarks/board.py).
            models.Index(fields=["pipeline", "status", "stage", "currency", "team", "owner", "expected_close_date",
                                 "probability", "amount", "deleted_at"],
                         condition=Q(deleted_at__isnull=True), name="deal_board_idx"),
            models.Index(fields=["pipeline", "status", "expected_close_date"], name="deal_pipeline_idx"),
            models.Index(fields=["team", "id"], name="deal_team_idx"),
            models.Index(fields=["owner", "id"], name="deal_owner_idx"),
            models.Index(fields=["company", "id"], name="deal_company_idx"),
            models.Index(fields=["status", "closed_at"], name="deal_closed_idx"),
            models.Index(fields=["deleted_at"], condition=Q(deleted_at__isnull=False), name="deal_trash_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_probability(self) -> int:
        if self.status == DealStatus.WON:
            return 100
        if self.status == DealStatus.LOST:
            return 0
        return self.probability if self.probability is not None else self.stage.probability


class DealRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    USER = "user", "User"
    FINANCE = "finance", "Finance"
    OTHER = "other", "Other"


class DealContact(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts")
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="deal_roles", db_index=False)
    role = models.CharField(max_length=20, choices=DealRole.choices, default=DealRole.OTHER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="deal_contact_unique")]
        indexes = [models.Index(fields=["contact", "deal"], name="deal_contact_idx")]


class ProductCategory(models.Model):
    """A kind of product. Categories are what customers' purchase preferences are made of."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "product categories"

    def __str__(self) -> str:
        return self.name


class Product(TrackedModel):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    category = models.ForeignKey(ProductCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="products")
    description = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["sku"], condition=Q(deleted_at__isnull=True), name="product_live_sku_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class ProductPrice(models.Model):
    """The price book: one unit price per product and currency."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3)
    unit_price = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "currency"], name="product_price_unique")]


class DealLineItem(models.Model):
    """What a deal would sell, in the deal's currency. Proposals copy these lines."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=300, blank=True, default="")
    quantity = models.DecimalField(default=1, **QUANTITY)
    unit_price = models.DecimalField(**MONEY)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["deal_id", "position", "id"]


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    SUPERSEDED = "superseded", "Superseded"


class Proposal(TrackedModel):
    """A quote: a numbered, versioned snapshot of a deal's lines with discount and tax.

    A new version supersedes the previous one; the customer answers through a signed link.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="proposals")
    number = models.CharField(max_length=30)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT)
    currency = models.CharField(max_length=3)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    tax_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    subtotal = models.DecimalField(default=0, **MONEY)
    discount_total = models.DecimalField(default=0, **MONEY)
    tax_total = models.DecimalField(default=0, **MONEY)
    total = models.DecimalField(default=0, **MONEY)
    valid_until = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")
    # A random secret mixed into the signed customer link; replacing it revokes old links.
    link_secret = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responder_name = models.CharField(max_length=200, blank=True, default="")
    response_note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["number", "version"], name="proposal_version_unique")]
        indexes = [models.Index(fields=["deal", "version"], name="proposal_deal_idx")]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"


class ProposalLine(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64, blank=True, default="")
    description = models.CharField(max_length=300, blank=True, default="")
    quantity = models.DecimalField(**QUANTITY)
    unit_price = models.DecimalField(**MONEY)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    line_total = models.DecimalField(**MONEY)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["proposal_id", "position", "id"]


class OrderChannel(models.TextChoices):
    SALES = "sales", "Sales (won deal)"
    WEB = "web", "Web shop"
    STORE = "store", "Store"
    PHONE = "phone", "Phone"
    MARKETPLACE = "marketplace", "Marketplace"
    PARTNER = "partner", "Partner"
    OTHER = "other", "Other"


class Order(TrackedModel):
    """What a customer actually bought. Orders are the main input of the insights engine."""

    # The id in the shop or ERP the order came from; the API and importer upsert on it, so
    # sending the same order twice never makes two.
    external_id = models.CharField(max_length=100, null=True, blank=True)
    contact = models.ForeignKey(
        "people.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", db_index=False
    )
    company = models.ForeignKey(
        "people.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", db_index=False
    )
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", db_index=False)
    # Visibility follows the customer's owner at the time of the order.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    ordered_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=20, choices=OrderChannel.choices, default=OrderChannel.OTHER)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(default=0, **MONEY)
    # Set on orders from renewal pipelines or flagged as subscriptions: contractual customers.
    is_subscription = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["external_id"], condition=Q(external_id__isnull=False), name="order_external_id_unique")
        ]
        indexes = [
            models.Index(fields=["contact", "ordered_at"], name="order_contact_idx"),
            models.Index(fields=["company", "ordered_at"], name="order_company_idx"),
            models.Index(fields=["deal"], name="order_deal_idx"),
            models.Index(fields=["ordered_at", "id"], name="order_date_idx"),
            models.Index(fields=["team", "id"], name="order_team_idx"),
            models.Index(fields=["owner", "id"], name="order_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.external_id or self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", db_index=False)
    quantity = models.DecimalField(**QUANTITY)
    unit_price = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)

    class Meta:
        indexes = [models.Index(fields=["product", "order"], name="order_line_product_idx")]


class ExchangeRate(models.Model):
    """One unit of `currency` is worth `rate` units of the base currency from `valid_from` on.

    Reports convert with the latest rate on or before the amount's date; an amount with no
    rate is reported as unconverted, never silently added."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    valid_from = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_unique")]


class TargetMetric(models.TextChoices):
    REVENUE = "revenue", "Revenue (closed won)"
    NEW_CUSTOMERS = "new_customers", "New customers"
    # Relationship metrics, tracked on the balanced scorecard (rapport.reports): the 12-month
    # retention of the customers won, in percent, and the mean health (0-100) of one's customers.
    RETENTION = "retention", "12-month retention (%)"
    HEALTH = "health", "Customer health (0-100)"


# Targets of these metrics are numbers, not money: they carry no currency.
NON_MONEY_METRICS = frozenset({TargetMetric.NEW_CUSTOMERS, TargetMetric.RETENTION, TargetMetric.HEALTH})


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Target(TrackedModel):
    """What a seller or a team should reach in a month or quarter. Exactly one of user/team."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=20, choices=TargetMetric.choices, default=TargetMetric.REVENUE)
    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    period_start = models.DateField()
    # Revenue targets are money in `currency`; new-customer targets are a count, retention a
    # percentage and health a score from 0 to 100 (currency blank).
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False)),
                name="target_user_xor_team",
            ),
            # One live target per person (or team), metric and period: set_target updates it.
            models.UniqueConstraint(
                fields=["user", "metric", "period_kind", "period_start"],
                condition=Q(deleted_at__isnull=True, user__isnull=False), name="target_user_period_unique",
            ),
            models.UniqueConstraint(
                fields=["team", "metric", "period_kind", "period_start"],
                condition=Q(deleted_at__isnull=True, team__isnull=False), name="target_team_period_unique",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "metric"], name="target_period_idx")]


class CostRate(models.Model):
    """What an hour of a role's time costs; cost of sales = minutes on a deal x this rate."""

    role = models.CharField(max_length=20, choices=Role.choices, unique=True)
    cost_per_hour = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(default=timezone.now)
