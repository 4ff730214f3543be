"""Exchange rates and cost rates: admins only, validated, audited, read by reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.sales import currencies
from rapport.sales.models import CostRate, ExchangeRate
from rapport.sales.selectors import rates as selectors
from rapport.sales.services import rates as services

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _euro_base(settings):
    settings.RAPPORT_BASE_CURRENCY = "EUR"


def add(actor, currency="USD", rate="0.92", valid_from="2024-01-01"):
    return services.add_exchange_rate(actor=actor, currency=currency, rate=rate, valid_from=valid_from)


# --- exchange rates -----------------------------------------------------------------------------

def test_admin_adds_a_dated_rate_that_conversion_then_uses(admin_user):
    rate = add(admin_user, currency="usd", rate="0.9215", valid_from="2024-03-01")
    assert (rate.currency, rate.rate, rate.valid_from, rate.created_by) == (
        "USD", D("0.9215"), dt.date(2024, 3, 1), admin_user)
    assert currencies.convert(D("100"), "USD", "EUR", dt.date(2024, 3, 2)) == D("92.15")
    entry = AuditEntry.objects.get(record_type="sales.exchangerate", record_id=rate.pk)
    assert entry.action == "create"
    assert entry.changes == {"currency": [None, "USD"], "rate": [None, "0.9215"], "valid_from": [None, "2024-03-01"]}


@pytest.mark.parametrize("who", ["manager", "seller", "marketer"])
def test_only_admins_set_exchange_rates(request, who, admin_user):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotAllowed, match="only admins"):
        add(actor)
    rate = add(admin_user)
    with pytest.raises(NotAllowed):
        services.delete_exchange_rate(actor=actor, exchange_rate=rate)
    assert ExchangeRate.objects.count() == 1


@pytest.mark.parametrize("kwargs, errors", [
    ({"currency": "XYZ"}, {"currency": "unknown currency 'XYZ'"}),
    ({"currency": ""}, {"currency": "choose a currency (ISO 4217 code, e.g. EUR)"}),
    ({"currency": "EUR"}, {"currency": "EUR is the base currency: it needs no rate"}),
    ({"rate": "0"}, {"rate": "must be more than zero"}),
    ({"rate": "-1.1"}, {"rate": "must be more than zero"}),
    ({"rate": "abc"}, {"rate": "not a number"}),
    ({"rate": ""}, {"rate": "enter a rate"}),
    ({"rate": None}, {"rate": "not a number"}),
    ({"rate": "0.00000000001"}, {"rate": "at most 10 decimal places"}),
    ({"rate": "10000000000"}, {"rate": "too large (at most 9,999,999,999)"}),
    ({"valid_from": "31/01/2024"}, {"valid_from": "use a date like 2024-01-31"}),
    ({"valid_from": "2024-02-30"}, {"valid_from": "use a date like 2024-01-31"}),
    ({"valid_from": ""}, {"valid_from": "use a date like 2024-01-31"}),
    ({"currency": "EURO", "rate": "x", "valid_from": "soon"},
     {"currency": "unknown currency 'EURO'", "rate": "not a number", "valid_from": "use a date like 2024-01-31"}),
])
def test_bad_exchange_rates_are_refused_naming_the_field(admin_user, kwargs, errors):
    with pytest.raises(ValidationFailed) as exc:
        add(admin_user, **kwargs)
    assert exc.value.errors == errors
    assert not ExchangeRate.objects.exists()


def test_one_rate_per_currency_and_date(admin_user):
    add(admin_user, valid_from=dt.date(2024, 1, 1))
    with pytest.raises(ValidationFailed) as exc:
        add(admin_user, rate="0.95", valid_from="2024-01-01")
    assert exc.value.errors == {"valid_from": "USD already has a rate from 2024-01-01; delete that one to change it"}
    add(admin_user, currency="GBP", valid_from="2024-01-01")  # another currency, same day: fine


def test_deleting_a_rate_keeps_what_it_said_in_the_audit_log(admin_user):
    pk = add(admin_user, rate="0.50").pk
    services.delete_exchange_rate(actor=admin_user, exchange_rate=selectors.get_exchange_rate(admin_user, pk))
    assert not ExchangeRate.objects.filter(pk=pk).exists()
    entry = AuditEntry.objects.filter(record_type="sales.exchangerate", record_id=pk).order_by("-id").first()
    assert entry.action == "delete"
    assert entry.changes["rate"] == ["0.5", None]
    assert selectors.recent_rate_changes(admin_user, "exchange")[0] == entry


def test_rates_list_newest_first_filtered_and_paged(admin_user, seller):
    for month in range(1, 8):
        add(admin_user, valid_from=dt.date(2024, month, 1))
    add(admin_user, currency="GBP", valid_from="2024-05-15")
    page = selectors.list_exchange_rates(seller, {"currency": "usd"}, size=5)
    assert [r.valid_from.month for r in page.items] == [7, 6, 5, 4, 3]
    rest = selectors.list_exchange_rates(seller, {"currency": "USD"}, cursor=page.next_cursor, size=5)
    assert [r.valid_from.month for r in rest.items] == [2, 1] and rest.next_cursor is None
    with pytest.raises(ValidationFailed) as exc:
        selectors.list_exchange_rates(seller, {"currency": "XXY"})
    assert exc.value.errors == {"currency": "unknown currency 'XXY'"}
    latest = selectors.latest_exchange_rates(seller)
    assert [(r.currency, r.valid_from) for r in latest] == [("GBP", dt.date(2024, 5, 15)), ("USD", dt.date(2024, 7, 1))]
    assert selectors.recent_rate_changes(seller, "exchange") == []


def test_latest_rates_take_one_query_whatever_the_number_of_currencies(admin_user, django_assert_num_queries):
    for code in ("USD", "GBP", "CHF", "JPY", "SEK"):
        add(admin_user, currency=code, valid_from="2024-01-01")
        add(admin_user, currency=code, valid_from="2024-02-01")
    with django_assert_num_queries(1):
        latest = selectors.latest_exchange_rates(admin_user)
    assert len(latest) == 5 and {r.valid_from for r in latest} == {dt.date(2024, 2, 1)}


def test_missing_rate_error_points_admins_to_the_rate_page(db):
    with pytest.raises(currencies.MissingRate, match="Exchange rates"):
        currencies.convert(D("1"), "USD", "EUR", dt.date(2024, 1, 1))


# --- cost rates ---------------------------------------------------------------------------------

def test_admin_sets_and_changes_a_roles_cost_per_hour(admin_user):
    rate = services.set_cost_rate(actor=admin_user, role="seller", cost_per_hour="55.5", currency="eur")
    assert (rate.role, rate.cost_per_hour, rate.currency) == ("seller", D("55.50"), "EUR")
    services.set_cost_rate(actor=admin_user, role="seller", cost_per_hour="60", currency="EUR")
    rate.refresh_from_db()
    assert rate.cost_per_hour == D("60")
    actions = list(AuditEntry.objects.filter(record_type="sales.costrate", record_id=rate.pk)
                   .order_by("id").values_list("action", "changes"))
    assert actions[0][0] == "create"
    assert actions[0][1] == {"role": [None, "seller"], "cost_per_hour": [None, "55.50"], "currency": [None, "EUR"]}
    assert actions[1] == ("update", {"cost_per_hour": ["55.50", "60.00"]})
    services.set_cost_rate(actor=admin_user, role="seller", cost_per_hour="60.00", currency="EUR")
    assert AuditEntry.objects.filter(record_type="sales.costrate").count() == 2  # nothing changed
    assert selectors.cost_rate_table()["seller"].cost_per_hour == D("60")


@pytest.mark.parametrize("kwargs, errors", [
    ({"role": "intern"}, {"role": "choose one of: admin, manager, seller, marketer, service"}),
    ({"cost_per_hour": "-5"}, {"cost_per_hour": "must not be negative"}),
    ({"cost_per_hour": "5.555"}, {"cost_per_hour": "at most 2 decimal places for EUR"}),
    ({"cost_per_hour": "lots"}, {"cost_per_hour": "not a number"}),
    ({"currency": "ZZZ"}, {"currency": "unknown currency 'ZZZ'"}),
    ({"role": "boss", "currency": "ZZZ"}, {"role": "choose one of: admin, manager, seller, marketer, service",
                                           "currency": "unknown currency 'ZZZ'"}),
])
def test_bad_cost_rates_are_refused_naming_the_field(admin_user, kwargs, errors):
    data = {"role": "seller", "cost_per_hour": "50", "currency": "EUR", **kwargs}
    with pytest.raises(ValidationFailed) as exc:
        services.set_cost_rate(actor=admin_user, **data)
    assert exc.value.errors == errors
    assert not CostRate.objects.exists()


def test_cost_rates_are_set_by_admins_and_seen_by_admins_and_managers(admin_user, manager, seller):
    with pytest.raises(NotAllowed):
        services.set_cost_rate(actor=manager, role="seller", cost_per_hour="50", currency="EUR")
    services.set_cost_rate(actor=admin_user, role="seller", cost_per_hour="50", currency="EUR")
    assert [r.role for r in selectors.cost_rates(manager)] == ["seller"]
    with pytest.raises(NotVisible):
        selectors.cost_rates(seller)
    assert selectors.recent_rate_changes(manager, "cost")
    assert selectors.recent_rate_changes(seller, "cost") == []
    with pytest.raises(NotAllowed):
        services.remove_cost_rate(actor=manager, role="seller")
    services.remove_cost_rate(actor=admin_user, role="seller")
    assert not CostRate.objects.exists()
    with pytest.raises(ValidationFailed) as exc:
        services.remove_cost_rate(actor=admin_user, role="seller")
    assert exc.value.errors == {"role": "this role has no cost rate"}
