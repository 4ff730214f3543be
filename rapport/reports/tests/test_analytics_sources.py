"""Source quality on hand-built customers: customers won per contact and deal source, their mean
predicted 12-month value and 12-month retention, visibility and a constant query count."""

from __future__ import annotations

import pytest

from rapport.reports.selectors.analytics_sources import source_quality

from .analytics_fixtures import at, make_deal, make_order, make_score

NOW = at("2026-03-15 12:00")


@pytest.fixture(name="customers")
def customers_fixture(seller, teammate, other_seller, make_contact, make_company):
    """Today is 15 March 2026. North:

    A (Webinar): first order 10 Jan 2025, again 1 Jun 2025 -> retained; worth 300
    B (Webinar): first order 1 Feb 2025, again 1 Mar 2026 (after a year) -> not retained; worth 100
    C (Webinar): first order 5 Jan 2026 (not a year old); not scored
    D (Webinar): no order
    E (no source): first order 1 Mar 2025 from a Referral deal, again 12 hours later (the same
       visit, not a repeat) -> not retained; worth 50
    X (company, orders without a contact): first 20 Jan 2025 from a Referral deal, again 20 Feb
       2025 -> retained; worth 1,000
    Deals won without orders: one from Webinar, one without a source.
    South: S (Webinar), retained and worth 99,999: never in a north view.
    """
    a = make_contact(seller, first_name="Ann", source="Webinar")
    b = make_contact(teammate, first_name="Bob", source="Webinar")
    c = make_contact(seller, first_name="Cid", source="Webinar")
    make_contact(seller, first_name="Dee", source="Webinar")
    e = make_contact(seller, first_name="Eve")
    x = make_company(seller, name="Xylo")
    s = make_contact(other_seller, first_name="Sud", source="Webinar")
    referral_e = make_deal(seller, won="2025-02-20 10:00", source="Referral")
    referral_x = make_deal(seller, won="2025-01-15 10:00", source="Referral", company=x)
    make_deal(seller, won="2025-05-01 10:00", source="Webinar")
    make_deal(teammate, won="2025-05-01 10:00")
    make_deal(seller, source="Referral")  # open: not a deal won
    make_order(contact=a, when="2025-01-10 10:00")
    make_order(contact=a, when="2025-06-01 10:00")
    make_order(contact=b, when="2025-02-01 10:00")
    make_order(contact=b, when="2026-03-01 10:00")
    make_order(contact=c, when="2026-01-05 10:00")
    make_order(contact=e, when="2025-03-01 08:00", deal=referral_e)
    make_order(contact=e, when="2025-03-01 20:00")
    make_order(company=x, when="2025-01-20 10:00", deal=referral_x)
    make_order(company=x, when="2025-02-20 10:00")
    make_order(contact=s, when="2025-01-01 10:00")
    make_order(contact=s, when="2025-02-01 10:00")
    for customer, value in [(a, 300), (b, 100), (e, 50), (s, 99999)]:
        make_score(contact=customer, value_12m=value)
    make_score(company=x, value_12m=1000)


def figures(row):
    return (row.volume, row.customers, row.scored, row.mean_value, row.year_old, row.retained)


def test_contact_sources(customers, seller):
    rows = {r.source: r for r in source_quality(seller, now=NOW).contact_sources}
    assert list(rows) == ["Webinar", "(no source)", "(no contact on the order)"]
    webinar = rows["Webinar"]
    assert figures(webinar) == (4, 3, 2, 200, 2, 1)
    assert webinar.retention == 0.5 and webinar.won_share == 0.75
    assert figures(rows["(no source)"]) == (1, 1, 1, 50, 1, 0)
    assert figures(rows["(no contact on the order)"]) == (0, 1, 1, 1000, 1, 1)
    assert rows["(no source)"].blank and not webinar.blank


def test_deal_sources(customers, seller):
    rows = {r.source: r for r in source_quality(seller, now=NOW).deal_sources}
    assert list(rows) == ["Referral", "Webinar", "(deal without a source)", "(not from a deal)"]
    assert figures(rows["Referral"]) == (2, 2, 2, 525, 2, 1)
    assert figures(rows["Webinar"]) == (1, 0, 0, None, 0, 0)
    assert figures(rows["(deal without a source)"]) == (1, 0, 0, None, 0, 0)
    assert figures(rows["(not from a deal)"]) == (0, 3, 2, 200, 2, 1)
    assert rows["Webinar"].retention is None and rows["(not from a deal)"].won_share is None


def test_another_team_sees_only_its_customers(customers, other_seller, admin_user):
    south = source_quality(other_seller, now=NOW)
    assert [(r.source, r.customers, r.mean_value) for r in south.contact_sources] == [("Webinar", 1, 99999)]
    webinar = next(r for r in source_quality(admin_user, now=NOW).contact_sources if r.source == "Webinar")
    assert (webinar.volume, webinar.customers, webinar.retained) == (5, 4, 2)


def test_empty(seller):
    result = source_quality(seller, now=NOW)
    assert result.empty and result.contact_sources == [] and result.deal_sources == []


def test_four_queries_whatever_the_customers(customers, admin_user, make_contact, django_assert_num_queries):
    source_quality(admin_user, now=NOW)
    with django_assert_num_queries(4):
        source_quality(admin_user, now=NOW)
    for n in range(10):
        buyer = make_contact(admin_user, first_name=f"More{n}", source=f"Fair {n % 3}")
        make_order(contact=buyer, when="2025-01-02 10:00")
    with django_assert_num_queries(4):
        assert len(source_quality(admin_user, now=NOW).contact_sources) == 6
