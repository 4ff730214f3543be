"""The balanced scorecard's figures on hand-built data: quantity beside quality per seller and
team, trends against the previous period, relationship targets, who sees which rows, sorting,
bad parameters and a query count that does not grow with people or customers."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.core.errors import ValidationFailed
from rapport.reports.selectors.analytics_scorecard import scorecard
from rapport.sales.models import Target
from rapport.timeline.models import Activity

from .analytics_fixtures import at, make_deal, make_order, make_score

TODAY = dt.date(2026, 2, 15)
NOW = at("2026-02-15 12:00")
Q1 = dt.date(2026, 1, 1)
Q4 = dt.date(2025, 10, 1)


def activity(owner, contact, when, minutes):
    return Activity.objects.create(kind="call", contact=contact, owner=owner, team_id=owner.profile.team_id,
                                   occurred_at=at(when), duration_minutes=minutes)


@pytest.fixture(name="book")
def book_fixture(seller, teammate, other_seller, manager, make_contact):
    """Today is 15 February 2026; the period is 2026-Q1, the one before 2025-Q4. For the seller:

    deals won   Q1: 1,000 (10 Jan) + 500 (1 Feb) = 1,500, 2 deals;  Q4: 800, 1 deal
    targets     Q1: revenue 3,000 -> 50%; retention 60%; health 75.  Q4: revenue 1,000 -> 80%
    new         Q1: N1 (5 Jan, again 1 Feb, worth 200), N2 (20 Jan from the 10 Jan deal, worth 400)
                    -> 2 customers, 1 bought again (50%), mean value 300
                Q4: N3 (1 Nov, again 1 Dec, not scored) -> 1 customer, 100% bought again
    retention   Q1 2025: R1 (15 Jan, again in June: retained), R3 (10 Feb, never again),
                    R2 (1 Mar: its year is not over on 15 Feb 2026, left out) -> 1 of 2, 50%
                Q4 2024: R4 (1 Nov, again 1 Dec) -> 100%
    minutes     Q1: 30 + 45 (+ a call without a duration) = 75;  Q4: 20
    health now  customers they own: 80 and 60 -> 70 (a customer not scored for health left out)

    The teammate won 500 in Q1 and owns a customer of health 40; the south seller won 10,000.
    """
    n1 = make_contact(seller, first_name="Nia")
    n2 = make_contact(seller, first_name="Ned")
    n3 = make_contact(seller, first_name="Noor")
    r1, r2, r3, r4 = (make_contact(seller, first_name=name) for name in ("Rae", "Rex", "Roy", "Rue"))
    first_deal = make_deal(seller, amount=1000, won="2026-01-10 10:00")
    make_deal(seller, amount=500, won="2026-02-01 10:00")
    make_deal(seller, amount=800, won="2025-11-20 10:00")
    make_deal(teammate, amount=500, won="2026-01-15 10:00")
    make_deal(other_seller, amount=10000, won="2026-01-15 10:00")
    make_order(contact=n1, when="2026-01-05 10:00")
    make_order(contact=n1, when="2026-02-01 10:00")
    make_order(contact=n2, when="2026-01-20 10:00", deal=first_deal)
    make_order(contact=n3, when="2025-11-01 10:00")
    make_order(contact=n3, when="2025-12-01 10:00")
    make_order(contact=r1, when="2025-01-15 10:00")
    make_order(contact=r1, when="2025-06-15 10:00")
    make_order(contact=r2, when="2025-03-01 10:00")
    make_order(contact=r3, when="2025-02-10 10:00")
    make_order(contact=r4, when="2024-11-01 10:00")
    make_order(contact=r4, when="2024-12-01 10:00")
    make_score(contact=n1, value_12m=200, health=80)
    make_score(contact=n2, value_12m=400, health=60)
    make_score(contact=r3, value_12m=10)
    make_score(contact=make_contact(teammate, first_name="Tam"), health=40)
    activity(seller, n1, "2026-01-07 10:00", 30)
    activity(seller, n2, "2026-02-02 10:00", 45)
    activity(seller, n2, "2026-02-03 10:00", None)
    activity(seller, n3, "2025-12-02 10:00", 20)
    for metric, start, amount, currency in [("revenue", Q1, 3000, "EUR"), ("retention", Q1, 60, ""),
                                            ("health", Q1, 75, ""), ("revenue", Q4, 1000, "EUR")]:
        Target.objects.create(user=seller, metric=metric, period_kind="quarter", period_start=start, amount=amount,
                              currency=currency)


def card(user, **params):
    params.setdefault("start", Q1)
    return scorecard(user, kind="quarter", today=TODAY, now=NOW, **params)


def row_of(result, label):
    return next(r for r in [*result.teams, *result.people] if r.label == label)


def values(row):
    return {c.column.key: (None if c.value is None else round(c.value, 1)) for c in row.cells}


def test_a_sellers_quantity_and_quality(book, manager):
    result = card(manager)
    assert result.label == "2026-Q1" and result.previous_label == "2025-Q4" and result.is_current
    assert result.retention_cohort_label == "2025-Q1"
    sam = row_of(result, "Sam")
    assert values(sam) == {"revenue": 1500, "deals_won": 2, "attainment": 50, "new_customers": 2,
                           "repeat_rate": 50, "retention": 50, "new_value": 300, "minutes": 75, "health": 70,
                           "first_response": None, "follow_ups": None}


def test_trends_against_the_previous_period(book, manager):
    sam = row_of(card(manager), "Sam")
    trends = {c.column.key: (None if c.trend is None else round(c.trend, 1)) for c in sam.cells}
    assert trends == {"revenue": 700, "deals_won": 1, "attainment": -30, "new_customers": 1, "repeat_rate": -50,
                      "retention": -50, "new_value": None, "minutes": 55, "health": None, "first_response": None,
                      "follow_ups": None}
    assert sam.cell("revenue").trend_text == "+700.00 EUR" and sam.cell("revenue").better is True
    assert sam.cell("retention").trend_text == "−50 pts" and sam.cell("retention").better is False


def test_targets_beside_their_figures(book, manager):
    sam = row_of(card(manager), "Sam")
    assert sam.cell("attainment").text == "50%" and sam.cell("attainment").target_text == "of 3,000.00 EUR"
    assert (sam.cell("retention").target_text, sam.cell("retention").note) == ("target 60.0%", "83% of target")
    assert (sam.cell("health").target_text, sam.cell("health").note) == ("target 75", "93% of target")
    # Health keeps no history: a past period's health target is shown, not judged.
    past = row_of(card(manager, start=dt.date(2026, 4, 1)), "Sam")
    assert past.cell("health").note == ""


def test_a_past_periods_health_target_is_not_judged(book, manager, seller):
    Target.objects.create(user=seller, metric="health", period_kind="quarter", period_start=Q4, amount=50)
    sam = row_of(card(manager, start=Q4), "Sam")
    assert sam.cell("health").note == "health of a past period was not kept"


def test_team_rows_add_up_their_members(book, manager):
    north = row_of(card(manager), "North")
    figures = values(north)
    assert figures["revenue"] == 2000 and figures["deals_won"] == 3 and figures["new_customers"] == 2
    assert figures["health"] == 60  # 80, 60 and 40
    assert figures["attainment"] is None  # no team target


def test_who_sees_which_rows(book, manager, seller, other_seller, admin_user):
    result = card(manager)
    assert [r.label for r in result.teams] == ["North"]
    assert [r.label for r in result.people] == ["Mona", "Sam", "Tia"]
    mine = card(seller)
    assert [r.label for r in mine.people] == ["Sam"] and [r.label for r in mine.teams] == ["North"]
    south = card(other_seller)
    assert [r.label for r in south.teams] == ["South"] and values(south.people[0])["revenue"] == 10000
    # The south seller's view never holds the north team's customers or time.
    assert values(row_of(south, "South"))["new_customers"] == 0 and values(row_of(south, "South"))["minutes"] == 0
    everyone = card(admin_user)
    assert [r.label for r in everyone.teams] == ["North", "South"]
    assert {r.label for r in everyone.people} == {"Mona", "Sam", "Tia", "Otto"}


def test_sorting(book, manager):
    by_revenue = card(manager, sort="-revenue")
    assert [r.label for r in by_revenue.people] == ["Sam", "Tia", "Mona"]
    assert [r.label for r in card(manager, sort="revenue").people] == ["Mona", "Tia", "Sam"]
    # Rows without the figure go last whichever the direction.
    assert [r.label for r in card(manager, sort="health").people][-1] == "Mona"
    assert [r.label for r in card(manager, sort="-health").people][-1] == "Mona"
    assert [r.label for r in card(manager, sort="-name").people] == ["Tia", "Sam", "Mona"]


@pytest.mark.parametrize(("params", "field", "reason"), [
    ({"kind": "year"}, "period", "choose month or quarter"),
    ({"start": "2026-02-01"}, "start", "a quarter starts on"),
    ({"start": "soon"}, "start", "use a date such as"),
    ({"sort": "happiness"}, "sort", "choose one of"),
])
def test_bad_parameters_are_refused_naming_the_field(manager, params, field, reason):
    params.setdefault("start", Q1)
    with pytest.raises(ValidationFailed) as caught:
        scorecard(manager, today=TODAY, now=NOW, **{"kind": "quarter", **params})
    assert list(caught.value.errors) == [field] and reason in caught.value.errors[field]


def test_an_empty_period(manager):
    result = card(manager)
    sam = row_of(card(manager), "Mona")
    assert values(sam)["revenue"] == 0 and values(sam)["retention"] is None and values(sam)["health"] is None
    assert values(sam)["first_response"] is None and values(sam)["follow_ups"] is None
    assert sam.cell("follow_ups").text == "—" and result.people


def lead(owner, contact, arrived, answered=None):
    from rapport.leads.models import Lead

    return Lead.objects.create(contact=contact, owner=owner, team_id=owner.profile.team_id, created_at=at(arrived),
                               first_touch_at=at(arrived), first_response_at=at(answered) if answered else None)


def task(assignee, due, *, done=None, all_day=False, status=None):
    from rapport.assistant.models import Task

    return Task.objects.create(title="Follow up", assignee=assignee, team_id=assignee.profile.team_id,
                               due_at=at(due), all_day=all_day, completed_at=at(done) if done else None,
                               status=status or ("done" if done else "open"))


def test_time_to_first_response_and_follow_ups_on_time(seller, teammate, manager, make_contact):
    buyer = make_contact(seller, first_name="Lea")
    # The seller's Q1 leads answered after 1 h, 3 h and 30 h (median 3 h); one still unanswered
    # does not count; a Q4 lead answered after 10 h is the previous period's (trend: 7 h faster).
    lead(seller, buyer, "2026-01-05 09:00", "2026-01-05 10:00")
    lead(seller, buyer, "2026-01-06 09:00", "2026-01-06 12:00")
    lead(seller, buyer, "2026-01-07 09:00", "2026-01-08 15:00")
    lead(seller, buyer, "2026-02-01 09:00")
    lead(seller, buyer, "2025-12-01 09:00", "2025-12-01 19:00")
    # The teammate answered one Q1 lead after 5 h: the team's median (nearest rank) over its four
    # answers is the second, 3 h.
    lead(teammate, make_contact(teammate, first_name="Lou"), "2026-01-05 09:00", "2026-01-05 14:00")
    # Tasks due in Q1 with their deadline passed (now is 15 Feb, noon): done on time, done late,
    # still open (late), an all-day task done later that same day (on time), a cancelled one (not
    # counted) and one due tomorrow (not yet due): 2 of 4 on time.
    task(seller, "2026-01-10 10:00", done="2026-01-10 09:30")
    task(seller, "2026-01-11 10:00", done="2026-01-12 09:00")
    task(seller, "2026-01-12 10:00")
    task(seller, "2026-01-13 00:00", all_day=True, done="2026-01-13 22:00")
    task(seller, "2026-01-14 10:00", status="cancelled")
    task(seller, "2026-02-16 10:00")
    task(teammate, "2026-01-20 10:00", done="2026-01-20 10:00")

    result = card(manager)
    mine = row_of(result, "Sam")
    assert values(mine)["first_response"] == 3.0 and mine.cell("first_response").text == "3.0 h"
    assert mine.cell("first_response").trend == pytest.approx(-7.0) and mine.cell("first_response").better is True
    assert values(mine)["follow_ups"] == 50.0
    team = next(r for r in result.teams if r.key == seller.profile.team_id)
    assert values(team)["first_response"] == 3.0  # of 1, 3, 5 and 30 h
    assert values(team)["follow_ups"] == 60.0  # 3 of 5
    assert [r.label for r in card(manager, sort="first_response").people][0] == "Sam"


def test_first_response_and_follow_ups_count_only_what_the_user_may_see(seller, other_seller, make_contact):
    lead(other_seller, make_contact(other_seller, first_name="Ola"), "2026-01-05 09:00", "2026-01-05 10:00")
    task(other_seller, "2026-01-10 10:00", done="2026-01-10 09:00")
    result = card(seller)
    assert all(values(r)["first_response"] is None and values(r)["follow_ups"] is None
               for r in [*result.people, *result.teams])


def test_queries_do_not_grow_with_people_or_customers(book, admin_user, teams, make_contact,
                                                     django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    card(admin_user)
    with CaptureQueriesContext(connection) as first:
        card(admin_user)
    for n in range(3):
        newcomer = _seller(f"nova{n}_seller", teams["south"])
        buyer = make_contact(newcomer, first_name=f"Buyer{n}")
        make_deal(newcomer, amount=100, won="2026-01-20 10:00")
        make_order(contact=buyer, when="2026-01-21 10:00")
        make_score(contact=buyer, value_12m=50, health=50)
        activity(newcomer, buyer, "2026-01-22 10:00", 10)
    assert len(first) <= 21  # six grouped reads per period, two of response times, health, targets, people, teams, stages
    with django_assert_num_queries(len(first)):
        result = card(admin_user)
    assert len(result.people) == 7


def _seller(username, team):
    from django.contrib.auth import get_user_model

    from rapport.core.models import Profile

    user = get_user_model().objects.create_user(username=username, first_name=username.title())
    Profile.objects.filter(user=user).update(role="seller", team=team)
    user.refresh_from_db()
    return user
