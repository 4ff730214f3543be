"""Targets: who may set and read them, the rules a target must meet, new customers and the
attainment dashboard's figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.sales.models import Order, Target
from rapport.sales.selectors import targets as selectors
from rapport.sales.services import forecasts as services

from .forecast_fixtures import at, quarter_deals_fixture, rates_fixture, stages_fixture  # noqa: F401

Q1 = dt.date(2026, 1, 1)


def revenue(who, **extra):
    data = {"user": who.pk, "metric": "revenue", "period_kind": "quarter", "period_start": "2026-01-01",
            "amount": "5000", "currency": "EUR"}
    data.update(extra)
    return data


def test_manager_sets_a_target_for_a_team_member_and_it_is_audited(manager, seller):
    target, created = services.set_target(actor=manager, data=revenue(seller))
    assert created and target.user == seller and target.team is None
    assert (target.amount, target.currency, target.period_start) == (Decimal("5000.00"), "EUR", Q1)
    entry = AuditEntry.objects.get(record_type="sales.target", record_id=target.pk)
    assert entry.action == "create" and entry.actor == manager
    assert entry.changes["amount"] == [None, "5000.00"]


def test_setting_the_same_target_again_updates_it(manager, seller):
    first, _ = services.set_target(actor=manager, data=revenue(seller))
    second, created = services.set_target(actor=manager, data=revenue(seller, amount="6000.50"))
    assert not created and second.pk == first.pk
    assert Target.objects.filter(deleted_at__isnull=True).count() == 1
    assert Target.objects.get().amount == Decimal("6000.50")
    update = AuditEntry.objects.get(record_type="sales.target", action="update")
    assert update.changes == {"amount": ["5000.00", "6000.50"]}
    # Another metric or period kind is another target.
    services.set_target(actor=manager, data=revenue(seller, period_kind="month"))
    services.set_target(actor=manager, data=revenue(seller, metric="new_customers", amount="4", currency=""))
    assert Target.objects.count() == 3


def test_team_and_new_customer_targets(admin_user, teams):
    target, _ = services.set_target(actor=admin_user, data={
        "team": teams["south"].pk, "metric": "new_customers", "period_kind": "month", "period_start": "2026-02-01",
        "amount": 12})
    assert target.team == teams["south"] and target.currency == "" and target.amount == 12


def test_revenue_target_defaults_to_the_base_currency(manager, seller, settings):
    target, _ = services.set_target(actor=manager, data=revenue(seller, currency=None))
    assert target.currency == settings.RAPPORT_BASE_CURRENCY


@pytest.mark.parametrize(("changes", "field"), [
    ({"period_start": "2026-02-01"}, "period_start"),  # not a quarter's first day
    ({"period_start": "2026-01-15", "period_kind": "month"}, "period_start"),
    ({"period_start": "01/01/2026"}, "period_start"),
    ({"period_start": ""}, "period_start"),
    ({"period_kind": "week"}, "period_kind"),
    ({"metric": "happiness"}, "metric"),
    ({"amount": "-1"}, "amount"),
    ({"amount": "10.123"}, "amount"),
    ({"amount": "10.5", "currency": "JPY"}, "amount"),
    ({"amount": "lots"}, "amount"),
    ({"amount": ""}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"metric": "new_customers", "amount": "2.5", "currency": ""}, "amount"),
    ({"metric": "new_customers", "amount": "-2", "currency": ""}, "amount"),
    ({"metric": "new_customers", "amount": "3", "currency": "EUR"}, "currency"),
    ({"user": None}, "user"),
    ({"user": "abc"}, "user"),
    ({"user": 999999}, "user"),
    ({"team": 1}, "team"),  # both a user and a team
    ({"owner": 1}, "owner"),
])
def test_bad_input_is_refused_naming_the_field(manager, seller, teams, changes, field):
    with pytest.raises(ValidationFailed) as exc:
        services.set_target(actor=manager, data=revenue(seller, **changes))
    assert field in exc.value.errors, exc.value.errors
    assert not Target.objects.exists()


def test_sellers_may_not_set_targets(seller, teammate):
    for who in (seller, teammate):
        with pytest.raises(NotAllowed):
            services.set_target(actor=seller, data=revenue(who))
    assert not Target.objects.exists()


def test_a_manager_sets_targets_only_for_their_team(manager, other_seller, teams):
    with pytest.raises(ValidationFailed) as exc:
        services.set_target(actor=manager, data=revenue(other_seller))
    assert "user" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        services.set_target(actor=manager, data={**revenue(other_seller), "user": None, "team": teams["south"].pk})
    assert "team" in exc.value.errors
    services.set_target(actor=manager, data={**revenue(other_seller), "user": None, "team": teams["north"].pk})


def test_who_reads_which_targets(admin_user, manager, seller, teammate, other_seller, teams):
    mine, _ = services.set_target(actor=manager, data=revenue(seller))
    theirs, _ = services.set_target(actor=manager, data=revenue(teammate))
    team, _ = services.set_target(actor=manager, data={**revenue(seller), "user": None, "team": teams["north"].pk})
    south, _ = services.set_target(actor=admin_user, data=revenue(other_seller))
    assert set(selectors.target_queryset(seller)) == {mine, team}
    assert set(selectors.target_queryset(manager)) == {mine, theirs, team}
    assert set(selectors.target_queryset(admin_user)) == {mine, theirs, team, south}
    assert set(selectors.target_queryset(other_seller)) == {south}
    with pytest.raises(NotVisible):
        selectors.get_target(seller, theirs.pk)
    with pytest.raises(NotVisible):
        selectors.get_target(manager, south.pk)


def test_update_and_delete(manager, seller, teammate):
    target, _ = services.set_target(actor=manager, data=revenue(seller))
    other, _ = services.set_target(actor=manager, data=revenue(teammate))
    services.update_target(actor=manager, target=target, data={"amount": "7000", "period_kind": "month",
                                                                "period_start": "2026-02-01"})
    target.refresh_from_db()
    assert (target.amount, target.period_kind, target.period_start) == (Decimal("7000.00"), "month",
                                                                        dt.date(2026, 2, 1))
    # Moving onto an existing target is refused rather than making two.
    with pytest.raises(ValidationFailed) as exc:
        services.update_target(actor=manager, target=other, data={"user": seller.pk, "period_kind": "month",
                                                                  "period_start": "2026-02-01"})
    assert "period_start" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        services.update_target(actor=manager, target=other, data={"colour": "red"})
    assert exc.value.errors == {"colour": "unknown field"}
    # Switching to a count drops the currency.
    services.update_target(actor=manager, target=other, data={"metric": "new_customers", "amount": 3})
    other.refresh_from_db()
    assert (other.metric, other.currency, other.amount) == ("new_customers", "", 3)
    services.delete_target(actor=manager, target=target)
    assert not selectors.target_queryset(manager).filter(pk=target.pk).exists()
    assert AuditEntry.objects.filter(record_type="sales.target", record_id=target.pk, action="delete").exists()
    # Once deleted, setting the same target again makes a new one.
    again, created = services.set_target(actor=manager, data=revenue(seller, period_kind="month",
                                                                     period_start="2026-02-01"))
    assert created and again.pk != target.pk


def test_sellers_and_other_managers_may_not_change_targets(admin_user, manager, seller, other_seller):
    target, _ = services.set_target(actor=manager, data=revenue(seller))
    with pytest.raises(NotAllowed):
        services.update_target(actor=seller, target=target, data={"amount": "1"})
    with pytest.raises(NotAllowed):
        services.delete_target(actor=seller, target=target)
    south, _ = services.set_target(actor=admin_user, data=revenue(other_seller))
    with pytest.raises(NotAllowed):
        services.delete_target(actor=manager, target=south)
    assert Target.objects.get(pk=target.pk).amount == Decimal("5000.00")


# --- new customers -------------------------------------------------------------------------------

def order(customer_owner, *, when, company=None, contact=None, deal=None, deleted=False):
    from rapport.core.visibility import team_id_for_owner

    return Order.objects.create(
        company=company, contact=contact, deal=deal, owner=customer_owner, team_id=team_id_for_owner(customer_owner),
        ordered_at=at(when), currency="EUR", total=Decimal("10"), deleted_at=timezone.now() if deleted else None)


@pytest.fixture(name="customers")
def customers_fixture(seller, teammate, other_seller, stages, make_company, make_contact):
    """New customers in 2026-Q1: seller 3 (B, F, G), teammate 1 (C, through teammate's deal),
    other_seller 1 (E). Company A had bought before the quarter."""
    from .forecast_fixtures import make_deal

    a, b, f, g = (make_company(seller) for _ in range(4))
    e = make_company(other_seller)
    c = make_contact(seller)
    order(seller, when="2025-12-01 10:00", company=a)
    order(seller, when="2026-02-01 10:00", company=a)
    order(seller, when="2026-01-05 10:00", company=b)
    order(seller, when="2026-02-05 10:00", company=b)
    deal = make_deal(teammate, stages["Commitment"], 100, won="2026-03-01 09:00")
    order(seller, when="2026-03-01 10:00", contact=c, deal=deal)
    order(other_seller, when="2026-01-10 10:00", company=e)
    order(seller, when="2025-06-01 10:00", company=f, deleted=True)
    order(seller, when="2026-01-20 10:00", company=f)
    order(seller, when="2026-03-03 10:00", company=g)
    order(seller, when="2026-03-03 10:00", company=g)


def test_new_customers_counted_once_for_the_first_orders_owner(customers, seller, teammate, admin_user, other_seller,
                                                                teams):
    counts = selectors.new_customers(admin_user, start=Q1, end=dt.date(2026, 4, 1))
    north, south = teams["north"].pk, teams["south"].pk
    assert counts == {(seller.pk, north): 3, (teammate.pk, north): 1, (other_seller.pk, south): 1}
    # The seller's view: the south team's customer is not theirs to see.
    assert (other_seller.pk, south) not in selectors.new_customers(seller, start=Q1, end=dt.date(2026, 4, 1))
    # In December company A was new.
    assert selectors.new_customers(admin_user, start=dt.date(2025, 12, 1), end=Q1) == {(seller.pk, north): 1}


def test_attainment_dashboard(quarter_deals, customers, manager, seller, teammate, teams):
    services.set_target(actor=manager, data=revenue(seller, amount="4600"))
    services.set_target(actor=manager, data=revenue(seller, metric="new_customers", amount="4", currency=""))
    services.set_target(actor=manager, data={**revenue(seller, amount="10000"), "user": None,
                                             "team": teams["north"].pk})
    current, following = selectors.attainment(manager, kind="quarter", today=dt.date(2026, 2, 10))
    assert (current.label, following.label) == ("2026-Q1", "2026-Q2")
    people = {row.label: row for row in current.people}
    assert set(people) == {"Mona", "Sam", "Tia"}
    sam = people["Sam"]
    assert sam.revenue.closed_won.amount == Decimal("2300.00") and sam.revenue_attainment == Decimal("50.0")
    assert sam.new_customers == 3 and sam.customers_attainment == Decimal("75.0")
    # The teammate's won deal for customer C: 100 EUR more for the team.
    assert people["Tia"].revenue.closed_won.amount == Decimal("600.00") and people["Tia"].new_customers == 1
    (north,) = current.teams
    assert north.label == "North" and north.revenue.closed_won.amount == Decimal("2900.00")
    assert north.revenue_attainment == Decimal("29.0") and north.new_customers == 4
    # Next quarter: the 5,000 EUR deal closing 1 April is its commit.
    assert {r.label: r for r in following.people}["Sam"].revenue.commit.amount == Decimal("5000.00")


def test_a_sellers_dashboard_shows_only_them_and_their_team(quarter_deals, seller):
    (current,) = selectors.attainment(seller, kind="quarter", today=dt.date(2026, 2, 10), periods_ahead=0)
    assert [r.label for r in current.people] == ["Sam"] and [r.label for r in current.teams] == ["North"]


def test_dashboard_queries_do_not_grow_with_people(quarter_deals, admin_user, django_assert_max_num_queries):
    from conftest import _user

    with django_assert_max_num_queries(40) as few:
        selectors.attainment(admin_user, kind="quarter", today=dt.date(2026, 2, 10))
    for i in range(5):
        _user(f"extra{i}_seller", "seller", None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        selectors.attainment(admin_user, kind="quarter", today=dt.date(2026, 2, 10))


def test_the_database_refuses_a_second_live_target_for_the_same_period(admin_user, seller):
    """Two requests racing past set_target's lookup must not leave two targets for one period."""
    import datetime as dt

    from django.db import IntegrityError, transaction

    from rapport.sales.models import Target

    Target.objects.create(user=seller, metric="revenue", period_kind="month", period_start=dt.date(2026, 12, 1),
                          amount=1000, currency="EUR")
    with pytest.raises(IntegrityError), transaction.atomic():
        Target.objects.create(user=seller, metric="revenue", period_kind="month", period_start=dt.date(2026, 12, 1),
                              amount=2000, currency="EUR")
    Target.objects.filter(user=seller).update(deleted_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    Target.objects.create(user=seller, metric="revenue", period_kind="month", period_start=dt.date(2026, 12, 1),
                          amount=3000, currency="EUR")
    assert Target.objects.filter(user=seller, deleted_at__isnull=True).count() == 1
