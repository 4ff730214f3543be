"""Forecast, target, suggestion and cost-of-sales pages: what each role sees, forms with bad
input, and query counts that do not grow with the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.sales.models import CostRate, Target
from rapport.timeline import services as timeline

from .forecast_fixtures import make_deal, quarter_deals_fixture, rates_fixture, stages_fixture  # noqa: F401

Q1 = dt.date(2026, 1, 1)


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client
    return login


def page(client, name, params=None, **kwargs):
    response = client.get(reverse(name, kwargs=kwargs or None), params or {})
    return response, response.content.decode()


def test_nav_link_and_dashboard(as_user, seller):
    response, html = page(as_user(seller), "forecast_dashboard")
    assert response.status_code == 200
    assert f'href="{reverse("forecast_dashboard")}" aria-current="page">Forecast</a>' in html
    assert "Sam" in html and "Team North" in html and "(current)" in html and "(next)" in html


def test_forecast_page_shows_figures_definitions_and_unconverted_amounts(as_user, quarter_deals, seller):
    response, html = page(as_user(seller), "forecast_report", {"group": "owner", "period": "quarter",
                                                                "start": "2026-01-01"})
    assert response.status_code == 200
    assert "2026-Q1" in html
    assert "2,300.00 EUR" in html and "2,800.00 EUR" in html
    assert "plus 75,000 JPY without a rate" in html
    assert "at least 90%" in html and "last stage" in html
    assert "Otto" not in html
    assert "1 open deal you can see has no expected close date" in html


@pytest.mark.parametrize(("params", "message"), [
    ({"group": "region"}, "choose owner, team or pipeline"),
    ({"period": "week"}, "choose month or quarter"),
    ({"period": "quarter", "start": "2026-02-01"}, "a quarter starts on"),
    ({"start": "soon"}, "use a date such as"),
])
def test_forecast_page_names_bad_parameters(as_user, seller, params, message):
    response, html = page(as_user(seller), "forecast_report", params)
    assert response.status_code == 200 and message in html and 'role="alert"' in html


def test_forecast_page_query_count_does_not_grow(as_user, quarter_deals, seller, stages,
                                                 django_assert_max_num_queries):
    client = as_user(seller)
    params = {"group": "owner", "period": "quarter", "start": "2026-01-01"}
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("forecast_report"), params)
    for i in range(20):
        make_deal(seller, stages["Proposal"], 10 + i, "USD", close=f"2026-02-{1 + i:02d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("forecast_report"), params).status_code == 200


def test_dashboard_query_count_does_not_grow(as_user, quarter_deals, admin_user, stages, teammate,
                                             django_assert_max_num_queries):
    client = as_user(admin_user)
    with django_assert_max_num_queries(60) as few:
        client.get(reverse("forecast_dashboard"))
    for i in range(10):
        make_deal(teammate, stages["Proposal"], 10 + i, won=f"2026-0{1 + i % 3}-0{1 + i % 9} 10:00")
        Target.objects.create(user=teammate, metric="revenue", period_kind="month",
                              period_start=dt.date(2025, 1 + i, 1), amount=1, currency="EUR")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("forecast_dashboard")).status_code == 200


# --- targets -----------------------------------------------------------------------------------

def target_form(who, **extra):
    data = {"who": who, "metric": "revenue", "period_kind": "quarter", "period_start": "2026-04-01",
            "amount": "12000", "currency": "EUR"}
    data.update(extra)
    return data


def test_manager_sets_edits_and_removes_a_target_through_the_pages(as_user, manager, seller):
    client = as_user(manager)
    response = client.post(reverse("forecast_targets"), target_form(f"user:{seller.pk}"))
    assert response.status_code == 302
    target = Target.objects.get()
    assert (target.user, target.amount, target.period_start) == (seller, Decimal("12000.00"), dt.date(2026, 4, 1))
    _, html = page(client, "forecast_targets")
    assert "Sam" in html and "12,000.00 EUR" in html
    response = client.post(reverse("forecast_target_edit", args=[target.pk]),
                           target_form(f"user:{seller.pk}", amount="15000"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.amount == Decimal("15000.00")
    response = client.post(reverse("forecast_target_delete", args=[target.pk]))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.deleted_at is not None


def test_team_target_and_new_customer_count_through_the_form(as_user, manager, teams):
    client = as_user(manager)
    client.post(reverse("forecast_targets"), target_form(f"team:{teams['north'].pk}", metric="new_customers",
                                                         amount="6", currency="EUR"))
    target = Target.objects.get()
    assert target.team == teams["north"] and target.metric == "new_customers" and target.currency == ""


@pytest.mark.parametrize(("changes", "field_id", "message"), [
    ({"who": ""}, "t-who", "choose a user or a team"),
    ({"who": "user:999999"}, "t-who", "no such user"),
    ({"who": "team:abc"}, "t-who", "must be a whole number"),
    ({"period_start": "2026-05-01"}, "t-start", "a quarter starts on"),
    ({"period_start": "next quarter"}, "t-start", "use a date such as"),
    ({"amount": "-5"}, "t-amount", "must not be negative"),
    ({"amount": "10.999"}, "t-amount", "at most 2 decimal places"),
    ({"currency": "ZZZ"}, "t-currency", "unknown currency"),
    ({"metric": "joy"}, "t-metric", "choose revenue, new_customers, retention or health"),
    ({"period_kind": "year"}, "t-kind", "choose month or quarter"),
])
def test_target_form_rejects_bad_input_next_to_the_field(as_user, manager, seller, changes, field_id, message):
    response = as_user(manager).post(reverse("forecast_targets"), {**target_form(f"user:{seller.pk}"), **changes})
    html = response.content.decode()
    assert response.status_code == 422
    assert f'id="{field_id}-error">' in html and message in html
    assert not Target.objects.exists()


def test_sellers_read_targets_but_may_not_set_or_change_them(as_user, manager, seller, teammate):
    mine = Target.objects.create(user=seller, metric="revenue", period_kind="quarter", period_start=Q1,
                                 amount=100, currency="EUR")
    theirs = Target.objects.create(user=teammate, metric="revenue", period_kind="quarter", period_start=Q1,
                                   amount=200, currency="EUR")
    client = as_user(seller)
    _, html = page(client, "forecast_targets")
    assert "Set a target" not in html and "100.00 EUR" in html and "200.00 EUR" not in html
    assert client.post(reverse("forecast_targets"), target_form(f"user:{seller.pk}")).status_code == 403
    assert client.get(reverse("forecast_target_edit", args=[mine.pk])).status_code == 403
    assert client.post(reverse("forecast_target_delete", args=[mine.pk])).status_code == 403
    # A target they may not read is missing, not forbidden.
    assert client.get(reverse("forecast_target_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("forecast_target_delete", args=[theirs.pk])).status_code == 404
    assert Target.objects.filter(deleted_at__isnull=True).count() == 2


def test_target_list_filters_name_bad_values(as_user, manager):
    _, html = page(as_user(manager), "forecast_targets", {"metric": "joy"})
    assert "choose revenue, new_customers, retention or health" in html


# --- suggestions ---------------------------------------------------------------------------------

def test_suggestions_page_and_one_click_accept(as_user, quarter_deals, manager, seller):
    client = as_user(manager)
    response, html = page(client, "forecast_suggestions", {"period": "quarter", "start": "2026-04-01"})
    assert response.status_code == 200 and "Sam" in html and "win rate" in html
    response = client.post(reverse("forecast_suggestion_accept"), {
        "user": seller.pk, "period_kind": "quarter", "period_start": "2026-04-01"})
    assert response.status_code == 302 and "start=2026-04-01" in response["Location"]
    target = Target.objects.get(user=seller)
    assert target.period_start == dt.date(2026, 4, 1) and target.amount > 0


def test_accept_with_bad_input_says_why(as_user, manager, seller):
    client = as_user(manager)
    response = client.post(reverse("forecast_suggestion_accept"), {
        "user": seller.pk, "period_kind": "quarter", "period_start": "2026-05-01"}, follow=True)
    assert "Not accepted: period_start: a quarter starts on" in response.content.decode()
    assert not Target.objects.exists()


def test_sellers_see_their_suggestion_without_an_accept_button(as_user, quarter_deals, seller):
    client = as_user(seller)
    _, html = page(client, "forecast_suggestions", {"period": "quarter", "start": "2026-04-01"})
    assert reverse("forecast_suggestion_accept") not in html
    response = client.post(reverse("forecast_suggestion_accept"), {
        "user": seller.pk, "period_kind": "quarter", "period_start": "2026-04-01"})
    assert response.status_code == 403


def test_suggestions_page_names_a_bad_period(as_user, manager):
    _, html = page(as_user(manager), "forecast_suggestions", {"period": "year"})
    assert "choose month or quarter" in html


# --- cost of sales -------------------------------------------------------------------------------

@pytest.fixture(name="costed")
def costed_fixture(rates, stages, seller, manager, marketer):
    CostRate.objects.create(role="seller", cost_per_hour=Decimal("60"), currency="EUR")
    won = make_deal(seller, stages["Commitment"], 10000, won="2026-02-20 10:00", source="Referral", name="Big win")
    timeline.log_activity(actor=seller, deal=won, data={"kind": "call", "duration_minutes": 90})
    timeline.log_activity(actor=marketer, deal=won, data={"kind": "meeting", "duration_minutes": 30})
    return won


def test_cost_of_sales_page(as_user, costed, manager):
    response, html = page(as_user(manager), "cost_of_sales", {"start": "2026-01-01", "end": "2026-03-31"})
    assert response.status_code == 200
    assert "Big win" in html and "90.00 EUR" in html and "0.9%" in html
    assert "No cost rate for: Marketer" in html and "30 min by marketer" in html


def test_cost_of_sales_page_is_missing_for_sellers(as_user, costed, seller):
    assert as_user(seller).get(reverse("cost_of_sales")).status_code == 404


@pytest.mark.parametrize("params", [{"start": "then"}, {"start": "2026-03-01", "end": "2026-01-01"},
                                    {"group": "mood"}])
def test_cost_of_sales_page_names_bad_parameters(as_user, costed, manager, params):
    _, html = page(as_user(manager), "cost_of_sales", params)
    assert 'role="alert"' in html


def test_cost_page_query_count_does_not_grow(as_user, costed, manager, seller, stages, django_assert_max_num_queries):
    client = as_user(manager)
    params = {"start": "2026-01-01", "end": "2026-03-31"}
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("cost_of_sales"), params)
    for i in range(10):
        deal = make_deal(seller, stages["Commitment"], 100, won=f"2026-03-{i + 1:02d} 10:00", source=f"s{i}")
        timeline.log_activity(actor=seller, deal=deal, data={"kind": "call", "duration_minutes": 10})
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("cost_of_sales"), params).status_code == 200


def test_deal_page_shows_the_cost_to_managers_and_minutes_to_sellers(as_user, costed, manager, seller):
    _, html = page(as_user(manager), "deal_detail", deal_id=costed.pk)
    assert 'id="deal-cost"' in html and "Cost of winning this deal" in html and "90.00 EUR" in html
    assert "has no cost rate and is not counted" in html
    _, html = page(as_user(seller), "deal_detail", deal_id=costed.pk)
    assert "2 h 00 min logged on this deal" in html and "90.00 EUR" not in html
