"""The lifecycle funnel: contacts per stage, conversion between stages and the median time to
move forward, from the stage changes the timeline records."""

from __future__ import annotations

import pytest

from rapport.people import services as people
from rapport.people.models import Contact
from rapport.reports.selectors.analytics import lifecycle_funnel
from rapport.sales.models import Deal, Stage
from rapport.timeline.models import Event

from .analytics_fixtures import at

NOW = at("2026-03-15 12:00")


@pytest.fixture(name="stages")
def stages_fixture(seller, teammate, other_seller, make_contact):
    """North: 2 leads, 1 marketing-qualified, 1 opportunity, 2 customers, 1 former customer and
    1 advocate. South: 3 leads (never in a north view)."""
    for stage, n, owner in [("lead", 2, seller), ("marketing_qualified", 1, teammate), ("opportunity", 1, seller),
                            ("customer", 2, seller), ("former_customer", 1, teammate), ("advocate", 1, seller),
                            ("lead", 3, other_seller)]:
        for _ in range(n):
            make_contact(owner, lifecycle_stage=stage)


def step(funnel, stage):
    return next(s for s in funnel.steps if s.stage == stage)


def test_counts_and_conversion_of_a_team(stages, seller):
    funnel = lifecycle_funnel(seller, now=NOW)
    assert [s.stage for s in funnel.steps] == ["subscriber", "lead", "marketing_qualified", "sales_qualified",
                                               "opportunity", "customer", "advocate"]
    assert [s.now for s in funnel.steps] == [0, 2, 1, 0, 1, 2, 1]
    # Reached = at this stage or a later one; a former customer has reached "customer".
    assert [s.reached for s in funnel.steps] == [8, 8, 6, 5, 5, 4, 1]
    assert [None if s.to_next is None else round(s.to_next, 3) for s in funnel.steps] == [
        1.0, 0.75, round(5 / 6, 3), 1.0, 0.8, 0.25, None]
    assert funnel.former_customers == 1 and funnel.contacts == 8


def test_another_team_and_an_admin(stages, other_seller, admin_user):
    assert [s.now for s in lifecycle_funnel(other_seller, now=NOW).steps] == [0, 3, 0, 0, 0, 0, 0]
    assert lifecycle_funnel(admin_user, now=NOW).contacts == 11


def stage_change(contact, when, left, went, **extra):
    return Event.objects.create(kind="stage_change", contact=contact, company=contact.company,
                                occurred_at=at(when), payload={"from": left, "to": went}, **extra)


def test_median_time_to_move_forward(seller, other_seller, make_contact):
    """P, created 1 Jan: lead 10 days -> MQL 4 days -> SQL, back to lead 5 days later (a move back:
    not counted), then lead again for 10 days -> MQL. Q, created 1 Jan: 20 days as a lead.
    Lead: 10, 10, 20 -> median 10 over 3 moves; MQL: 4 over 1."""
    p = make_contact(seller, first_name="Pat")
    q = make_contact(seller, first_name="Quinn")
    Contact.objects.filter(pk__in=[p.pk, q.pk]).update(created_at=at("2026-01-01 00:00"))
    stage_change(p, "2026-01-11 00:00", "lead", "marketing_qualified")
    stage_change(p, "2026-01-15 00:00", "marketing_qualified", "sales_qualified")
    stage_change(p, "2026-01-20 00:00", "sales_qualified", "lead")
    stage_change(p, "2026-01-30 00:00", "lead", "marketing_qualified")
    stage_change(q, "2026-01-21 00:00", "lead", "marketing_qualified")
    # Left out: a change older than a year, another team's contact, and a deal's stage change.
    old = make_contact(seller, first_name="Olden")
    stage_change(old, "2024-12-01 00:00", "lead", "marketing_qualified")
    south = make_contact(other_seller, first_name="Sud")
    stage_change(south, "2026-02-01 00:00", "lead", "customer")
    stage = Stage.objects.first()
    deal = Deal.objects.create(name="Beans", owner=seller, pipeline_id=stage.pipeline_id, stage=stage, currency="EUR")
    stage_change(q, "2026-02-01 00:00", "lead", "customer", deal=deal)
    funnel = lifecycle_funnel(seller, now=NOW)
    lead, mql = step(funnel, "lead"), step(funnel, "marketing_qualified")
    assert (lead.median_days, lead.moves) == (10.0, 3)
    assert (mql.median_days, mql.moves) == (4.0, 1)
    assert step(funnel, "sales_qualified").median_days is None
    assert funnel.moves == 4 and funnel.measured_since.isoformat() == "2025-03-15"


def test_a_stage_change_made_through_the_service_is_measured(seller, make_contact):
    contact = make_contact(seller, lifecycle_stage="lead")
    people.update_contact(actor=seller, contact=contact, data={"lifecycle_stage": "opportunity"})
    funnel = lifecycle_funnel(seller)
    assert step(funnel, "lead").moves == 1 and step(funnel, "lead").median_days >= 0


def test_no_contacts(seller):
    funnel = lifecycle_funnel(seller, now=NOW)
    assert funnel.contacts == 0 and all(s.reached == 0 and s.to_next is None for s in funnel.steps)


def test_two_queries_whatever_the_contacts(stages, admin_user, make_contact, django_assert_num_queries):
    lifecycle_funnel(admin_user, now=NOW)
    with django_assert_num_queries(2):
        lifecycle_funnel(admin_user, now=NOW)
    for _ in range(10):
        make_contact(admin_user, lifecycle_stage="customer")
    with django_assert_num_queries(2):
        assert lifecycle_funnel(admin_user, now=NOW).contacts == 21
