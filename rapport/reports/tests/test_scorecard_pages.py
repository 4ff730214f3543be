"""The scorecard page: rows by role, sortable headers, trends and targets, honest "not measured
yet" columns, and a query count that does not grow with people."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from rapport.sales.models import Target

from .analytics_fixtures import make_deal, make_order, make_score


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client
    return login


def page(client, params=None):
    response = client.get(reverse("insights_scorecard"), params or {})
    return response, response.content.decode()


def row_labels(html: str) -> list[str]:
    return re.findall(r'<th scope="row">([^<]+)</th>', html)


@pytest.fixture(name="quarter")
def quarter_fixture(seller, teammate, other_seller, make_contact):
    """2026-Q1: the seller won 1,500 (Q4: 800), the teammate 500, the south seller 9,999."""
    make_deal(seller, amount=1000, won="2026-01-10 10:00")
    make_deal(seller, amount=500, won="2026-02-01 10:00")
    make_deal(seller, amount=800, won="2025-11-20 10:00")
    make_deal(teammate, amount=500, won="2026-01-15 10:00")
    make_deal(other_seller, amount=9999, won="2026-01-15 10:00")
    buyer = make_contact(seller, first_name="Nia")
    make_order(contact=buyer, when="2026-01-05 10:00")
    make_score(contact=buyer, value_12m=200, health=80)
    Target.objects.create(user=seller, metric="retention", period_kind="quarter", period_start=dt.date(2026, 1, 1),
                          amount=60)


Q1 = {"period": "quarter", "start": "2026-01-01"}


def test_a_manager_sees_the_team_and_its_members(as_user, quarter, manager):
    response, html = page(as_user(manager), Q1)
    assert response.status_code == 200
    assert row_labels(html) == ["North", "Mona", "Sam", "Tia"]
    assert "Balanced scorecard · 2026-Q1" in html and "9,999" not in html
    assert "1,500.00 EUR" in html and "+700.00 EUR" in html and 'class="trend better"' in html
    assert "target 60.0%" in html
    assert "not measured" not in html
    assert ">Time to first response" in html and ">Follow-ups on time" in html


def test_an_admin_sees_every_team_and_a_seller_only_themselves(as_user, quarter, admin_user, seller, client):
    _, html = page(as_user(admin_user), Q1)
    assert row_labels(html) == ["North", "South", "Otto", "Sam", "Tia"] and "9,999.00 EUR" in html
    client.logout()
    _, html = page(as_user(seller), Q1)
    assert row_labels(html) == ["North", "Sam"]


def test_sortable_headers(as_user, quarter, manager):
    _, html = page(as_user(manager), {**Q1, "sort": "-revenue"})
    assert row_labels(html) == ["North", "Sam", "Tia", "Mona"]
    # The sorted column says so, and its link turns the order round.
    header = re.search(r'<th scope="col" class="num" aria-sort="descending"><a href="([^"]+)">Revenue won', html)
    assert header and "sort=revenue" in header.group(1) and "start=2026-01-01" in header.group(1)
    # Other columns sort from the highest down on a first click; names from A.
    assert "sort=-minutes" in html and re.search(r'href="\?[^"]*sort=name[^"]*">Team or seller', html)


def test_period_navigation(as_user, quarter, manager):
    _, html = page(as_user(manager), {"period": "month", "start": "2026-02-01"})
    assert "Balanced scorecard · February 2026" in html
    assert 'href="?period=month&amp;start=2026-01-01"' in html and 'href="?period=month&amp;start=2026-03-01"' in html


def test_no_sellers_in_view(as_user, admin_user, teams):
    from rapport.core.models import Team

    Team.objects.all().delete()
    _, html = page(as_user(admin_user), Q1)
    assert "Nobody in your view sells yet." in html


def test_queries_do_not_grow_with_people(as_user, quarter, admin_user, teams, make_contact,
                                         django_assert_max_num_queries):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.core.models import Profile

    client = as_user(admin_user)
    page(client, Q1)
    with CaptureQueriesContext(connection) as first:
        page(client, Q1)
    for n in range(5):
        user = get_user_model().objects.create_user(username=f"new{n}", first_name=f"New{n}")
        Profile.objects.filter(user=user).update(role="seller", team=teams["south"])
        make_deal(user, amount=100, won="2026-01-20 10:00")
    with django_assert_max_num_queries(len(first)):
        _, html = page(client, Q1)
    assert "New4" in html
