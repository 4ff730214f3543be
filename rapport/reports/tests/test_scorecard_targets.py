"""Relationship targets: retention (percent) and customer health (0-100) are set, refused and
shown like revenue ones, through the sales app's target service, form, list and API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.core.errors import ValidationFailed
from rapport.sales.models import Target
from rapport.sales.selectors.forecasts import target_figure
from rapport.sales.services import forecasts as services


def target(who, metric, amount, **extra):
    data = {"user": who.pk, "metric": metric, "period_kind": "quarter", "period_start": "2026-04-01",
            "amount": amount}
    data.update(extra)
    return data


@pytest.mark.parametrize(("metric", "amount", "stored", "shown"), [
    ("retention", "62.5", Decimal("62.5"), "62.5%"),
    ("retention", 0, Decimal("0"), "0.0%"),
    ("health", "70", Decimal("70"), "70"),
    ("health", 100, Decimal("100"), "100"),
])
def test_retention_and_health_targets_are_numbers_without_currency(manager, seller, metric, amount, stored, shown):
    saved, created = services.set_target(actor=manager, data=target(seller, metric, amount))
    saved.refresh_from_db()
    assert created and saved.metric == metric and saved.currency == "" and saved.amount == stored
    figure = target_figure(saved, book=None, kind="quarter")  # no conversion: the book is never read
    assert figure.in_base == stored and str(figure) == shown


@pytest.mark.parametrize(("metric", "changes", "field", "reason"), [
    ("retention", {"amount": "101"}, "amount", "a retention target is a percentage from 0 to 100"),
    ("retention", {"amount": "-1"}, "amount", "from 0 to 100"),
    ("retention", {"amount": "many"}, "amount", "not a number"),
    ("retention", {"amount": ""}, "amount", "enter the target"),
    ("retention", {"currency": "EUR"}, "currency", "leave the currency empty"),
    ("health", {"amount": "100.5"}, "amount", "a health target is a score from 0 to 100"),
    ("health", {"currency": "USD"}, "currency", "leave the currency empty"),
    ("loyalty", {}, "metric", "choose revenue, new_customers, retention or health"),
])
def test_bad_relationship_targets_are_refused_naming_the_field(manager, seller, metric, changes, field, reason):
    with pytest.raises(ValidationFailed) as caught:
        services.set_target(actor=manager, data={**target(seller, metric, "50"), **changes})
    assert field in caught.value.errors and reason in caught.value.errors[field]
    assert not Target.objects.exists()


def test_one_live_target_per_metric_and_period(manager, seller):
    services.set_target(actor=manager, data=target(seller, "retention", "60"))
    again, created = services.set_target(actor=manager, data=target(seller, "retention", "65"))
    services.set_target(actor=manager, data=target(seller, "health", "75"))
    assert not created and again.amount == Decimal("65.0")
    assert sorted(Target.objects.values_list("metric", flat=True)) == ["health", "retention"]


def test_changing_a_revenue_target_into_a_retention_one_drops_its_currency(manager, seller):
    saved, _ = services.set_target(actor=manager, data=target(seller, "revenue", "5000", currency="EUR"))
    services.update_target(actor=manager, target=saved, data={"metric": "retention", "amount": "55"})
    saved.refresh_from_db()
    assert (saved.metric, saved.currency, saved.amount) == ("retention", "", Decimal("55.0"))


def test_the_target_form_and_list_handle_relationship_metrics(client, manager, seller):
    client.force_login(manager)
    form = {"who": f"user:{seller.pk}", "metric": "retention", "period_kind": "quarter",
            "period_start": "2026-04-01", "amount": "58.5", "currency": "EUR"}  # the form always sends one
    response = client.post(reverse("forecast_targets"), form)
    assert response.status_code == 302
    html = client.get(reverse("forecast_targets")).content.decode()
    assert "12-month retention (%)" in html and "58.5%" in html
    bad = client.post(reverse("forecast_targets"), {**form, "metric": "health", "amount": "180"})
    assert bad.status_code == 422 and "a health target is a score from 0 to 100" in bad.content.decode()


def test_the_api_sets_and_lists_a_health_target(api_as, manager, seller):
    api = api_as(manager)
    created = api.post("/targets", {"user": seller.pk, "metric": "health", "period_kind": "month",
                                    "period_start": "2026-05-01", "amount": 72})
    assert created.status_code in (200, 201), created.content
    assert created.json()["amount"] == "72.0" and created.json()["currency"] == ""
    listed = api.get("/targets?metric=health").json()["items"]
    assert [t["amount"] for t in listed] == ["72.0"]
    refused = api.post("/targets", {"user": seller.pk, "metric": "retention", "period_kind": "month",
                                    "period_start": "2026-05-01", "amount": 250})
    assert refused.status_code == 422 and "amount" in refused.content.decode()
