"""Scoring's writes: score one new lead, score every open lead, train the predictive model.

Rules these enforce:
- A new lead whose fit is below the poor-fit threshold goes to nurture at once, with the reason
  in its note and on the contact's timeline, before routing sees it: it never reaches a queue.
- Scoring every open lead changes scores only, never a lead's status (moving leads already in
  sellers' hands because a rule changed would surprise them).
- Training with too few outcomes stores an attempt that says so; while the latest attempt is
  one of those, leads get the rule scores.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sklearn
from django.db import connection, transaction
from django.utils import timezone

from rapport.leads.models import OPEN_STATUSES, Lead, LeadStatus, ModelStatus, ScoreModel, ScoringSettings
from rapport.sales.models import Deal

from . import features as F
from . import predictive as P
from . import rules as R
from .columns import event_window, exchange_rates, read_events, read_leads
from .engagement import engagement
from .scores import score_columns
from .store import write_scores

RULE_SCORES = "rules"  # the model version recorded on leads scored without a model


@dataclass
class ActiveModel:
    row: ScoreModel | None
    fitted: P.Fitted | None
    problem: str = ""

    @property
    def version(self) -> str:
        return self.row.version if self.fitted is not None and self.row is not None else RULE_SCORES


# The last model loaded in this process, by its checksum: unpickling it for every new lead a web
# form brings in would cost more than scoring the lead.
_loaded: dict[str, P.Fitted] = {}


def active_model() -> ActiveModel:
    """The model leads are scored with: the latest training run, if it produced one that loads."""
    row = (ScoreModel.objects.order_by("-trained_at", "-id")
           .only("id", "version", "status", "estimator_sha256", "sklearn_version").first())
    if row is None or row.status != ModelStatus.READY or not row.estimator_sha256:
        return ActiveModel(row, None)
    cached = _loaded.get(row.estimator_sha256)
    if cached is not None:
        return ActiveModel(row, cached)
    try:
        data = ScoreModel.objects.filter(pk=row.pk).values_list("estimator", flat=True).first()
        fitted = P.load(data or b"", row.estimator_sha256, row.sklearn_version)
    except P.ModelUnusable as problem:
        return ActiveModel(row, None, str(problem))
    _loaded.clear()
    _loaded[row.estimator_sha256] = fitted
    return ActiveModel(row, fitted)


def _open_where() -> tuple[str, list]:
    # On SQLite "+status" keeps the planner off the status index: nearly every lead is read, and
    # a walk of the index with a table lookup per row cost six times a plain scan.
    status = "+l.status" if connection.vendor == "sqlite" else "l.status"
    return (f"l.deleted_at IS NULL AND {status} IN (" + ", ".join(["%s"] * len(OPEN_STATUSES)) + ")",
            [str(s) for s in OPEN_STATUSES])


def _epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


# --- one new lead ---------------------------------------------------------------------------------

def score_lead(lead: Lead, *, now: dt.datetime | None = None, settings: ScoringSettings | None = None,
               model: ActiveModel | None = None):
    """Compute and store one lead's scores (fit, engagement, chance, reasons). Returns the `Scored`."""
    now = now or timezone.now()
    settings = settings or ScoringSettings.current()
    model = model or active_model()
    rules = R.compile_rules()
    leads = read_leads(where="l.id = %s", params=[lead.pk], custom=R.custom_keys(rules))
    moment = _epoch(now)
    since, _ = event_window(leads, np.minimum(leads.created, moment), settings.half_life_days)
    events = read_events(leads=leads, since=since, until=moment, weights=settings.event_weights)
    scored = score_columns(leads, rules=rules, events=events, now=moment, half_life_days=settings.half_life_days,
                           fit_share_percent=settings.fit_share, rates=exchange_rates(), model=model.fitted)
    fit = scored.fit[0]
    lead.fit_score = None if np.isnan(fit) else int(fit)
    lead.fit_details = json.loads(scored.details_json[scored.details_index[0]])
    lead.engagement_score = float(scored.engagement[0])
    lead.predicted_chance = None if np.isnan(scored.chance[0]) else round(float(scored.chance[0]), 4)
    lead.score = int(scored.score[0])
    lead.score_reasons = json.loads(scored.reasons_json[scored.reasons_index[0]])
    lead.score_model_version = model.version
    lead.scored_at = now
    lead.save(update_fields=["fit_score", "fit_details", "engagement_score", "predicted_chance", "score",
                             "score_reasons", "score_model_version", "scored_at"])
    return scored


def score_new_lead(lead: Lead) -> None:
    """Score a just-created lead; a poor fit goes straight to nurture, with the reason recorded.

    Called by `create_lead` inside its transaction, before routing: a lead nurtured here is no
    longer open, so routing leaves it alone and no seller's queue shows it.
    """
    settings = ScoringSettings.current()
    score_lead(lead, settings=settings)
    threshold = settings.poor_fit_threshold
    if lead.fit_score is None or threshold <= 0 or lead.fit_score >= threshold or not lead.is_open:
        return
    missed = [m["label"] for m in lead.fit_details.get("missed", [])][:3]
    note = (f"Poor fit: {lead.fit_score}/100 is below the threshold of {threshold}"
            + (f" (does not meet: {'; '.join(missed)})" if missed else "") + ". Sent to nurture automatically.")
    lead.status = LeadStatus.NURTURE
    lead.disqualified_at = timezone.now()
    lead.disqualify_note = note[:2000]
    lead.save(update_fields=["status", "disqualified_at", "disqualify_note"])
    from rapport.leads.services.leads import record_lead_event

    record_lead_event(lead, actor=None, action="nurtured", reason="poor_fit", fit_score=lead.fit_score,
                      summary=f"Lead sent to nurture automatically: fit {lead.fit_score} below {threshold}")


# --- every open lead ------------------------------------------------------------------------------

@dataclass
class ScoringRun:
    leads: int = 0
    events: int = 0
    version: str = RULE_SCORES
    problem: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)


class _big_page_cache:
    """SQLite: a 512 MB page cache while every open lead is read and rewritten (the connection's
    64 MB made the big read and the rewrite evict and re-read pages: a third more CPU)."""

    def __enter__(self):
        self.sqlite = connection.vendor == "sqlite"
        if self.sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                (self.before,) = cursor.fetchone()
                cursor.execute("PRAGMA cache_size=-524288")
        return self

    def __exit__(self, *exc):
        if self.sqlite:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size={int(self.before)}")
        return False


def score_open_leads(*, now: dt.datetime | None = None,
                     progress: Callable[[str], None] | None = None) -> ScoringRun:
    """Fit, engagement and (with a model) the predicted chance of every open lead, with reasons."""
    with _big_page_cache():
        return _score_open_leads(now=now, progress=progress)


def _score_open_leads(*, now: dt.datetime | None, progress: Callable[[str], None] | None) -> ScoringRun:
    now = now or timezone.now()
    moment = _epoch(now)
    settings = ScoringSettings.current()
    model = active_model()
    run = ScoringRun(version=model.version, problem=model.problem)
    tick, cpu = time.perf_counter(), time.process_time()

    def lap(stage: str) -> None:
        nonlocal tick, cpu
        run.seconds[stage] = round(time.perf_counter() - tick, 2)
        run.cpu_seconds[stage] = round(time.process_time() - cpu, 2)
        tick, cpu = time.perf_counter(), time.process_time()
        if progress:
            progress(stage)

    rules = R.compile_rules()
    where, params = _open_where()
    leads = read_leads(where=where, params=params, custom=R.custom_keys(rules))
    run.leads = len(leads)
    lap("read leads")
    earliest = np.minimum(leads.created, moment) if model.fitted is not None else np.full(len(leads), moment)
    since, _ = event_window(leads, earliest, settings.half_life_days)
    events = read_events(leads=leads, since=since, until=moment, weights=settings.event_weights,
                         lead_where=where, params=params)
    run.events = len(events.contact)
    lap("read events")
    scored = score_columns(leads, rules=rules, events=events, now=moment, half_life_days=settings.half_life_days,
                           fit_share_percent=settings.fit_share, rates=exchange_rates(), model=model.fitted)
    lap("score")
    write_scores(ids=leads.ids, scored=scored, version=model.version, at=now)
    lap("write")
    return run


# --- training -------------------------------------------------------------------------------------

# Disqualified leads, and converted leads whose deal is closed (won or lost).
OUTCOME_WHERE = ("l.deleted_at IS NULL AND (l.status = %s OR (l.status = %s AND l.deal_id IN "
                 f"(SELECT id FROM {Deal._meta.db_table} WHERE status IN (%s, %s))))")


def outcome_columns(rules: list[R.CompiledRule]):
    params = [str(LeadStatus.DISQUALIFIED), str(LeadStatus.CONVERTED), "won", "lost"]
    return read_leads(where=OUTCOME_WHERE, params=params, custom=R.custom_keys(rules), outcomes=True)


def training_matrix(leads, *, rules, settings: ScoringSettings, now: float, rates: dict[str, float]):
    """Features of closed leads as they stood in their first week."""
    verdicts = R.evaluate(rules, leads, rates=rates)
    fit = R.fit_scores(rules, verdicts)
    intake_at = np.minimum(leads.created + F.INTAKE_SECONDS, now)
    events = read_events(leads=leads, since=float(leads.created.min()) - 8 * settings.half_life_days * 86_400,
                         until=float(intake_at.max()), weights=settings.event_weights,
                         lead_where=OUTCOME_WHERE, params=[str(LeadStatus.DISQUALIFIED), str(LeadStatus.CONVERTED),
                                                           "won", "lost"]) if len(leads) else None
    intake = (engagement(event_contact=events.contact, event_time=events.time, event_weight=events.weight,
                         lead_contact=leads.contact, lead_at=intake_at, half_life_days=settings.half_life_days)
              if events is not None else np.zeros(0))
    X, _ = F.matrix(leads, fit=fit, intake_engagement=intake, now=now, rates=rates)
    return X


@transaction.atomic
def train_model(*, actor=None, now: dt.datetime | None = None) -> ScoreModel:
    """Learn from closed leads and store the result as the next model version (see `predictive`)."""
    now = now or timezone.now()
    settings = ScoringSettings.current()
    rules = R.compile_rules()
    rates = exchange_rates()
    leads = outcome_columns(rules)
    y = leads.won.astype(int) if leads.won is not None else np.zeros(0, dtype=int)
    X = training_matrix(leads, rules=rules, settings=settings, now=_epoch(now), rates=rates) if len(leads) else None
    decided = leads.decided if leads.decided is not None else leads.created
    result = P.train(X if X is not None else np.zeros((0, len(F.feature_names()))), y, decided,
                     min_outcomes=settings.min_outcomes)
    number = ScoreModel.objects.count() + 1
    while ScoreModel.objects.filter(version=f"v{number}").exists():
        number += 1
    row = ScoreModel(version=f"v{number}", trained_at=now, trained_by=actor if getattr(actor, "pk", None) else None,
                     status=result.status, note=result.note, features=F.feature_names(), metrics=result.metrics,
                     outcomes=result.outcomes, wins=result.wins, sklearn_version=sklearn.__version__)
    if result.fitted is not None:
        data, digest = P.dump(result.fitted)
        row.estimator, row.estimator_sha256 = data, digest
    row.save()
    return row
