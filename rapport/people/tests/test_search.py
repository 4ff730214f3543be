"""The contacts list searched by a prefix: exactly the matches the user may see, in list order.

The selector answers a search in one of two shapes (walk the list and test each row, or gather
the matches from the search indexes), chosen by how common the prefix is. Both shapes must give
the same rows in the same order, and the gathering shape reads a team member's search within
their team plus their own records elsewhere: those are the cases checked here.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rapport.core.pagination import capped_count
from rapport.people import selectors
from rapport.people.models import Contact

SHAPES = {"walk": True, "gather": False}


@pytest.fixture(params=list(SHAPES))
def shape(request, monkeypatch):
    """Run the test once with each shape forced, whatever the probe would decide."""
    common = SHAPES[request.param]
    monkeypatch.setattr(selectors, "_is_common", lambda any_range, user: common)
    return request.param


@pytest.fixture
def people(teams, seller, teammate, other_seller, make_contact):
    """Contacts whose first name, last name or e-mail starts with "sch", spread over the cases."""
    north, south = teams["north"], teams["south"]

    def contact(owner, *, team=None, **data):
        made = make_contact(owner, **data)
        if team is not None:  # as if the owner had moved team since (records stay where they were)
            Contact.objects.filter(pk=made.pk).update(team=team)
        return made

    c = {
        "team by last name": contact(teammate, first_name="Ada", last_name="Schmidt"),
        "own by last name": contact(seller, first_name="Bo", last_name="Schulz"),
        "team by first name": contact(teammate, first_name="Schorsch", last_name="Meyer"),
        "team by e-mail": contact(teammate, first_name="Cy", last_name="Stone", email="schnell@example.com"),
        "team, another owner": contact(other_seller, first_name="Di", last_name="Scholz", team=north),
        "own in another team": contact(seller, first_name="Ed", last_name="Schwarz", team=south),
        "own, no team": contact(seller, first_name="Flo", last_name="Schröder"),
        "trashed": contact(seller, first_name="Gus", last_name="Schäfer"),
        "other team by last name": contact(other_seller, first_name="Hal", last_name="Schumacher"),
        "other team by e-mail": contact(other_seller, first_name="Ivy", last_name="Ode", email="schmitt@example.com"),
        "team, no match": contact(teammate, first_name="Jo", last_name="Miller"),
        "own in another team, no match": contact(seller, first_name="Kim", last_name="Brown", team=south),
    }
    Contact.objects.filter(pk=c["own, no team"].pk).update(team=None)
    Contact.objects.filter(pk=c["trashed"].pk).update(deleted_at=timezone.now())
    return c


def every_page(user, params, size=2):
    ids, cursor = [], None
    while True:
        page = selectors.list_contacts(user, params, cursor=cursor, size=size)
        ids += [c.pk for c in page.items]
        if not page.next_cursor:
            return ids
        cursor = page.next_cursor


def names(people, *keys):
    """The contacts under these keys, newest first (the list's default order)."""
    return sorted((people[k].pk for k in keys), reverse=True)


SELLER_SEES = ("team by last name", "own by last name", "team by first name", "team by e-mail",
               "team, another owner", "own in another team", "own, no team")


def test_a_seller_finds_their_teams_matches_and_their_own_elsewhere(people, seller, shape):
    expected = names(people, *SELLER_SEES)
    assert every_page(seller, {"q": "sch"}) == expected
    assert every_page(seller, {"q": "SCH "}) == expected  # case and spaces do not matter
    assert every_page(seller, {"q": "s"}) == every_page(seller, {"q": "sc"}) == expected  # short ones too
    assert list(selectors.filter_contacts(seller, {"q": "sch"}).order_by("-id").values_list("pk", flat=True)) \
        == expected
    assert capped_count(selectors.filter_contacts(seller, {"q": "sch"}), cap=200) == (len(expected), False)


def test_a_seller_never_finds_another_teams_or_trashed_contacts(people, seller, shape):
    found = set(every_page(seller, {"q": "sch"}))
    for hidden in ("trashed", "other team by last name", "other team by e-mail"):
        assert people[hidden].pk not in found, hidden
    assert every_page(seller, {"q": "schu"}) == names(people, "own by last name")  # not Schumacher
    assert every_page(seller, {"q": "schmitt@"}) == []
    assert every_page(seller, {"q": "schmi"}) == names(people, "team by last name")


def test_the_other_team_sees_its_own_matches_only(people, other_seller, shape):
    # Scholz was moved to the north team: its owner still sees it, as their own record.
    assert every_page(other_seller, {"q": "sch"}) == names(
        people, "team, another owner", "other team by last name", "other team by e-mail", "own in another team")


def test_a_manager_sees_the_team_but_not_the_sellers_records_elsewhere(people, manager, shape):
    assert every_page(manager, {"q": "sch"}) == names(
        people, "team by last name", "own by last name", "team by first name", "team by e-mail",
        "team, another owner")


def test_an_admin_finds_every_live_match(people, admin_user, shape):
    assert every_page(admin_user, {"q": "sch"}) == names(
        people, *SELLER_SEES, "other team by last name", "other team by e-mail")


def test_searching_by_name_order_gives_the_same_rows_sorted_by_name(people, seller, shape):
    expected = [c.pk for c in sorted((people[k] for k in SELLER_SEES), key=lambda c: (c.name_key, c.pk))]
    assert every_page(seller, {"q": "sch", "sort": "name"}) == expected
    assert every_page(seller, {"q": "sch", "sort": "-name"}) == expected[::-1]


def test_a_search_combines_with_the_other_filters(people, seller, shape):
    assert every_page(seller, {"q": "sch", "owner": "me"}) == names(
        people, "own by last name", "own in another team", "own, no team")
    assert every_page(seller, {"q": "sch", "stage": "customer"}) == []


def test_a_prefix_nobody_has_finds_nothing(people, seller, admin_user, shape):
    assert every_page(seller, {"q": "zzzq"}) == []
    assert every_page(admin_user, {"q": "zzzq"}) == []


def test_the_probe_picks_each_shape_and_both_agree(people, seller, monkeypatch):
    """Unforced: a prefix the team's recent contacts share is walked; one they lack is gathered."""
    monkeypatch.setattr(selectors, "SEARCH_PROBE_ROWS", 10)  # a few rows stand for a big table
    picked = []
    decide = selectors._is_common
    monkeypatch.setattr(selectors, "_is_common", lambda *a: picked.append(decide(*a)) or picked[-1])
    assert every_page(seller, {"q": "sch"}) == names(people, *SELLER_SEES)
    assert picked and set(picked) == {True}
    picked.clear()
    assert every_page(seller, {"q": "schr"}) == names(people, "own, no team")  # no team: not probed
    assert picked and set(picked) == {False}


def plan_of(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(row[-1] for row in cursor.fetchall())


def page_query(user, params) -> tuple[str, tuple]:
    """The SQL and parameters of the query that reads one page of the list."""
    captured: list = []

    def keep(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        selectors.list_contacts(user, params)
    return next((sql, p) for sql, p in captured if '"people_contact"."first_name"' in sql)


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_rare_prefix_is_read_within_the_team_and_the_own_records_elsewhere(people, seller, monkeypatch):
    monkeypatch.setattr(selectors, "_is_common", lambda *a: False)
    plan = plan_of(*page_query(seller, {"q": "sch"}))
    for index in ("contact_team_name_idx", "contact_team_last_name_idx", "contact_team_email_idx",
                  "contact_owner_team_idx"):
        assert index in plan
    # never every match of the whole table
    for index in ("contact_name_idx", "contact_last_name_idx", "contact_live_email_unique"):
        assert index not in plan


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_common_prefix_walks_the_list_order_instead_of_sorting_every_match(people, seller, admin_user,
                                                                             monkeypatch):
    monkeypatch.setattr(selectors, "_is_common", lambda *a: True)
    for user in (seller, admin_user):
        plan = plan_of(*page_query(user, {"q": "sch"}))
        assert "TEMP B-TREE" not in plan and "MULTI-INDEX OR" not in plan, plan


def test_the_list_page_probes_once_for_its_page_and_its_count(people, client, seller):
    client.force_login(seller)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("contact_list"), {"q": "sch"})
    assert response.status_code == 200
    assert sum(f"LIMIT {selectors.SEARCH_PROBE_ROWS}" in q["sql"] for q in queries.captured_queries) == 1
    html = response.content.decode()
    assert "Schwarz" in html and "Schumacher" not in html and "Schäfer" not in html
