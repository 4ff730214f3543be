"""Health on hand-made customers: each component, the weighting and the reasons in words."""

import numpy as np
import pytest

from rapport.reports.health import (
    DEFAULT_WEIGHTS,
    HealthFacts,
    band,
    check_weights,
    component_scores,
    health_scores,
    reasons,
)

NAN = np.nan


def facts(typical=45.0, **columns):
    """Customers as columns; anything not given is an unremarkable value."""
    n = len(next(iter(columns.values())))
    base = dict(probability_alive=[0.9] * n, days_since_order=[10.0] * n, usual_interval_days=[30.0] * n,
                events_recent=[5] * n, events_before=[5] * n, days_since_contact=[10.0] * n, open_deals=[0] * n,
                moving_deals=[0] * n, stalled_deals=[0] * n)
    base.update(columns)
    return HealthFacts(typical_interval_days=typical, **{k: np.asarray(v, dtype=np.float64) for k, v in base.items()})


def test_recency_falls_from_one_usual_interval_to_zero_at_four():
    scores = component_scores(facts(days_since_order=[20, 30, 60, 90, 120, 400],
                                    usual_interval_days=[30] * 6))["recency"]
    assert scores.tolist() == pytest.approx([100, 100, 200 / 3, 100 / 3, 0, 0])


def test_one_time_buyers_are_measured_against_the_typical_interval():
    scores = component_scores(facts(days_since_order=[45, 90], usual_interval_days=[NAN, NAN]))["recency"]
    assert scores.tolist() == pytest.approx([100, 200 / 3])  # typical interval 45 days


def test_engagement_compares_the_last_90_days_with_the_90_before():
    scores = component_scores(facts(events_recent=[10, 3, 0, 4, 0], events_before=[10, 12, 8, 0, 0]))["engagement"]
    assert scores.tolist() == pytest.approx([100, 25, 0, 100, 0])


def test_contact_uses_the_buying_interval_but_at_least_30_days_and_never_is_zero():
    scores = component_scores(facts(days_since_contact=[30, 74, NAN, 20, 45], usual_interval_days=[30, 30, 30, 7, 7]))
    assert scores["contact"].tolist() == pytest.approx([100, 100 * (1 - (74 / 30 - 1) / 3), 0, 100, 100 * (1 - 0.5 / 3)])


def test_deals_apply_only_with_open_deals():
    scores = component_scores(facts(open_deals=[0, 2, 4, 1], moving_deals=[0, 2, 1, 0], stalled_deals=[0, 0, 2, 0]))
    assert np.isnan(scores["deals"][0])
    assert scores["deals"][1:].tolist() == pytest.approx([100, 100 * (1 + 0.5) / 4, 50])


def test_health_is_the_weighted_mean_of_the_components_that_apply():
    f = facts(probability_alive=[1.0, 0.2], days_since_order=[10, 120], usual_interval_days=[30, 30],
              events_recent=[5, 0], events_before=[5, 10], days_since_contact=[10, NAN], open_deals=[1, 0],
              moving_deals=[1, 0], stalled_deals=[0, 0])
    health, components = health_scores(f, DEFAULT_WEIGHTS)
    assert health[0] == 100
    # The second has no open deal: alive 20, recency 0, engagement 0, contact 0 over weights 30+25+15+15.
    assert health[1] == round(20 * 30 / 85)
    assert np.isnan(components["deals"][1])


def test_a_lapsed_customer_is_less_healthy_than_a_loyal_one():
    f = facts(probability_alive=[0.95, 0.15], days_since_order=[12, 150], events_recent=[9, 1], events_before=[8, 9],
              days_since_contact=[14, 200])
    health, _ = health_scores(f, DEFAULT_WEIGHTS)
    assert health[0] > 80 > 30 > health[1]


def test_unknown_chance_alive_drops_out_of_the_weighting():
    health, _ = health_scores(facts(probability_alive=[NAN, NAN]), {"alive": 50, "recency": 50})
    assert health.tolist() == [100, 100]


def test_weights_are_checked_with_clear_messages():
    with pytest.raises(ValueError, match="unknown component.*mood"):
        check_weights({"mood": 1})
    with pytest.raises(ValueError, match="weight of alive must be a number >= 0"):
        check_weights({"alive": -1})
    with pytest.raises(ValueError, match="weight of alive must be a number >= 0"):
        check_weights({"alive": "a lot"})
    with pytest.raises(ValueError, match="at least one weight must be above 0"):
        check_weights({"alive": 0})
    with pytest.raises(ValueError, match="expected a mapping"):
        check_weights([])


def one(f: HealthFacts, i: int = 0) -> dict:
    return {name: float(getattr(f, name)[i]) for name in ("probability_alive", "days_since_order",
                                                           "usual_interval_days", "days_since_contact")} | {
        name: int(getattr(f, name)[i]) for name in ("events_recent", "events_before", "open_deals", "moving_deals",
                                                    "stalled_deals")}


def test_reasons_name_the_worst_components_first_in_plain_words():
    f = facts(probability_alive=[0.6], days_since_order=[50], usual_interval_days=[30], days_since_contact=[74],
              events_recent=[2], events_before=[8], open_deals=[3], moving_deals=[0], stalled_deals=[2])
    _, components = health_scores(f, DEFAULT_WEIGHTS)
    stored = {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in components.items()}
    found = reasons(one(f), stored, DEFAULT_WEIGHTS, typical_interval_days=45, limit=4)
    texts = [r.text for r in found]
    assert len(found) == 4
    assert texts[0] == "2 of 3 open deals stalled"  # 15 x (100 - 17) pulls hardest
    assert texts[1] == "60% chance they are still a customer"
    assert "no contact in 74 days while they usually buy every 30 days" in texts
    assert "activity down from 8 to 2 events (last 90 days against the 90 before)" in texts
    impacts = [DEFAULT_WEIGHTS[r.component] * (100 - r.score) for r in found]
    assert impacts == sorted(impacts, reverse=True)
    assert not any(r.good for r in found)


def test_a_healthy_customers_reasons_are_its_strengths():
    f = facts(probability_alive=[0.97], days_since_order=[5], days_since_contact=[3])
    _, components = health_scores(f, DEFAULT_WEIGHTS)
    stored = {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in components.items()}
    found = reasons(one(f), stored, DEFAULT_WEIGHTS, limit=4)
    assert found[0].text == "very likely still a customer (97% chance)"
    assert all(r.good for r in found)
    assert "a seller talked to them 3 days ago" in [r.text for r in found]


def test_one_time_buyer_and_never_contacted_reasons():
    f = facts(days_since_order=[120], usual_interval_days=[NAN], days_since_contact=[NAN], events_recent=[0],
              events_before=[0])
    _, components = health_scores(f, DEFAULT_WEIGHTS)
    stored = {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in components.items()}
    texts = [r.text for r in reasons(one(f), stored, DEFAULT_WEIGHTS, typical_interval_days=45, limit=5)]
    assert "one purchase so far, 120 days ago; customers usually come back within 45 days" in texts
    assert "no call, meeting or e-mail with a seller yet" in texts
    assert "no activity on their timeline in 180 days" in texts


def test_bands():
    assert [band(h) for h in (None, 0, 39, 40, 69, 70, 100)] == ["", "at_risk", "at_risk", "watch", "watch",
                                                                 "healthy", "healthy"]
