"""The insights pages: what each shows, charts embedded as data blocks with their tables, empty
states, bad parameters answered 400 naming the field, visibility and query counts."""

from __future__ import annotations

import json
import re

import altair as alt
import pytest
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema import core
from django.urls import reverse

from rapport.reports.models import ModelRun

from .analytics_fixtures import make_deal, make_order, make_score, run


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client
    return login


def get(client, name, params=None):
    response = client.get(reverse(name), params or {})
    return response, response.content.decode()


def specs(html: str) -> dict[str, dict]:
    """The Vega-Lite specs the page carries as JSON data blocks, by block id."""
    blocks = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', html, re.S)
    return {block_id: json.loads(text) for block_id, text in blocks}


def assert_valid(spec: dict) -> None:
    validate_jsonschema(spec, core.load_schema())
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    assert alt.SCHEMA_VERSION.startswith("v6")


@pytest.fixture(name="shop")
def shop_fixture(seller, other_seller, make_contact, make_company):
    ann = make_contact(seller, first_name="Ann", source="Webinar", lifecycle_stage="customer")
    bob = make_contact(seller, first_name="Bob", source="Fair", lifecycle_stage="lead")
    olaf = make_contact(other_seller, first_name="Olaf", source="Secret south source", lifecycle_stage="customer")
    deal = make_deal(seller, won="2025-01-02 10:00", source="Referral")
    make_order(contact=ann, when="2025-01-05 10:00", deal=deal)
    make_order(contact=ann, when="2025-02-05 10:00")
    make_order(contact=olaf, when="2025-01-05 10:00", total=99999)
    make_score(contact=ann, value_12m=321, lifetime_value=999, health=77)
    make_score(contact=olaf, value_12m=55555, lifetime_value=77777, health=10)
    return {"ann": ann, "bob": bob, "olaf": olaf}


def test_the_sidebar_links_to_insights(as_user, seller):
    _, html = get(as_user(seller), "home")
    assert f'href="{reverse("insights_dashboard")}"' in html and ">Insights</a>" in html


def test_login_required(client):
    for name in ("insights_dashboard", "insights_cohorts", "insights_sources", "insights_tracking",
                 "insights_scorecard"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_dashboard_shows_value_and_funnel_with_valid_charts(as_user, shop, seller):
    response, html = get(as_user(seller), "insights_dashboard")
    assert response.status_code == 200
    found = specs(html)
    assert set(found) == {"value-chart-spec", "funnel-chart-spec"}
    for spec in found.values():
        assert_valid(spec)
    assert 'data-vega-spec="value-chart-spec"' in html and "vendor/vega-embed.min.js" in html
    # The numbers are on the page too, and only the seller's team's.
    assert "321.00 EUR" in html and "55,555" not in html and "55555" not in html
    assert "What is measured:" in html and "Lifecycle funnel" in html
    # The page's scripts all carry the nonce; nothing runs inline.
    assert not re.search(r"<script(?![^>]*(nonce=|type=\"application/json\"))", html)


def test_dashboard_of_an_admin_includes_every_team(as_user, shop, admin_user):
    _, html = get(as_user(admin_user), "insights_dashboard", {"measure": "lifetime_value"})
    assert "77,777.00 EUR" in html


def test_dashboard_empty_state(as_user, seller):
    _, html = get(as_user(seller), "insights_dashboard")
    assert "has been scored yet" in html and "No contacts in your view yet." in html
    assert specs(html) == {}


@pytest.mark.parametrize(("name", "params", "message"), [
    ("insights_dashboard", {"measure": "revenue"}, "measure: choose value_12m or lifetime_value"),
    ("insights_dashboard", {"of": "deals"}, "of: choose contacts or companies"),
    ("insights_cohorts", {"months": "many"}, "months: must be a whole number of months"),
    ("insights_cohorts", {"months": "99"}, "months: choose between 2 and 36 months"),
    ("insights_scorecard", {"period": "year"}, "period: choose month or quarter"),
    ("insights_scorecard", {"start": "2026-02-01"}, "start: a quarter starts on"),
    ("insights_scorecard", {"sort": "luck"}, "sort: choose one of"),
])
def test_bad_parameters_are_answered_400_naming_the_field(as_user, seller, name, params, message):
    response, html = get(as_user(seller), name, params)
    assert response.status_code == 400 and 'role="alert"' in html and message in html


def test_cohorts_page(as_user, shop, seller):
    response, html = get(as_user(seller), "insights_cohorts", {"months": "24"})
    assert response.status_code == 200
    found = specs(html)
    assert set(found) == {"cohort-chart-spec", "revenue-cohort-chart-spec"}
    for spec in found.values():
        assert_valid(spec)
    assert "Jan 2025" in html and "heat-10" in html and "99,999" not in html
    assert '<option value="24" selected>' in html


def test_cohorts_empty_state(as_user, seller):
    _, html = get(as_user(seller), "insights_cohorts")
    assert "No customer in your view placed a first order" in html and specs(html) == {}


def test_sources_page(as_user, shop, seller):
    response, html = get(as_user(seller), "insights_sources")
    assert response.status_code == 200
    assert_valid(specs(html)["sources-chart-spec"])
    assert "Webinar" in html and "Referral" in html and "Fair" in html
    assert "Secret south source" not in html


def test_sources_empty_state(as_user, seller):
    _, html = get(as_user(seller), "insights_sources")
    assert "No contacts, deals or orders in your view yet." in html


def tracked_run():
    return run(why="per customer 0.70 against 0.75 purchases off", fits={"contacts": {
        "chosen": "bg_nbd",
        "calibration": {"calibration_end": "2026-01-05", "holdout_weeks": 3, "holdout": {
            "bg_nbd": {"tracking_actual": [10, 12, 9], "tracking_predicted": [11.5, 11.0, 10.2]},
            "pareto_nbd": {"tracking_actual": [10, 12, 9], "tracking_predicted": [13, 13, 13]}}}}})


def test_tracking_page_for_a_manager(as_user, manager):
    tracked_run()
    response, html = get(as_user(manager), "insights_tracking")
    assert response.status_code == 200
    spec = specs(html)["tracking-chart-spec"]
    assert_valid(spec)
    assert [r["purchases"] for r in spec["data"]["values"] if r["series"] == "Predicted"] == [11.5, 11.0, 10.2]
    assert "predicted 33 repeat purchases where customers made 31" in html
    assert "12 Jan 2026" in html  # the second week starts a week after the calibration end
    assert "per customer 0.70 against 0.75" in html


def test_tracking_is_not_shown_to_sellers(as_user, seller):
    tracked_run()
    _, html = get(as_user(seller), "insights_tracking")
    assert "shown to admins and managers" in html and specs(html) == {}
    _, dashboard = get(as_user(seller), "insights_dashboard")
    assert reverse("insights_tracking") not in dashboard


def test_tracking_empty_states(as_user, admin_user):
    _, html = get(as_user(admin_user), "insights_tracking")
    assert "No insights refresh has run yet" in html
    run(why="history from 2026-01-01 is shorter than twice the 26-week holdout")
    _, html = get(as_user(admin_user), "insights_tracking")
    assert "did not compare the models: history from 2026-01-01" in html
    assert ModelRun.objects.count() == 1


def test_page_queries_do_not_grow_with_customers(as_user, shop, admin_user, make_contact,
                                                 django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(admin_user)
    counts = {}
    for name in ("insights_dashboard", "insights_cohorts", "insights_sources"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200
        counts[name] = len(queries)
    for n in range(15):
        buyer = make_contact(admin_user, first_name=f"Buyer{n}", source=f"Source {n}", lifecycle_stage="customer")
        make_order(contact=buyer, when="2026-01-03 10:00")
        make_score(contact=buyer, value_12m=10 * n, health=50)
    for name, count in counts.items():
        with django_assert_max_num_queries(count):
            assert client.get(reverse(name)).status_code == 200
