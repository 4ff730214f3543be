"""A small, hand-built order book for refresh tests: a crowd of ordinary customers whose purchases
follow the buy-till-you-die story, plus named customers whose scores the tests compare."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest

from rapport.people.models import Company, Contact
from rapport.sales.models import Order

AS_OF = dt.date(2025, 6, 30)
START = dt.datetime(2023, 7, 1, 10, 0, tzinfo=dt.UTC)  # two years before AS_OF


def at_day(day: float) -> dt.datetime:
    return START + dt.timedelta(days=float(day))


def order(contact=None, company=None, day=0.0, total="50.00", currency="EUR", subscription=False) -> Order:
    owner = (contact or company).owner
    team = (contact or company).team
    return Order(contact=contact, company=company, ordered_at=at_day(day), currency=currency, total=Decimal(total),
                 owner=owner, team=team, is_subscription=subscription)


def crowd(owner, n: int, seed: int = 1, days: int = 729) -> tuple[list[Contact], list[Order]]:
    """n customers, each buying while active at their own rate and leaving after any purchase
    with their own chance (the BG/NBD story), spending around their own mean."""
    rng = np.random.default_rng(seed)
    team = owner.profile.team
    contacts = Contact.objects.bulk_create([
        Contact(first_name="Crowd", last_name=f"Member{i}", name_key=f"crowd member{i}", last_name_key=f"member{i}",
                email=f"crowd{seed}-{i}@example.com", owner=owner, team=team, lifecycle_stage="customer")
        for i in range(n)])
    orders = []
    for contact in contacts:
        day = float(rng.integers(0, days - 60))
        rate = rng.gamma(2.0, 1 / 3.0)  # purchases a week while active
        leave = rng.beta(1.0, 5.0)
        spend = rng.gamma(5.0, 10.0)
        orders.append(order(contact, day=day, total=f"{spend:.2f}"))
        while True:
            day += rng.exponential(7.0 / rate)
            if day >= days:
                break
            orders.append(order(contact, day=day, total=f"{rng.gamma(4.0, spend / 4.0) + 1:.2f}"))
            if rng.random() < leave:
                break
    return contacts, orders


@dataclass
class Book:
    loyal: Contact
    lapsed: Contact
    one_time: Contact
    foreign: Contact  # buys partly in JPY, which has no exchange rate
    hidden: Contact  # another team's customer
    company: Company
    crowd: list[Contact]
    jpy_orders: int


@pytest.fixture(name="book")
def book_fixture(db, seller, other_seller, make_contact, make_company) -> Book:
    company = make_company(seller, name="Loyal Ltd")
    loyal = make_contact(seller, first_name="Lola", last_name="Loyal", company=company)
    lapsed = make_contact(seller, first_name="Larry", last_name="Lapsed")
    one_time = make_contact(seller, first_name="Olive", last_name="Once")
    foreign = make_contact(seller, first_name="Fumi", last_name="Foreign")
    hidden = make_contact(other_seller, first_name="Hana", last_name="Hidden")
    people, orders = crowd(seller, 300)
    others, more = crowd(other_seller, 100, seed=2)
    orders += more
    # Every 14 days for two years, and still buying; half through her company.
    orders += [order(loyal, company if i % 2 else None, day=day, total="80.00") for i, day in enumerate(range(3, 729, 14))]
    # Every 14 days for ten months, then silence for over a year.
    orders += [order(lapsed, day=day, total="80.00") for day in range(3, 300, 14)]
    orders.append(order(one_time, day=700, total="120.00"))
    orders += [order(foreign, day=day, total="60.00") for day in range(10, 729, 30)]
    jpy = [order(foreign, day=day + 5, total="9000", currency="JPY") for day in range(100, 700, 60)]
    orders += jpy
    orders += [order(hidden, day=day, total="70.00") for day in range(5, 729, 21)]
    orders.append(order(loyal, day=740, total="999.00"))  # after AS_OF: ignored
    Order.objects.bulk_create(orders)
    return Book(loyal=loyal, lapsed=lapsed, one_time=one_time, foreign=foreign, hidden=hidden, company=company,
                crowd=people + others, jpy_orders=len(jpy))
