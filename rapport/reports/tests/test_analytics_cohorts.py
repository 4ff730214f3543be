"""Cohort retention on hand-built orders: who counts in which acquisition month, the share
buying again in each later month, revenue retention in the base currency, visibility, bad
input and a query count that does not grow with the customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.core.errors import ValidationFailed
from rapport.reports.selectors.analytics_cohorts import cohort_retention
from rapport.sales.models import ExchangeRate

from .analytics_fixtures import make_order

TODAY = dt.date(2026, 3, 15)


@pytest.fixture(name="orders")
def orders_fixture(seller, teammate, other_seller, make_contact, make_company):
    """North (seller's team), with today 15 March 2026 and four cohorts, December to March:

    December: A (100 on 3 Dec, 50 in Jan, 30 in Mar) and B (200 on 20 Dec, nothing after)
              -> 2 customers, 300; Jan: A (1 of 2, 50); Feb: nobody; Mar so far: A (30)
    January:  company X through its contact D (300 and 100 on 5 Jan, one visit; 150 on 7 Feb)
              -> 1 customer, 400; Feb: 1 of 1 (150); Mar so far: 0; April: not yet
              C also buys in January but first bought in October: acquired before the window.
    February: E (100 USD on 1 Feb and 1 Mar, at 0.9) -> 1 customer, 90; Mar: 1 of 1 (90)
    March:    F (5,000 JPY, which has no rate) -> 1 customer, revenue unknown
    South: O (999 on 5 Dec and 6 Jan) is in the admin's December cohort only.
    """
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.9"), valid_from=dt.date(2025, 1, 1))
    a = make_contact(seller, first_name="Ann")
    b = make_contact(teammate, first_name="Bob")
    c = make_contact(seller, first_name="Cid")
    x = make_company(seller, name="Xylo")
    d = make_contact(seller, first_name="Dee", company=x.pk)
    e = make_contact(seller, first_name="Eve")
    f = make_contact(seller, first_name="Fay")
    o = make_contact(other_seller, first_name="Olaf")
    make_order(contact=a, when="2025-12-03 10:00", total=100)
    make_order(contact=a, when="2026-01-10 10:00", total=50)
    make_order(contact=a, when="2026-03-02 10:00", total=30)
    make_order(contact=b, when="2025-12-20 10:00", total=200)
    make_order(contact=d, company=x, when="2026-01-05 09:00", total=300)
    make_order(contact=d, company=x, when="2026-01-05 15:00", total=100)
    make_order(contact=d, company=x, when="2026-02-07 10:00", total=150)
    make_order(contact=c, when="2025-10-01 10:00", total=70)
    make_order(contact=c, when="2026-01-20 10:00", total=70)
    make_order(contact=e, when="2026-02-01 10:00", total=100, currency="USD")
    make_order(contact=e, when="2026-03-01 10:00", total=100, currency="USD")
    make_order(contact=f, when="2026-03-03 10:00", total=5000, currency="JPY")
    make_order(contact=o, when="2025-12-05 10:00", total=999)
    make_order(contact=o, when="2026-01-06 10:00", total=999)


def shares(cohort):
    return [None if c.share is None else round(c.share, 3) for c in cohort.cells]


def revenue_shares(cohort):
    return [None if c.revenue_share is None else round(c.revenue_share, 3) for c in cohort.cells]


def test_cohorts_of_a_team(orders, seller):
    table = cohort_retention(seller, months=4, today=TODAY)
    assert [c.month for c in table.cohorts] == [dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1),
                                                dt.date(2026, 3, 1)]
    december, january, february, march = table.cohorts
    assert (december.customers, december.revenue) == (2, Decimal(300))
    assert shares(december) == [1.0, 0.5, 0.0, 0.5]
    assert revenue_shares(december) == [1.0, 0.167, 0.0, 0.1]
    assert (january.customers, january.revenue) == (1, Decimal(400))
    assert shares(january) == [1.0, 1.0, 0.0, None] and revenue_shares(january) == [1.0, 0.375, 0.0, None]
    assert (february.customers, february.revenue) == (1, Decimal(90))
    assert shares(february) == [1.0, 1.0, None, None] and revenue_shares(february) == [1.0, 1.0, None, None]
    assert march.customers == 1 and march.revenue == 0 and shares(march)[0] == 1.0
    assert revenue_shares(march)[0] is None  # its only revenue has no rate
    assert table.unconverted == {"JPY": Decimal(5000)}
    # The month in progress is marked as partial; months not reached yet are empty, not zero.
    assert [c.partial for c in december.cells] == [False, False, False, True]
    assert [c.offset for c in january.cells] == [0, 1, 2, 3]


def test_a_team_never_sees_another_teams_customers_but_an_admin_sees_all(orders, other_seller, admin_user):
    south = cohort_retention(other_seller, months=4, today=TODAY)
    assert [c.customers for c in south.cohorts] == [1, 0, 0, 0]
    assert shares(south.cohorts[0]) == [1.0, 1.0, 0.0, 0.0] and south.cohorts[0].revenue == Decimal(999)
    everyone = cohort_retention(admin_user, months=4, today=TODAY)
    december = everyone.cohorts[0]
    assert december.customers == 3 and december.revenue == Decimal(1299)
    assert shares(december)[:2] == [1.0, round(2 / 3, 3)]


def test_no_orders_gives_empty_cohorts(seller):
    table = cohort_retention(seller, today=TODAY)
    assert len(table.cohorts) == 12 and all(c.customers == 0 for c in table.cohorts)
    assert all(cell.share is None or cell.share == 0 for c in table.cohorts for cell in c.cells)


@pytest.mark.parametrize(("months", "reason"), [
    ("many", "must be a whole number of months"),
    ("1", "choose between 2 and 36 months"),
    ("37", "choose between 2 and 36 months"),
])
def test_bad_months_are_refused_naming_the_field(seller, months, reason):
    with pytest.raises(ValidationFailed) as caught:
        cohort_retention(seller, months=months, today=TODAY)
    assert caught.value.errors == {"months": reason}


def test_queries_do_not_grow_with_customers(orders, admin_user, make_contact, django_assert_num_queries):
    cohort_retention(admin_user, months=4, today=TODAY)  # reads the user's profile once
    with django_assert_num_queries(4):  # customers, revenue, and one rate read per foreign currency
        cohort_retention(admin_user, months=4, today=TODAY)
    for n in range(20):
        buyer = make_contact(admin_user, first_name=f"More{n}")
        make_order(contact=buyer, when="2026-01-02 10:00", total=10)
        make_order(contact=buyer, when="2026-02-02 10:00", total=10)
    with django_assert_num_queries(4):
        table = cohort_retention(admin_user, months=4, today=TODAY)
    assert table.cohorts[1].customers == 21
