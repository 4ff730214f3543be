"""Insights in a real browser: a manager opens the scorecard and sorts it, the dashboards draw
their charts from the vendored Vega libraries under the page's CSP (a violation or a JavaScript
error fails the test, see conftest), and a customer's page shows their value, health and reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def team_book(seller, teammate, manager, other_seller, make_contact):
    """This quarter: the seller won 1,500 and the teammate 700; the south seller 9,999 (never in
    the manager's view). Customers bought last month and this month; two are scored."""
    from rapport.reports.tests.analytics_fixtures import make_deal, make_order, make_score, run

    now = timezone.now()
    stamp = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    last_month = (now.replace(day=1) - dt.timedelta(days=10)).strftime("%Y-%m-%d 10:00")
    make_deal(seller, amount=1500, won=stamp)
    make_deal(teammate, amount=700, won=stamp)
    make_deal(other_seller, amount=9999, won=stamp)
    ann = make_contact(seller, first_name="Ann", last_name="Loyal", source="Webinar", lifecycle_stage="customer")
    bob = make_contact(teammate, first_name="Bob", last_name="Once", source="Fair", lifecycle_stage="customer")
    make_contact(seller, first_name="Lee", lifecycle_stage="lead")
    make_order(contact=ann, when=last_month, total=120)
    make_order(contact=ann, when=stamp, total=80)
    make_order(contact=bob, when=last_month, total=300)
    # Ann's score as a refresh of today would store it: value, health and the facts its reasons
    # are told from (last order 45 days ago, last talked to 74 days ago, buying every 30 days).
    today = now.date()
    end_of_today = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    make_score(contact=ann, value_12m=640, lifetime_value=1900, health=48, probability_alive=0.81,
               model_run=run(as_of=today), last_order_at=end_of_today - dt.timedelta(days=45),
               last_contacted_at=end_of_today - dt.timedelta(days=74), usual_interval_days=30,
               health_components={"alive": 81, "recency": 40, "contact": 15})
    make_score(contact=bob, value_12m=90, lifetime_value=200, health=35)
    return {"ann": ann, "bob": bob}


def test_a_manager_opens_the_scorecard_and_sorts_it(page, manager, team_book):
    log_in(page, manager.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    page.get_by_role("navigation", name="Insights pages").get_by_role("link", name="Scorecard").click()
    expect(page.locator("h1")).to_contain_text("Balanced scorecard")
    table = page.locator("table.scorecard")
    rows = table.locator("tbody th[scope=row]")
    expect(rows).to_have_text(["North", "Mona", "Sam", "Tia"])
    expect(table).not_to_contain_text("9,999")
    expect(table.locator("tr", has_text="Sam")).to_contain_text("1,500.00 EUR")
    expect(table.get_by_role("link", name="Time to first response")).to_be_visible()
    expect(table.get_by_role("link", name="Follow-ups on time")).to_be_visible()

    table.get_by_role("link", name="Revenue won").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Revenue won")
    expect(page.locator("table.scorecard tbody th[scope=row]")).to_have_text(["North", "Sam", "Tia", "Mona"])
    assert "sort=-revenue" in page.url


def test_the_dashboards_draw_their_charts(page, manager, team_book):
    log_in(page, manager.username)
    page.goto("/insights/")
    for chart in ("#value-chart", "#funnel-chart"):
        expect(page.locator(f"{chart}[data-drawn=yes] svg")).to_be_visible()
    # The chart's numbers are on the page as a table too.
    expect(page.locator("body")).to_contain_text("640.00 EUR")
    page.get_by_role("navigation", name="Insights pages").get_by_role("link", name="Cohorts").click()
    expect(page.locator("#cohort-chart[data-drawn=yes] svg")).to_be_visible()
    expect(page.locator("#revenue-cohort-chart[data-drawn=yes] svg")).to_be_visible()
    expect(page.locator("table.cohort-table").first).to_contain_text("100%")
    page.get_by_role("navigation", name="Insights pages").get_by_role("link", name="Source quality").click()
    expect(page.locator("#sources-chart[data-drawn=yes] svg")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Webinar")


def test_a_manager_sees_a_customers_value_health_and_reasons(page, manager, team_book):
    log_in(page, manager.username)
    page.goto("/insights/scorecard/")
    expect(page.locator("table.scorecard")).to_contain_text("Sam")
    page.goto(f"/contacts/{team_book['ann'].pk}/")
    panel = page.locator("#relationship")
    expect(panel).to_contain_text("640.00 EUR")
    expect(panel).to_contain_text("48/100")
    expect(panel).to_contain_text("no contact in 74 days while they usually buy every 30 days")
    expect(panel).to_contain_text("last order 45 days ago; they usually buy every 30 days")
    expect(panel).to_contain_text("81%")
