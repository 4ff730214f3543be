"""The predictive score: calibration on known probabilities, the fallback below the minimum,
the command, stored models that cannot be used, and the demo's signal."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.leads.models import Lead, LeadStatus, ScoreModel, ScoringSettings
from rapport.leads.scoring import features as F
from rapport.leads.scoring import predictive as P
from rapport.leads.scoring.services import active_model, score_open_leads
from rapport.leads.services.leads import create_lead


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leads whose true chance of winning is known: a logistic function of three features."""
    rng = np.random.default_rng(seed)
    width = len(F.feature_names())
    X = rng.normal(size=(n, width)).astype(np.float32)
    logit = -1.5 + 1.2 * X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2]
    truth = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < truth).astype(int)
    return X, y, truth


def test_predicted_chances_match_observed_rates_on_known_probabilities():
    X, y, truth = synthetic(6000, seed=3)
    fitted = P.fit(X[:3000], y[:3000])
    p = fitted.chance(X[3000:])
    # close to the true chances lead by lead ...
    assert np.mean(np.abs(p - truth[3000:])) < 0.04
    # ... and in every calibration group the share that won is near the average prediction
    table = P.calibration_table(p, y[3000:])
    assert len(table) == 10 and sum(row["leads"] for row in table) == 3000
    for row in table:
        assert abs(row["predicted"] - row["observed"]) < 0.08, row
    assert [row["predicted"] for row in table] == sorted(row["predicted"] for row in table)
    scores = P.metrics(p, y[3000:])
    assert scores["roc_auc"] > 0.75 and scores["brier"] < scores["brier_base_rate"]


def test_reasons_name_the_features_that_moved_the_chance():
    X, y, _ = synthetic(2000, seed=4)
    fitted = P.fit(X, y)
    contributions = P.group_contributions(fitted, X[:5])
    # column 0 is the first source column; 1 also a source; 2 too: the "source" group leads
    codes = {g.name: np.zeros(5, dtype=np.int64) for g in F.groups()}
    index, lists = P.top_reasons(contributions, codes)
    assert len(index) == 5 and all(len(lists[i]) == 3 for i in index)
    assert all(r["direction"] in ("up", "down") for i in index for r in lists[i])


def test_time_split_tests_on_the_newest():
    train, test = P.time_split(np.array([50.0, 10, 40, 20, 30, 60, 70, 80]), share=0.25)
    assert sorted(test.tolist()) == [6, 7] and 0 not in test


def test_training_below_the_minimum_says_so_and_rule_scores_stay(db, admin_user, make_contact):
    ScoringSettings.objects.create(min_outcomes=200)
    lead = create_lead(actor=admin_user, contact=make_contact(admin_user), data={})
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.DISQUALIFIED)
    open_lead = create_lead(actor=admin_user, contact=make_contact(admin_user), data={})
    out = io.StringIO()
    call_command("leads", "train", stdout=out)
    assert "Not enough outcomes" in out.getvalue() and "1 closed leads (0 won, 1 not)" in out.getvalue()
    row = ScoreModel.objects.get()
    assert row.status == "too_few" and not row.estimator
    assert active_model().fitted is None
    open_lead.refresh_from_db()
    assert open_lead.score_model_version == "rules" and open_lead.predicted_chance is None
    out = io.StringIO()
    call_command("leads", "evaluate", stdout=out)
    assert "No model in use" in out.getvalue()


def test_evaluate_before_any_training_is_an_error(db):
    with pytest.raises(CommandError, match="rapport leads train"):
        call_command("leads", "evaluate")


def test_a_damaged_or_foreign_model_is_not_used(db, admin_user, make_contact):
    X, y, _ = synthetic(400, seed=5)
    data, digest = P.dump(P.fit(X, y))
    ScoreModel.objects.create(version="v1", status="ready", estimator=data[:-10] + b"0" * 10,
                              estimator_sha256=digest, sklearn_version="0.0")
    assert "damaged" in active_model().problem
    ScoreModel.objects.create(version="v2", status="ready", estimator=data, estimator_sha256=digest,
                              sklearn_version="0.0", trained_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert "scikit-learn 0.0" in active_model().problem
    create_lead(actor=admin_user, contact=make_contact(admin_user), data={})
    run = score_open_leads()
    assert run.version == "rules" and "scikit-learn" in run.problem


def test_the_demo_model_clearly_beats_chance(db):
    from rapport.demo.generator import load_demo, reset_demo

    summary = load_demo(contacts=1500, seed=3, now=dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    assert summary.leads["won"] >= 20 and summary.leads["open"] > 0
    row = ScoreModel.objects.get()
    assert row.status == "ready", row.note
    m = row.metrics
    assert m["roc_auc"] > 0.75
    assert m["brier"] < m["brier_base_rate"]
    table = m["calibration"]
    low, high = table[: len(table) // 2], table[len(table) // 2:]
    # monotone-ish: the upper half of the predictions wins far more often than the lower half
    assert sum(r["wins"] for r in high) / sum(r["leads"] for r in high) > 2 * max(
        0.01, sum(r["wins"] for r in low) / sum(r["leads"] for r in low))
    converted = Lead.objects.filter(status=LeadStatus.CONVERTED)
    assert converted.exists() and not converted.filter(deal__isnull=True).exists()
    scored = Lead.objects.filter(status__in=["new", "working", "qualified"])
    assert not scored.filter(score__isnull=True).exists()
    assert scored.filter(score_model_version=row.version).count() == scored.count()
    reset_demo()
    assert not Lead.objects.exists() and not ScoreModel.objects.exists()
