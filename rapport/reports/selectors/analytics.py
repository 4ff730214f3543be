"""Reads for the insights dashboard: the value distribution, the lifecycle funnel and the
model's tracking check. Cohorts, source quality and the scorecard have their own modules.

Every figure is computed from the records the user may see (`visible_to`): a seller's dashboard
counts their team's customers, an admin's everyone's. Each read is a fixed number of grouped
queries, whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    Max,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Lag
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.core.models import Role, Visibility
from rapport.core.visibility import is_admin, profile_of, visibility_of, visible_to
from rapport.people.models import Contact, LifecycleStage
from rapport.timeline.models import Event, EventKind

from ..models import CustomerScore, ModelRun
from .analytics_sql import SecondsBetween

MEASURES = {"value_12m": "Predicted 12-month value", "lifetime_value": "Lifetime value"}
CUSTOMER_KINDS = {"contacts": "contact", "companies": "company"}


def may_open_insights(user) -> bool:
    """Anyone signed in: the figures themselves are narrowed to the records they may see."""
    return visibility_of(user) != "none"


def may_see_model_checks(user) -> bool:
    """The tracking check covers every customer, so only people who oversee a team or see
    everyone get it: admins, managers and roles that see all records."""
    if visibility_of(user) == "none":
        return False
    if is_admin(user) or visibility_of(user) == Visibility.ALL:
        return True
    profile = profile_of(user)
    return profile.role == Role.MANAGER and profile.team_id is not None


def clean_choice(value, choices, *, field: str, default: str) -> str:
    if value in (None, ""):
        return default
    if value not in choices:
        raise ValidationFailed({field: "choose " + " or ".join(choices)})
    return value


# --- value distribution ------------------------------------------------------------------------

@dataclass
class ValueBin:
    low: float
    high: float
    customers: int
    value: float


@dataclass
class ValueDistribution:
    measure: str
    of: str
    customers: int = 0
    total: float = 0.0
    mean: float | None = None
    top: float | None = None
    as_of: dt.date | None = None
    bins: list[ValueBin] = field(default_factory=list)

    @property
    def measure_label(self) -> str:
        return MEASURES[self.measure]


def value_edges(top: float) -> list[float]:
    """Bin edges 0, then 1-2-5 steps (…, 100, 200, 500, 1,000, …) from about a thousandth of the
    largest value to past it. Customer values are skewed (a few worth a lot), so equal-width
    bins would put nearly everyone in the first one."""
    if top <= 0:
        return [0.0, 1.0]
    exponent = math.floor(math.log10(top / 1000)) if top >= 1 else 0
    edges = [0.0]
    while True:
        for step in (1, 2, 5):
            edge = step * 10.0 ** exponent
            if edge >= top / 1000 and edge > edges[-1]:
                edges.append(edge)
            if edge > top:
                return edges
        exponent += 1


def _scores(user, of: str) -> QuerySet[CustomerScore]:
    kind = CUSTOMER_KINDS[of]
    scores = CustomerScore.objects.filter(**{f"{kind}__isnull": False, f"{kind}__deleted_at__isnull": True})
    return visible_to(scores, user)


def value_distribution(user, *, measure=None, of=None) -> ValueDistribution:
    """How the stored value of the customers the user may see is spread: customers and value per
    range. Two queries: the totals (which fix the ranges), then one grouped count."""
    measure = clean_choice(measure, MEASURES, field="measure", default="value_12m")
    of = clean_choice(of, CUSTOMER_KINDS, field="of", default="contacts")
    scores = _scores(user, of).filter(**{f"{measure}__isnull": False})
    totals = scores.aggregate(n=Count("id"), total=Sum(measure), mean=Avg(measure), top=Max(measure),
                              as_of=Max("as_of"))
    result = ValueDistribution(measure=measure, of=of)
    if not totals["n"]:
        return result
    result.customers, result.total = totals["n"], float(totals["total"] or 0)
    result.mean, result.top, result.as_of = totals["mean"], float(totals["top"] or 0), totals["as_of"]
    edges = value_edges(result.top)
    bucket = Case(*[When(**{f"{measure}__lt": edge}, then=Value(i)) for i, edge in enumerate(edges[1:])],
                  default=Value(len(edges) - 2), output_field=IntegerField())
    counted = {row["bucket"]: row for row in scores.annotate(bucket=bucket).order_by().values("bucket")
               .annotate(n=Count("id"), value=Sum(measure))}
    for i in range(len(edges) - 1):
        row = counted.get(i, {"n": 0, "value": 0})
        result.bins.append(ValueBin(low=edges[i], high=edges[i + 1], customers=row["n"], value=float(row["value"] or 0)))
    return result


# --- lifecycle funnel ----------------------------------------------------------------------------

FUNNEL = [LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD, LifecycleStage.MARKETING_QUALIFIED,
          LifecycleStage.SALES_QUALIFIED, LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER,
          LifecycleStage.ADVOCATE]
POSITION = {stage.value: i for i, stage in enumerate(FUNNEL)}
# A former customer has been a customer: they count as having reached that stage, not beyond.
POSITION[LifecycleStage.FORMER_CUSTOMER.value] = POSITION[LifecycleStage.CUSTOMER.value]
MEDIAN_WINDOW = dt.timedelta(days=365)


@dataclass
class FunnelStep:
    stage: str
    label: str
    now: int = 0  # contacts at this stage today
    reached: int = 0  # at this stage or a later one
    to_next: float | None = None  # share of those who reached this stage that reached the next
    median_days: float | None = None  # to move on to a later stage
    moves: int = 0  # forward moves the median is taken over


@dataclass
class Funnel:
    steps: list[FunnelStep]
    former_customers: int = 0
    contacts: int = 0
    measured_since: dt.date | None = None
    moves: int = 0


def _stage_changes(user) -> QuerySet[Event]:
    """Lifecycle stage changes of live contacts the user may see (deal stage changes carry a
    deal and are left out)."""
    events = Event.objects.filter(kind=EventKind.STAGE_CHANGE, deal__isnull=True, contact__isnull=False,
                                  contact__deleted_at__isnull=True)
    return visible_to(events, user, owner_field="contact__owner", team_field="contact__team")


def lifecycle_funnel(user, *, now: dt.datetime | None = None) -> Funnel:
    """Contacts per lifecycle stage, the share of those who reached a stage that went on to the
    next, and the median time from entering a stage to moving forward, from the stage changes
    the timeline recorded in the last year. Two queries."""
    now = now or timezone.now()
    contacts = visible_to(Contact.objects.filter(deleted_at__isnull=True), user)
    counts = dict(contacts.order_by().values_list("lifecycle_stage").annotate(n=Count("id")))
    steps = [FunnelStep(stage=s.value, label=s.label, now=counts.get(s.value, 0)) for s in FUNNEL]
    former = counts.get(LifecycleStage.FORMER_CUSTOMER.value, 0)
    reached = 0
    for i in range(len(steps) - 1, -1, -1):
        reached += steps[i].now + (former if i == POSITION[LifecycleStage.CUSTOMER.value] else 0)
        steps[i].reached = reached
    for here, following in zip(steps, steps[1:], strict=False):
        here.to_next = following.reached / here.reached if here.reached else None

    since = now - MEDIAN_WINDOW
    # Each change's entry into the stage it leaves: the contact's previous change, or their
    # creation for the stage they started in. The window runs over all of a contact's changes;
    # only those of the last year are measured.
    entered = Coalesce(Window(Lag("occurred_at"), partition_by=[F("contact_id")],
                              order_by=[F("occurred_at").asc(), F("id").asc()]), F("contact__created_at"))
    recent = Case(When(occurred_at__gte=since, then=Value(True)), default=Value(False), output_field=BooleanField())
    changes = (_stage_changes(user)
               .annotate(seconds=SecondsBetween(F("occurred_at"), entered), recent=recent,
                         left=KT("payload__from"), went=KT("payload__to"))
               .values_list("left", "went", "seconds", "recent"))
    waits: dict[str, list[float]] = defaultdict(list)
    for left, went, seconds, is_recent in changes:
        if is_recent and left in POSITION and went in POSITION and POSITION[went] > POSITION[left] and seconds >= 0:
            waits[left].append(seconds / 86400)
    moves = 0
    for step in steps:
        days = waits.get(step.stage)
        if days:
            step.median_days, step.moves = float(np.median(days)), len(days)
            moves += len(days)
    return Funnel(steps=steps, former_customers=former, contacts=sum(counts.values()),
                  measured_since=since.date(), moves=moves)


# --- the model's tracking check --------------------------------------------------------------------

@dataclass
class Tracking:
    run: ModelRun
    model: str
    weeks: list[dict]  # {"week": n, "start": date or None, "actual": x, "predicted": y}
    actual_total: float
    predicted_total: float


def latest_run() -> ModelRun | None:
    return ModelRun.objects.filter(status="done").order_by("-finished_at", "-id").first()


def tracking(user, run: ModelRun | None = None) -> Tracking | None:
    """Weekly repeat purchases of contacts in the latest refresh's holdout window against what
    the chosen model predicted for them, for the people allowed to see the whole base's totals;
    None when no refresh stored the series (or the user may not see it)."""
    if not may_see_model_checks(user):
        return None
    run = run or latest_run()
    if run is None:
        return None
    series = tracking_series(run.fits or {})
    if series is None:
        return None
    model, actual, predicted, start = series
    weeks = []
    for i, (a, p) in enumerate(zip(actual, predicted, strict=False)):
        weeks.append({"week": i + 1, "start": start + dt.timedelta(weeks=i) if start else None,
                      "actual": float(a), "predicted": float(p)})
    return Tracking(run=run, model=model, weeks=weeks, actual_total=float(sum(actual)),
                    predicted_total=float(sum(predicted)))


def tracking_series(fits: dict, population: str = "contacts") -> tuple[str, list, list, dt.date | None] | None:
    """(model, actual, predicted, first week's start) from a run's stored fits: the refresh
    keeps, per population, the calibration fits and each model's holdout scores (as
    `rapport.insights.HoldoutScore.as_dict` writes them); the holdout starts at the calibration
    end. None when the refresh could not compare the models (a short history, say)."""
    record = fits.get(population)
    calibration = record.get("calibration") if isinstance(record, dict) else None
    if not isinstance(calibration, dict) or not isinstance(calibration.get("holdout"), dict):
        return None
    holdouts = calibration["holdout"]
    model = record.get("chosen") if record.get("chosen") in holdouts else next(iter(holdouts), None)
    holdout = holdouts.get(model) if model else None
    if not isinstance(holdout, dict):
        return None
    actual, predicted = holdout.get("tracking_actual"), holdout.get("tracking_predicted")
    if not actual or not predicted or len(actual) != len(predicted):
        return None
    try:
        start = dt.date.fromisoformat(calibration.get("calibration_end") or "")
    except (TypeError, ValueError):
        start = None
    return model, list(actual), list(predicted), start
