"""`refresh_scores`: orders and events in, every customer's and company's scores out.

Stages (each timed and stored on the run): load the orders; for contacts, then companies,
summarise, fit and score (`population.py`); read engagement and work out health; replace the
stored scores in one transaction (`storing.py`). A failure marks the run failed with the reason
and leaves the previous scores in place.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.insights import MODEL_VERSION
from rapport.reports.health import DEFAULT_WEIGHTS, HealthFacts, check_weights, health_scores
from rapport.reports.models import ModelRun

from . import engagement
from . import orders as order_loading
from .population import Config, Scores, score_population
from .storing import ScoreWriter, components_json

Progress = Callable[[str, int, int], None]
BACKGROUND_FROM = 200_000  # customers in the first population
PARALLEL_FROM = 1_000_000  # orders


def insights_config() -> Config:
    """The refresh's settings (see docs/configuration.md), with the documented defaults."""
    return Config(
        holdout_weeks=int(getattr(settings, "RAPPORT_INSIGHTS_HOLDOUT_WEEKS", 26)),
        annual_discount_rate=float(getattr(settings, "RAPPORT_CLV_DISCOUNT_RATE", 0.10)),
        clv_years=float(getattr(settings, "RAPPORT_CLV_YEARS", 3)),
        renewal_period_days=int(getattr(settings, "RAPPORT_RENEWAL_PERIOD_DAYS", 365)),
    )


def health_weights() -> dict[str, float]:
    try:
        return check_weights(getattr(settings, "RAPPORT_HEALTH_WEIGHTS", DEFAULT_WEIGHTS))
    except ValueError as error:
        raise ValidationFailed({"RAPPORT_HEALTH_WEIGHTS": str(error).split(": ", 1)[-1]}) from None


def check_as_of(as_of) -> dt.date:
    """The as-of date, or ValidationFailed naming `as_of`: a date, not in the future."""
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise ValidationFailed({"as_of": "expected a date (YYYY-MM-DD)"})
    today = timezone.now().astimezone(dt.UTC).date()
    if as_of > today:
        raise ValidationFailed({"as_of": f"{as_of.isoformat()} is in the future; scores can only describe the "
                                         f"past (today is {today.isoformat()})"})
    if as_of.year < 1971:
        raise ValidationFailed({"as_of": "must be after 1970"})
    return as_of


class Stopwatch:
    def __init__(self, progress: Progress | None):
        self.timings: dict[str, float] = {}
        self.progress = progress
        self._stage, self._started = None, time.perf_counter()

    def stage(self, name: str | None, total: int = 0) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + now - self._started
        self._stage, self._started = name, now
        if name and self.progress:
            self.progress(name, 0, total)

    def advance(self, done: int, total: int) -> None:
        if self.progress and self._stage:
            self.progress(self._stage, done, total)


def refresh_scores(*, as_of: dt.date | None = None, run: ModelRun | None = None,
                   progress: Progress | None = None) -> ModelRun:
    """Score every customer (contact) and company with orders, as of the end of `as_of` (default:
    today, UTC), replacing the stored scores; returns the finished run (also when it failed: then
    `status` is "failed" and `error` says why, and the exception is raised again)."""
    as_of = check_as_of(as_of or timezone.now().astimezone(dt.UTC).date())
    weights = health_weights()
    config = insights_config()
    if run is None:
        run = ModelRun.objects.create(as_of=as_of, engine_version=MODEL_VERSION, status="running")
    else:
        run.as_of, run.engine_version, run.status, run.started_at = as_of, MODEL_VERSION, "running", timezone.now()
        run.save(update_fields=["as_of", "engine_version", "status", "started_at"])
    clock = Stopwatch(progress)
    started = time.perf_counter()
    try:
        _refresh(run, as_of, weights, config, clock)
    except BaseException as error:
        run.status, run.error, run.finished_at = "failed", str(error) or type(error).__name__, timezone.now()
        run.seconds, run.timings = time.perf_counter() - started, clock.timings
        run.save(update_fields=["status", "error", "finished_at", "seconds", "timings"])
        raise
    run.seconds = time.perf_counter() - started
    run.timings = clock.timings
    run.status, run.finished_at = "done", timezone.now()
    run.save()
    return run


@dataclass(frozen=True)
class Inputs:
    """What one population's health reads besides the orders."""

    activity: engagement.Engagement
    last_contact: tuple
    deals: tuple


def read_inputs(column: str, end: dt.datetime) -> Inputs:
    return Inputs(activity=engagement.load_engagement(column, end),
                  last_contact=engagement.load_last_contact(column, end), deals=engagement.load_open_deals(column, end))


def _read_inputs_apart(column: str, end: dt.datetime) -> Inputs:
    try:
        return read_inputs(column, end)
    finally:
        connection.close()  # this thread's own connection


def _refresh(run: ModelRun, as_of: dt.date, weights: dict, config: Config, clock: Stopwatch) -> None:
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    clock.stage("load orders")
    orders = order_loading.load_orders(end, progress=clock.advance)
    populations = [(kind, column, ids) for kind, column, ids in (("contact", "contact_id", orders.contact),
                                                                  ("company", "company_id", orders.company))
                   if (ids > 0).any()]
    # On a big SQLite refresh, events, seller contacts and deals are read on a second connection
    # while the models are fitted: SQLite works without Python's lock, the fits mostly with it.
    apart = len(orders) > PARALLEL_FROM and connection.vendor == "sqlite" and not connection.in_atomic_block
    reader = ThreadPoolExecutor(max_workers=1) if apart else None
    inputs = {kind: reader.submit(_read_inputs_apart, column, end) for kind, column, _ in populations} if apart else {}
    counts, records, contacts = {}, {}, None
    writer = None
    try:
        for kind, column, ids in populations:
            rows = ids > 0
            clock.stage(f"{kind}: lost renewals")
            lost = engagement.load_lost_renewals(column, end)
            scores = score_population(
                ids[rows], orders.seconds[rows], orders.value[rows], orders.subscription[rows], as_of=as_of,
                lost_renewals=lost, config=config,
                step=lambda name, kind=kind: clock.stage(f"{kind}: {name}") if name != "done" else None,
                fallback=contacts)
            if kind == "contact":
                contacts = scores
            clock.stage(f"{kind}: read events, contacts, deals")
            found = inputs[kind].result() if apart else read_inputs(column, end)
            clock.stage(f"{kind}: health")
            columns = _columns(scores, end, weights, found)
            records[kind], counts[kind] = scores.record, len(scores)
            if writer is None:
                # A big refresh writes the contacts' scores while it scores the companies.
                background = (len(scores) > BACKGROUND_FROM and connection.vendor == "sqlite"
                              and not connection.in_atomic_block)
                writer = ScoreWriter(run_id=run.pk, as_of=as_of, engine_version=MODEL_VERSION, background=background,
                                     progress=clock.advance)
            writer.add(kind, columns)
        clock.stage("store")
        if writer is None:
            writer = ScoreWriter(run_id=run.pk, as_of=as_of, engine_version=MODEL_VERSION)
        writer.finish()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if reader is not None:
            reader.shutdown(wait=True, cancel_futures=True)
    clock.stage(None)
    clock.timings["store: writing (beside the scoring)" if writer.background else "store: writing"] = writer.seconds
    run.chosen_model = records.get("contact", {}).get("chosen", "")
    run.why = records.get("contact", {}).get("why", "") if orders.contact.any() else "no orders with a customer yet"
    run.fits = {"contacts": records.get("contact", {}), "companies": records.get("company", {}),
                "health_weights": weights, "settings": asdict(config)}
    run.customers = counts.get("contact", 0)
    run.companies = counts.get("company", 0)
    run.orders = len(orders)
    run.orders_without_rate = orders.without_rate
    run.contractual = int(records.get("contact", {}).get("sbg", {}).get("contracts", 0))


def _columns(scores: Scores, end: dt.datetime, weights: dict, found: Inputs) -> dict[str, np.ndarray]:
    """The stored columns of one population, with health and the facts it rests on."""
    ids = scores.ids
    spread = engagement.spread
    activity = found.activity
    recent = spread(ids, activity.ids, activity.events_recent, 0)
    before = spread(ids, activity.ids, activity.events_before, 0)
    contact_ids, contact_seconds = found.last_contact
    last_contact = spread(ids, contact_ids, contact_seconds.astype(np.float64), np.nan)
    deal_ids, open_deals, moving, stalled = found.deals
    open_deals = spread(ids, deal_ids, open_deals, 0)
    moving = spread(ids, deal_ids, moving, 0)
    stalled = spread(ids, deal_ids, stalled, 0)
    end_seconds = end.timestamp()
    usual = scores.usual_interval_days
    typical = float(np.nanmedian(usual)) if np.isfinite(usual).any() else float("nan")
    facts = HealthFacts(
        probability_alive=scores.probability_alive, days_since_order=(end_seconds - scores.last_seconds) / 86400.0,
        usual_interval_days=usual, typical_interval_days=typical, events_recent=recent, events_before=before,
        days_since_contact=(end_seconds - last_contact) / 86400.0, open_deals=open_deals, moving_deals=moving,
        stalled_deals=stalled)
    health, components = health_scores(facts, weights)
    scores.record["typical_interval_days"] = None if np.isnan(typical) else round(typical, 1)
    columns = {
        "id": ids, "model": scores.model, "revenue": scores.revenue, "frequency": scores.frequency,
        "recency": scores.recency, "age": scores.age, "probability_alive": scores.probability_alive,
        "expected_purchases_12m": scores.expected_purchases_12m, "expected_order_value": scores.expected_order_value,
        "value_12m": scores.value_12m, "lifetime_value": scores.lifetime_value,
        "renewal_probability": scores.renewal_probability, "usual_interval_days": usual,
        "orders": scores.orders, "orders_without_rate": scores.orders_without_rate, "events_recent": recent,
        "events_before": before, "open_deals": open_deals, "moving_deals": moving, "stalled_deals": stalled,
        "health": health, "renewals": scores.renewals, "first_order_at": scores.first_seconds,
        "last_order_at": scores.last_seconds, "last_contacted_at": last_contact,
        "health_components": components_json(components),
    }
    return columns
