"""The list and search selectors, reshaped for speed, still return exactly what the rules say.

Checked against the demo data (three teams, sellers, marketers) by walking every page and
comparing with the same rule applied in Python.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.demo.generator import load_demo
from rapport.people import selectors
from rapport.people.models import Contact

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def demo(db):
    load_demo(contacts=400, seed=11, now=NOW)
    users = {u.username: u for u in get_user_model().objects.all()}
    # one contact owned by the seller but sitting in another team: "own" must still show it
    stray = Contact.objects.exclude(team_id=users["sam.seller"].profile.team_id).first()
    Contact.objects.filter(pk=stray.pk).update(owner=users["sam.seller"])
    # one trashed contact in the seller's team: never listed
    trashed = Contact.objects.filter(team_id=users["sam.seller"].profile.team_id).last()
    Contact.objects.filter(pk=trashed.pk).update(deleted_at=NOW)
    return users


def all_pages(user, params, size=37):
    ids, cursor = [], None
    while True:
        page = selectors.list_contacts(user, params, cursor=cursor, size=size)
        ids += [c.pk for c in page.items]
        if not page.next_cursor:
            return ids
        cursor = page.next_cursor


def expected(user, keep, order="-id"):
    team_id = user.profile.team_id
    scope = user.profile.visibility
    rows = [c for c in Contact.objects.filter(deleted_at__isnull=True).prefetch_related("tags")
            if (scope == "all" or c.team_id == team_id or c.owner_id == user.pk) and keep(c)]
    if order == "name":
        rows.sort(key=lambda c: (c.name_key, c.pk))
    else:
        rows.sort(key=lambda c: -c.pk)
    return [c.pk for c in rows]


def starts(prefix):
    return lambda c: (c.name_key.startswith(prefix) or c.last_name_key.startswith(prefix)
                      or (c.email or "").startswith(prefix))


@pytest.mark.parametrize("username", ["sam.seller", "mona.manager", "mara.marketer", "ada.admin"])
def test_every_page_of_the_list_matches_the_visibility_rule(demo, username):
    user = demo[username]
    assert all_pages(user, {}) == expected(user, lambda c: True)
    assert all_pages(user, {"sort": "name"}) == expected(user, lambda c: True, order="name")
    assert all_pages(user, {"stage": "customer"}) == expected(user, lambda c: c.lifecycle_stage == "customer")


def test_the_seller_sees_their_own_contact_in_another_team(demo):
    seller = demo["sam.seller"]
    ids = all_pages(seller, {})
    stray = Contact.objects.exclude(team_id=seller.profile.team_id).get(owner=seller)
    assert stray.pk in ids
    assert set(ids) == set(selectors.filter_contacts(seller, {}).values_list("pk", flat=True))


@pytest.mark.parametrize("username", ["sam.seller", "ada.admin"])
def test_search_filters_match_a_plain_prefix_rule(demo, username):
    user = demo[username]
    common = Contact.objects.values_list("last_name_key", flat=True).order_by("last_name_key").first()[:3]
    email = Contact.objects.order_by("-id").values_list("email", flat=True).first()
    for prefix in (common, email[:6], "zzzz", common[:1]):
        assert all_pages(user, {"q": prefix}) == expected(user, starts(prefix)), prefix
        assert selectors.filter_contacts(user, {"q": prefix}).count() == len(expected(user, starts(prefix)))


def test_owner_and_tag_filters(demo):
    seller = demo["sam.seller"]
    teammate = demo["sara.seller"]
    assert all_pages(seller, {"owner": str(teammate.pk)}) == expected(seller, lambda c: c.owner_id == teammate.pk)
    assert all_pages(seller, {"tag": "vip"}) == expected(
        seller, lambda c: "vip" in {t.name for t in c.tags.all()})


def test_global_search_ranks_name_then_last_name_then_email_without_repeats(demo):
    admin = demo["ada.admin"]
    contact = Contact.objects.order_by("id").first()
    prefix = contact.last_name_key[:3]
    found = selectors.search_everything(admin, prefix, limit=25)["contacts"]
    assert found and len(found) <= 25
    assert len({c.pk for c in found}) == len(found)
    assert all(starts(prefix)(c) for c in found)
    by_name = [c for c in found if c.name_key.startswith(prefix)]
    assert found[: len(by_name)] == by_name  # name matches come first, in name order
    assert [c.name_key for c in by_name] == sorted(c.name_key for c in by_name)
    total = len(expected(admin, starts(prefix)))
    assert len(found) == min(25, total)


def test_global_search_never_shows_another_teams_contact(demo):
    seller = demo["sam.seller"]
    for prefix in ("sm", "jo", "ma", "ga", "sa"):
        for contact in selectors.search_everything(seller, prefix, limit=50)["contacts"]:
            assert contact.team_id == seller.profile.team_id or contact.owner_id == seller.pk
        for company in selectors.search_everything(seller, prefix, limit=50)["companies"]:
            assert company.team_id == seller.profile.team_id or company.owner_id == seller.pk


def test_global_search_finds_companies_by_name_and_domain(demo):
    admin = demo["ada.admin"]
    from rapport.people.models import Company

    company = Company.objects.order_by("id").first()
    assert company in selectors.search_everything(admin, company.name[:5])["companies"]
    assert company in selectors.search_everything(admin, "https://www." + company.domain[:6])["companies"]


def test_global_search_runs_a_bounded_number_of_queries(demo):
    admin = demo["ada.admin"]
    selectors.search_everything(admin, "sm")  # profile cached on the user
    with CaptureQueriesContext(connection) as few:
        selectors.search_everything(admin, "zq")
    with CaptureQueriesContext(connection) as many:
        selectors.search_everything(admin, "s", limit=8)
        selectors.search_everything(admin, "sa", limit=200)
    assert len(few.captured_queries) <= 5
    assert len(many.captured_queries) <= 10


@pytest.mark.parametrize("bad", ["", " ", "a"])
def test_global_search_ignores_too_short_text(demo, bad):
    assert selectors.search_everything(demo["ada.admin"], bad) == {"contacts": [], "companies": []}
