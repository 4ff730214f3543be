"""The lead-scoring page and API: who reads, who changes, and what bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.api.testing import field_errors
from rapport.core.models import AuditEntry
from rapport.leads.models import FitRule, ScoreModel, ScoringSettings
from rapport.leads.scoring import predictive as P


def trained_row() -> ScoreModel:
    rng = np.random.default_rng(1)
    p = rng.random(400)
    y = (rng.random(400) < p).astype(int)
    return ScoreModel.objects.create(version="v1", status="ready", outcomes=400, wins=int(y.sum()),
                                     metrics=P.metrics(p, y) | {"train": 300, "holdout": 400,
                                                                "effects": {"fit_score": 1.2}})


def test_page_shows_the_evaluation_and_calibration(client, manager):
    trained_row()
    client.force_login(manager)
    page = client.get("/leads/scoring/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "ROC AUC" in text and "Brier score" in text and "Calibration on the test leads" in text
    assert "Add a rule" not in text  # managers read; admins and marketers change


def test_page_before_any_training_says_what_to_do(client, seller):
    client.force_login(seller)
    text = client.get("/leads/scoring/").content.decode()
    assert "No model has been trained yet" in text and "No fit rules yet" in text


def test_leads_list_links_to_the_scoring_page(client, manager):
    client.force_login(manager)
    assert 'href="/leads/scoring/"' in client.get("/leads/").content.decode()


def test_marketer_adds_a_rule_and_bad_input_rerenders_with_reasons(client, marketer):
    client.force_login(marketer)
    response = client.post("/leads/scoring/rules/", {"attribute": "size_band", "values": "50-249, 250-999",
                                                     "weight": "30"})
    assert response.status_code == 302
    rule = FitRule.objects.get()
    assert rule.values == ["50-249", "250-999"] and rule.weight == 30
    assert AuditEntry.objects.filter(record_type="leads.fitrule", record_id=rule.pk, action="create").exists()
    bad = client.post("/leads/scoring/rules/", {"attribute": "size_band", "values": "huge", "weight": "-3"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "unknown size bands: huge" in text and "from 1 to 100" in text
    assert FitRule.objects.count() == 1
    client.post(f"/leads/scoring/rules/{rule.pk}/", {})
    rule.refresh_from_db()
    assert rule.active is False


def test_seller_may_not_change_rules_or_settings(client, seller):
    client.force_login(seller)
    assert client.post("/leads/scoring/rules/", {"attribute": "industry", "values": "x"}).status_code == 403
    assert client.post("/leads/scoring/settings/", {"poor_fit_threshold": "90"}).status_code == 403
    assert ScoringSettings.current().poor_fit_threshold == 30


def test_settings_form_refuses_bad_numbers(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/leads/scoring/settings/", {"poor_fit_threshold": "150", "half_life_days": "0",
                                                       "weight_page_view": "-1"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "from 0 to 100" in text and "from 0.5 to 365" in text and "not negative" in text
    ok = client.post("/leads/scoring/settings/", {"poor_fit_threshold": "40", "half_life_days": "7",
                                                  "weight_page_view": "2"})
    assert ok.status_code == 302
    settings = ScoringSettings.current()
    assert settings.poor_fit_threshold == 40 and settings.half_life_days == 7.0
    assert settings.event_weights["page_view"] == 2.0


# --- API ------------------------------------------------------------------------------------------

def test_api_creates_lists_updates_and_deletes_rules(api_as, marketer):
    client = api_as(marketer)
    created = client.post("/lead-scoring/rules", {"attribute": "budget", "number": "5000", "currency": "eur",
                                                  "weight": 20})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["label"] == "Budget at least 5,000 EUR" and body["currency"] == "EUR"
    assert [r["id"] for r in client.get("/lead-scoring/rules").json()] == [body["id"]]
    patched = client.patch(f"/lead-scoring/rules/{body['id']}", {"weight": 40})
    assert patched.status_code == 200 and patched.json()["weight"] == 40
    assert client.delete(f"/lead-scoring/rules/{body['id']}").status_code == 204
    assert client.get("/lead-scoring/rules").json() == []


@pytest.mark.parametrize(("payload", "field"), [
    ({"attribute": "industry", "values": ["Software"], "weight": -10}, "weight"),
    ({"attribute": "industry", "values": ["Software"], "colour": "red"}, "colour"),
    ({"attribute": "custom", "custom_field": "company.missing", "values": ["x"]}, "custom_field"),
    ({"attribute": "planet", "values": ["Mars"]}, "attribute"),
])
def test_api_refuses_bad_rules_with_field_errors(api_as, admin_user, payload, field):
    errors = field_errors(api_as(admin_user).post("/lead-scoring/rules", payload))
    assert ("body", field) in errors
    assert not FitRule.objects.exists()


def test_api_settings_and_evaluation(api_as, admin_user, seller):
    client = api_as(admin_user)
    assert client.get("/lead-scoring/evaluation").status_code == 404
    errors = field_errors(client.patch("/lead-scoring/settings", {"event_weights": {"telepathy": 3}}))
    assert "unknown event kinds: telepathy" in errors[("body", "event_weights")]
    assert client.patch("/lead-scoring/settings", {"half_life_days": 21}).json()["half_life_days"] == 21.0
    assert api_as(seller).patch("/lead-scoring/settings", {"fit_share": 10}).status_code == 403
    trained_row()
    body = api_as(seller).get("/lead-scoring/evaluation").json()
    assert body["version"] == "v1" and len(body["calibration"]) == 10 and 0 <= body["roc_auc"] <= 1
