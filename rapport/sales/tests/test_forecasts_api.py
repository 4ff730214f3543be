"""/api/v1/forecast, /targets, /targets/suggestions and /cost-of-sales."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.api.testing import ApiClient, field_errors
from rapport.sales.models import CostRate, Target
from rapport.timeline import services as timeline

from .forecast_fixtures import make_deal, quarter_deals_fixture, rates_fixture, stages_fixture  # noqa: F401

Q1 = dt.date(2026, 1, 1)


def test_forecast_figures(quarter_deals, seller):
    response = ApiClient(seller).get("/forecast", {"group": "owner", "period": "quarter", "start": "2026-01-01"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["base_currency"] == "EUR" and body["period"] == {
        "kind": "quarter", "start": "2026-01-01", "end": "2026-04-01", "label": "2026-Q1"}
    sam = next(r for r in body["rows"] if r["label"] == "Sam")
    assert sam["closed_won"] == {"amount": "2300.00", "currency": "EUR", "unconverted": {}}
    assert sam["commit"]["amount"] == "2800.00"
    assert sam["weighted"] == {"amount": "3460.00", "currency": "EUR", "unconverted": {"JPY": "75000"}}
    assert sam["target"] is None and sam["attainment"] is None
    assert body["total"]["closed_won"]["amount"] == "2800.00"
    assert {r["label"] for r in body["rows"]} == {"Sam", "Tia"}
    assert body["undated_open_deals"] == 1


def test_forecast_with_a_target(quarter_deals, seller, manager):
    Target.objects.create(user=seller, metric="revenue", period_kind="quarter", period_start=Q1,
                          amount=Decimal("4600"), currency="EUR")
    body = ApiClient(manager).get("/forecast", {"period": "quarter", "start": "2026-01-01"}).json()
    sam = next(r for r in body["rows"] if r["label"] == "Sam")
    assert sam["target"]["in_base"] == "4600.00" and sam["attainment"] == "50.0" and sam["projected"] == "110.9"


@pytest.mark.parametrize(("params", "field"), [
    ({"group": "planet"}, "group"),
    ({"period": "decade"}, "period"),
    ({"period": "quarter", "start": "2026-03-01"}, "start"),
    ({"start": "2026-13-01"}, "start"),
    ({"colour": "red"}, "colour"),
])
def test_forecast_bad_parameters_are_422(seller, params, field):
    errors = field_errors(ApiClient(seller).get("/forecast", params))
    assert ("query", field) in errors


def test_forecast_needs_authentication(client):
    assert client.get("/api/v1/forecast", secure=True).status_code == 401


def test_forecast_query_count_does_not_grow(quarter_deals, seller, stages, django_assert_max_num_queries):
    api = ApiClient(seller)
    params = {"period": "quarter", "start": "2026-01-01"}
    with django_assert_max_num_queries(30) as few:
        api.get("/forecast", params)
    for i in range(20):
        make_deal(seller, stages["Negotiation"], 50 + i, "USD", close=f"2026-03-{1 + i:02d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get("/forecast", params).status_code == 200


# --- targets -----------------------------------------------------------------------------------

def test_target_crud(manager, seller):
    api = ApiClient(manager)
    data = {"user": seller.pk, "metric": "revenue", "period_kind": "quarter", "period_start": "2026-04-01",
            "amount": "12000.50", "currency": "usd"}
    created = api.post("/targets", data)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["user"], body["team"], body["amount"], body["currency"], body["period_start"]) == (
        seller.pk, None, "12000.50", "USD", "2026-04-01")
    again = api.post("/targets", {**data, "amount": 13000})
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["amount"] == "13000.00"
    assert api.get(f"/targets/{body['id']}").json()["amount"] == "13000.00"
    patched = api.patch(f"/targets/{body['id']}", {"metric": "new_customers", "amount": 5})
    assert patched.status_code == 200 and patched.json()["amount"] == "5" and patched.json()["currency"] == ""
    listed = api.get("/targets", {"metric": "new_customers"}).json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]
    assert api.delete(f"/targets/{body['id']}").status_code == 204
    assert api.get(f"/targets/{body['id']}").status_code == 404


@pytest.mark.parametrize(("data", "field"), [
    ({"amount": "-1"}, "amount"),
    ({"amount": "1.001"}, "amount"),
    ({"amount": "12", "currency": "QQQ"}, "currency"),
    ({"period_start": "2026-04-15"}, "period_start"),
    ({"period_start": "April"}, "period_start"),
    ({"period_kind": "week"}, "period_kind"),
    ({"metric": "fun"}, "metric"),
    ({"user": None}, "user"),
    ({"user": 999999}, "user"),
    ({"team": 1}, "team"),
    ({"created_by": 1}, "created_by"),
    ({"metric": "new_customers", "amount": "1.5", "currency": None}, "amount"),
])
def test_set_target_bad_input_is_422(manager, seller, teams, data, field):
    payload = {"user": seller.pk, "metric": "revenue", "period_kind": "quarter", "period_start": "2026-04-01",
               "amount": "100", "currency": "EUR", **data}
    errors = field_errors(ApiClient(manager).post("/targets", payload))
    assert ("body", field) in errors, errors
    assert not Target.objects.exists()


@pytest.mark.parametrize(("params", "field"), [
    ({"metric": "fun"}, "metric"), ({"period": "week"}, "period"), ({"user": "me"}, "user"),
    ({"start": "2026-04-15", "period": "month"}, "start"), ({"cursor": "garbage!"}, "cursor"),
    ({"limit": 0}, "limit"), ({"sort": "x"}, "sort"),
])
def test_list_targets_bad_filters_are_422(manager, params, field):
    errors = field_errors(ApiClient(manager).get("/targets", params))
    assert any(loc[-1] == field for loc in errors), errors


def test_target_permissions(admin_user, manager, seller, teammate, other_seller):
    mine = Target.objects.create(user=seller, metric="revenue", period_kind="quarter", period_start=Q1, amount=1,
                                 currency="EUR")
    south = Target.objects.create(user=other_seller, metric="revenue", period_kind="quarter", period_start=Q1,
                                  amount=1, currency="EUR")
    api = ApiClient(seller)
    assert [t["id"] for t in api.get("/targets").json()["items"]] == [mine.pk]
    assert api.post("/targets", {"user": seller.pk, "period_start": "2026-04-01", "amount": 5}).status_code == 403
    assert api.patch(f"/targets/{mine.pk}", {"amount": 5}).status_code == 403
    assert api.delete(f"/targets/{mine.pk}").status_code == 403
    assert api.get(f"/targets/{south.pk}").status_code == 404
    boss = ApiClient(manager)
    assert boss.get(f"/targets/{south.pk}").status_code == 404
    assert boss.delete(f"/targets/{south.pk}").status_code == 404
    assert field_errors(boss.post("/targets", {"user": other_seller.pk, "period_start": "2026-04-01",
                                               "amount": 5}))[("body", "user")]
    assert ApiClient(admin_user).patch(f"/targets/{south.pk}", {"amount": 7}).status_code == 200
    assert Target.objects.get(pk=mine.pk).amount == 1


# --- suggestions ---------------------------------------------------------------------------------

def test_suggestions_and_accepting_one(quarter_deals, manager, seller):
    api = ApiClient(manager)
    response = api.get("/targets/suggestions", {"period": "quarter", "start": "2026-04-01"})
    assert response.status_code == 200
    rows = {r["label"]: r for r in response.json()}
    assert set(rows) == {"Mona", "Sam", "Tia"}
    assert rows["Sam"]["may_accept"] and rows["Sam"]["reasoning"] and rows["Sam"]["currency"] == "EUR"
    accepted = api.post("/targets/suggestions/accept", {"user": seller.pk, "period_kind": "quarter",
                                                        "period_start": "2026-04-01"})
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["user"] == seller.pk and Decimal(accepted.json()["amount"]) > 0
    again = api.post("/targets/suggestions/accept", {"user": seller.pk, "period_kind": "quarter",
                                                     "period_start": "2026-04-01"})
    assert again.status_code == 200 and again.json()["id"] == accepted.json()["id"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"user": "abc"}, "user"), ({"user": 999999}, "user"), ({"period_kind": "year"}, "period_kind"),
    ({"period_start": "2026-04-02"}, "period_start"), ({"extra": 1}, "extra"),
])
def test_accept_bad_input_is_422(manager, seller, payload, field):
    body = {"user": seller.pk, "period_kind": "quarter", "period_start": "2026-04-01", **payload}
    errors = field_errors(ApiClient(manager).post("/targets/suggestions/accept", body))
    assert ("body", field) in errors, errors


def test_sellers_may_not_accept(seller):
    response = ApiClient(seller).post("/targets/suggestions/accept", {
        "user": seller.pk, "period_kind": "quarter", "period_start": "2026-04-01"})
    assert response.status_code == 403


@pytest.mark.parametrize(("params", "field"), [({"period": "year"}, "period"), ({"start": "x"}, "start"),
                                               ({"who": "me"}, "who")])
def test_suggestions_bad_parameters_are_422(manager, params, field):
    assert ("query", field) in field_errors(ApiClient(manager).get("/targets/suggestions", params))


# --- cost of sales -------------------------------------------------------------------------------

@pytest.fixture(name="costed")
def costed_fixture(rates, stages, seller, manager):
    CostRate.objects.create(role="seller", cost_per_hour=Decimal("60"), currency="EUR")
    CostRate.objects.create(role="manager", cost_per_hour=Decimal("120"), currency="USD")
    won = make_deal(seller, stages["Commitment"], 10000, won="2026-02-20 10:00", source="Referral")
    timeline.log_activity(actor=seller, deal=won, data={"kind": "call", "duration_minutes": 90})
    timeline.log_activity(actor=manager, deal=won, data={"kind": "call", "duration_minutes": 30})
    return won


def test_cost_of_sales(costed, manager, seller):
    api = ApiClient(manager)
    body = api.get("/cost-of-sales", {"start": "2026-01-01", "end": "2026-03-31"}).json()
    (row,) = body["rows"]
    assert row["key"] == seller.pk and row["total_cost"]["amount"] == "138.00"
    assert row["cost_per_won_deal"] == "138.00" and row["cost_share"] == "1.4" and row["unrated_minutes"] == {}
    by_source = api.get("/cost-of-sales", {"group": "source", "start": "2026-01-01", "end": "2026-03-31"}).json()
    assert by_source["rows"][0]["key"] == "Referral"
    deals = api.get("/cost-of-sales/deals", {"start": "2026-01-01", "end": "2026-03-31"}).json()
    (deal,) = deals["items"]
    assert deal["deal"] == costed.pk and deal["minutes"] == 120 and deal["cost"]["amount"] == "138.00"
    assert {(r["role"], r["cost"], r["currency"]) for r in deal["roles"]} == {("seller", "90.00", "EUR"),
                                                                              ("manager", "60.00", "USD")}


def test_cost_of_sales_is_missing_for_sellers(costed, seller):
    api = ApiClient(seller)
    assert api.get("/cost-of-sales").status_code == 404
    assert api.get("/cost-of-sales/deals").status_code == 404


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "yesterday"}, "start"), ({"start": "2026-03-01", "end": "2026-01-01"}, "end"),
    ({"group": "mood"}, "group"), ({"owner": 1}, "owner"),
])
def test_cost_of_sales_bad_parameters_are_422(costed, manager, params, field):
    assert ("query", field) in field_errors(ApiClient(manager).get("/cost-of-sales", params))
