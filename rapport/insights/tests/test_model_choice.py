"""Choosing the purchase model on a holdout window."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights import FitFailed, choose_model, rfm_summary
from rapport.insights import model_choice as module


def test_cdnow_choice_is_scored_on_the_holdout_and_explained(cdnow):
    choice = choose_model(cdnow)
    assert set(choice.fits) == {"bg_nbd", "pareto_nbd"}
    bg, pareto = choice.scores["bg_nbd"], choice.scores["pareto_nbd"]
    for score in (bg, pareto):
        assert score.actual_total == 1882
        assert len(score.tracking_actual) == len(score.tracking_predicted) == 39
        assert score.tracking_predicted.sum() == pytest.approx(score.predicted_total)
        assert 0 < score.mae_per_customer < 2
        assert abs(score.predicted_total / score.actual_total - 1) < 0.15
    winner = min(choice.scores, key=lambda name: choice.scores[name].mae_per_customer)
    assert choice.chosen == winner  # the errors differ by more than 1% on CDNOW
    assert choice.fit is choice.fits[winner]
    assert "mean absolute error per customer" in choice.reason
    assert f"{choice.scores[winner].mae_per_customer:.4f}" in choice.reason
    assert choice.failures == {}


def test_the_other_model_wins_when_one_cannot_be_fitted(cdnow, monkeypatch):
    def refuse(*args, **kwargs):
        raise FitFailed("pareto_nbd: the data do not determine s")

    monkeypatch.setitem(module.FITTERS, "pareto_nbd", refuse)
    choice = choose_model(cdnow)
    assert choice.chosen == "bg_nbd"
    assert "only model that could be fitted" in choice.reason
    assert "pareto_nbd" in choice.failures


def test_a_holdout_is_required(cdnow_orders):
    ids, dates, values = cdnow_orders
    without = rfm_summary(ids, dates, values, "1997-09-30", "W", fractional=True)
    with pytest.raises(ValueError, match="holdout: needed"):
        choose_model(without)


def test_near_ties_are_decided_by_tracking(cdnow, monkeypatch):
    scores = {}
    real = module.score_holdout

    def nearly_equal(fit, calibration, holdout):
        score = real(fit, calibration, holdout)
        scores[fit.model] = score
        return module.HoldoutScore(score.actual_total, score.predicted_total, 0.5, score.tracking_mae,
                                   score.tracking_actual, score.tracking_predicted)

    monkeypatch.setattr(module, "score_holdout", nearly_equal)
    choice = choose_model(cdnow)
    assert choice.chosen == min(scores, key=lambda name: scores[name].tracking_mae)
    assert "tracking" in choice.reason
    assert np.isfinite(choice.scores[choice.chosen].tracking_mae)
