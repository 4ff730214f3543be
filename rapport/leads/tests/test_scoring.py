"""Lead scoring: fit rules met and missed, engagement decay, auto-nurture, bad rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.leads.models import FitRule, Lead, LeadStatus, ScoringSettings
from rapport.leads.scoring import engagement as E
from rapport.leads.scoring import rules as R
from rapport.leads.scoring.services import score_lead, score_open_leads
from rapport.leads.services.leads import create_lead
from rapport.people.models import CustomField
from rapport.sales.models import ProductCategory
from rapport.timeline.services import record_event


def add_rule(**data) -> FitRule:
    return FitRule.objects.create(**R.clean_fit_rule(data))


@pytest.fixture
def ideal(db):
    """The ideal customer: software (40), 50-999 staff (30), Germany or France (20), budget >= 10,000 EUR (10)."""
    return [
        add_rule(attribute="industry", values=["Software"], weight=40),
        add_rule(attribute="size_band", values=["50-249", "250-999"], weight=30),
        add_rule(attribute="country", values=["de", "FR"], weight=20),
        add_rule(attribute="budget", number="10000", currency="EUR", weight=10),
    ]


def new_lead(admin, make_contact, make_company, *, company=None, contact=None, **data):
    contact = contact or make_contact(admin, company=company.pk if company else None)
    return create_lead(actor=admin, contact=contact, data=data)


# --- fit rules -----------------------------------------------------------------------------------

def test_fit_score_counts_the_weight_of_rules_met_and_lists_the_missed(ideal, admin_user, make_contact, make_company):
    settings = ScoringSettings.current()
    settings.poor_fit_threshold = 0
    settings.save()
    company = make_company(admin_user, industry="software", size_band="250-999", country="US")
    lead = new_lead(admin_user, make_contact, make_company, company=company, budget_amount="25000",
                    budget_currency="EUR")
    lead.refresh_from_db()
    assert lead.fit_score == 80  # industry (case ignored) 40 + size 30 + budget 10; country missed
    met = {m["label"] for m in lead.fit_details["met"]}
    assert met == {"Industry is Software", "Company size is one of 50–249, 250–999", "Budget at least 10,000 EUR"}
    assert [m["label"] for m in lead.fit_details["missed"]] == ["Country is one of DE, FR"]
    assert "unknown" not in lead.fit_details["missed"][0]


def test_unknown_facts_count_as_missed_and_say_so(ideal, admin_user, make_contact, make_company):
    ScoringSettings.objects.create(poor_fit_threshold=0)
    lead = new_lead(admin_user, make_contact, make_company)  # no company, no budget
    lead.refresh_from_db()
    assert lead.fit_score == 0
    assert all(m.get("unknown") for m in lead.fit_details["missed"])
    assert lead.status == LeadStatus.NEW


def test_budget_band_and_other_currency(db, admin_user, make_contact, make_company):
    from rapport.sales.models import ExchangeRate

    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.5"), valid_from=dt.date(2020, 1, 1))
    ScoringSettings.objects.create(poor_fit_threshold=0)
    add_rule(attribute="budget", number="10000", currency="EUR", weight=10)
    over = new_lead(admin_user, make_contact, make_company, budget_band="50k_250k")
    straddles = new_lead(admin_user, make_contact, make_company, budget_band="1k_10k", budget_currency="EUR")
    dollars = new_lead(admin_user, make_contact, make_company, budget_amount="15000", budget_currency="USD")
    for lead in (over, straddles, dollars):
        lead.refresh_from_db()
    assert over.fit_score == 100
    assert straddles.fit_score == 0 and "unknown" not in straddles.fit_details["missed"][0]
    assert dollars.fit_score == 0  # 15,000 USD is 7,500 EUR at the rate


def test_need_categories_and_custom_fields(db, admin_user, make_contact, make_company):
    ScoringSettings.objects.create(poor_fit_threshold=0)
    crm = ProductCategory.objects.create(name="CRM")
    other = ProductCategory.objects.create(name="Hardware")
    CustomField.objects.create(entity="company", key="annual_revenue", label="Annual revenue", field_type="number")
    add_rule(attribute="need", values=[crm.pk], weight=50)
    add_rule(attribute="custom", custom_field="company.annual_revenue", operator="at_least", number="1000000",
             weight=50)
    rich = make_company(admin_user, custom={"annual_revenue": 5_000_000})
    poor = make_company(admin_user, custom={"annual_revenue": 20_000})
    a = new_lead(admin_user, make_contact, make_company, company=rich, need_categories=[crm.pk, other.pk])
    b = new_lead(admin_user, make_contact, make_company, company=poor, need_categories=[other.pk])
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.fit_score == 100
    assert b.fit_score == 0
    assert {m["label"] for m in b.fit_details["missed"]} == {"Need categories includes CRM",
                                                             "Annual revenue at least 1,000,000"}


# --- bad rules ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "field", "words"), [
    ({"attribute": "industry", "values": ["x"], "colour": "red"}, "colour", "unknown field"),
    ({"attribute": "shoe_size", "values": ["x"]}, "attribute", "choose one of"),
    ({"attribute": "custom", "custom_field": "company.nope", "values": ["x"]}, "custom_field", "no custom field"),
    ({"attribute": "industry", "values": ["Software"], "weight": -5}, "weight", "from 1 to 100"),
    ({"attribute": "industry", "values": ["Software"], "weight": 0}, "weight", "from 1 to 100"),
    ({"attribute": "industry", "values": ["Software"], "weight": "lots"}, "weight", "whole number"),
    ({"attribute": "industry", "values": []}, "values", "at least one value"),
    ({"attribute": "size_band", "values": ["huge"]}, "values", "unknown size bands: huge"),
    ({"attribute": "country", "values": ["Germany"]}, "values", "two-letter"),
    ({"attribute": "need", "values": [99999]}, "values", "unknown product categories: 99999"),
    ({"attribute": "budget", "number": "-10", "currency": "EUR"}, "number", "above zero"),
    ({"attribute": "budget", "number": "10", "currency": "EURO"}, "currency", "three-letter"),
    ({"attribute": "industry", "operator": "at_least", "number": "3"}, "operator", "only budgets"),
    ({"attribute": "industry", "values": ["x"], "custom_field": "company.x"}, "custom_field", "only custom-field"),
])
def test_bad_rules_are_refused_with_a_reason(db, data, field, words):
    with pytest.raises(ValidationFailed) as caught:
        R.clean_fit_rule(data)
    assert words in caught.value.errors[field]


def test_choice_field_rule_takes_only_its_choices(db):
    CustomField.objects.create(entity="contact", key="channel", label="Channel", field_type="choice",
                               choices=["email", "phone"])
    with pytest.raises(ValidationFailed) as caught:
        R.clean_fit_rule({"attribute": "custom", "custom_field": "contact.channel", "values": ["fax"]})
    assert "fax" in caught.value.errors["values"]
    cleaned = R.clean_fit_rule({"attribute": "custom", "custom_field": "contact.channel", "values": ["EMAIL"]})
    assert cleaned["values"] == ["email"]


# --- engagement decay ---------------------------------------------------------------------------

def test_decay_halves_every_half_life():
    points = E.decay(np.array([10.0, 10.0, 10.0, 8.0]), np.array([0.0, 14.0, 28.0, 7.0]), 14.0)
    assert points == pytest.approx([10.0, 5.0, 2.5, 8.0 / np.sqrt(2)])


def test_future_events_count_nothing_and_half_life_must_be_positive():
    assert E.decay(np.array([5.0]), np.array([-1.0]), 14.0)[0] == 0
    with pytest.raises(ValueError):
        E.decay(np.array([1.0]), np.array([1.0]), 0)


def test_engagement_sums_per_lead_even_when_a_contact_has_two_leads():
    day = E.DAY
    now = 100 * day
    result = E.engagement(
        event_contact=np.array([7, 7, 9, 9]), event_time=np.array([now, now - 10 * day, now, now + day]),
        event_weight=np.array([4.0, 4.0, 200.0, 50.0]),
        lead_contact=np.array([9, 7, 7, 3]), lead_at=np.array([now, now, now - 10 * day, now]), half_life_days=10)
    # lead 0: 200 now (capped at 100), a future event ignored; lead 1: 4 + 2; lead 2: sees only the older event
    assert result == pytest.approx([100.0, 6.0, 4.0, 0.0])


def test_engagement_score_of_a_new_lead_decays_its_contacts_events(db, admin_user, make_contact):
    ScoringSettings.objects.create(half_life_days=10, event_weights={"page_view": 2, "form": 10})
    contact = make_contact(admin_user)
    now = timezone.now()
    record_event(kind="page_view", contact=contact, occurred_at=now - dt.timedelta(days=10))
    record_event(kind="form", contact=contact, occurred_at=now - dt.timedelta(minutes=1))
    record_event(kind="note", contact=contact, occurred_at=now)  # no points
    lead = create_lead(actor=admin_user, contact=contact, data={})
    lead.refresh_from_db()
    assert lead.engagement_score == pytest.approx(11.0, abs=0.1)
    assert lead.fit_score is None  # no rules: fit unknown
    assert lead.score == 11 and lead.score_model_version == "rules"


# --- auto-nurture --------------------------------------------------------------------------------

def test_poor_fit_goes_to_nurture_with_the_reason_and_is_not_routed(ideal, admin_user, make_contact, make_company):
    ScoringSettings.objects.create(poor_fit_threshold=50)
    company = make_company(admin_user, industry="Retail", size_band="1-9", country="DE")
    lead = new_lead(admin_user, make_contact, make_company, company=company)
    lead.refresh_from_db()
    assert lead.fit_score == 20
    assert lead.status == LeadStatus.NURTURE
    assert lead.owner_id is None
    assert "Poor fit: 20/100 is below the threshold of 50" in lead.disqualify_note
    assert "Industry is Software" in lead.disqualify_note
    assert lead.contact.events.filter(kind="lead", payload__action="nurtured").exists()


def test_good_fit_stays_open(ideal, admin_user, make_contact, make_company):
    ScoringSettings.objects.create(poor_fit_threshold=50)
    company = make_company(admin_user, industry="Software", size_band="50-249", country="FR")
    lead = new_lead(admin_user, make_contact, make_company, company=company)
    lead.refresh_from_db()
    assert lead.fit_score == 90 and lead.status == LeadStatus.NEW


def test_bulk_scoring_matches_one_by_one_and_never_moves_leads(ideal, admin_user, make_contact, make_company):
    ScoringSettings.objects.create(poor_fit_threshold=0)
    leads = [new_lead(admin_user, make_contact, make_company,
                      company=make_company(admin_user, industry=ind, size_band=band, country="DE"))
             for ind, band in (("Software", "1-9"), ("Retail", "50-249"), ("Software", "250-999"))]
    singles = {lead.pk: (Lead.objects.get(pk=lead.pk).fit_score, Lead.objects.get(pk=lead.pk).fit_details)
               for lead in leads}
    Lead.objects.update(fit_score=None, fit_details={}, score=None)
    FitRule.objects.filter(attribute="country").update(weight=20)
    run = score_open_leads()
    assert run.leads == 3
    for lead in Lead.objects.all():
        assert (lead.fit_score, lead.fit_details) == singles[lead.pk]
        assert lead.status == LeadStatus.NEW and lead.score is not None and len(lead.score_reasons) == 3


def test_score_lead_without_rules_or_events(db, admin_user, make_contact):
    lead = create_lead(actor=admin_user, contact=make_contact(admin_user), data={})
    scored = score_lead(lead)
    assert np.isnan(scored.fit[0]) and lead.score == 0 and lead.fit_details["rules"] == 0


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_big_writes_rebuild_the_queue_indexes(ideal, admin_user, make_contact, make_company, monkeypatch):
    from rapport.leads.scoring import store

    ScoringSettings.objects.create(poor_fit_threshold=0)
    new_lead(admin_user, make_contact, make_company)
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 1)
    with connection.cursor() as cursor:
        before = sorted(name for name, _ in store._score_indexes(cursor))
    assert "lead_owner_queue_idx" in before
    assert score_open_leads().leads == 1
    with connection.cursor() as cursor:
        assert sorted(name for name, _ in store._score_indexes(cursor)) == before
    assert Lead.objects.get().score is not None
