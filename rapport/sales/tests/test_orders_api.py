"""/api/v1/orders: idempotent recording, 422 naming each bad field, visibility, lists and filters."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.api.tests.conftest import ApiClient, field_errors
from rapport.sales.models import Order
from rapport.sales.services import orders as services
from rapport.timeline.models import Event

from .orders_fixtures import catalogue_fixture, customer_fixture, order_data, other_customer_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def body(customer, **extra):
    data = order_data(customer, **extra)
    return data


def test_post_creates_then_replays_with_200_and_the_same_order(seller, customer, catalogue):
    api = ApiClient(seller)
    first = api.post("/orders", body(customer, external_id="SHOP-1"))
    assert first.status_code == 201, first.content
    created = first.json()
    assert created["external_id"] == "SHOP-1" and created["total"] == "277.00"
    assert created["contact"] == customer.pk and created["company"] == customer.company_id
    assert created["owner"] == seller.pk and created["channel"] == "web"
    assert [(line["sku"], line["quantity"], line["unit_price"], line["line_total"], line["category"])
            for line in created["lines"]] == [("BEAN-1", "2.000", "18.50", "37.00", "Coffee"),
                                              ("GRIND-2", "1.000", "240.00", "240.00", "Equipment")]

    again = api.post("/orders", body(customer, external_id="SHOP-1"))
    assert again.status_code == 200, again.content
    assert again.json() == created
    assert Order.objects.count() == 1
    assert Event.objects.filter(kind="purchase").count() == 1


def test_post_with_changed_content_updates_and_answers_200(seller, customer, catalogue):
    api = ApiClient(seller)
    order_id = api.post("/orders", body(customer, external_id="SHOP-1")).json()["id"]
    response = api.post("/orders", body(customer, external_id="SHOP-1", lines=[
        {"sku": "MUG-3", "quantity": 2, "unit_price": 4.5}]))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == order_id and response.json()["total"] == "9.00"


def test_post_by_email_and_sku_with_price_book_price(seller, customer, catalogue):
    response = ApiClient(seller).post("/orders", {
        "contact_email": "bea@beanthere.example", "currency": "EUR", "lines": [{"sku": "BEAN-1", "quantity": 1}]})
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "18.50" and response.json()["contact"] == customer.pk


@pytest.mark.parametrize(("change", "loc"), [
    ({"lines": [{"sku": "BEAN-1", "quantity": -1, "unit_price": "1"}]}, ("body", "lines", "0", "quantity")),
    ({"lines": [{"sku": "BEAN-1", "quantity": 0, "unit_price": "1"}]}, ("body", "lines", "0", "quantity")),
    ({"lines": [{"sku": "BEAN-1", "quantity": "many", "unit_price": "1"}]}, ("body", "lines", 0, "quantity")),
    ({"currency": "XXX"}, ("body", "currency")),
    ({"lines": [{"sku": "BEAN-1", "quantity": 1, "unit_price": "1.999"}]}, ("body", "lines", "0", "unit_price")),
    ({"lines": [{"sku": "BEAN-1", "quantity": 1, "unit_price": 1.999}]}, ("body", "lines", "0", "unit_price")),
    ({"lines": [{"sku": "NO-SUCH", "quantity": 1, "unit_price": "1"}]}, ("body", "lines", "0", "sku")),
    ({"lines": [{"product": 999999, "quantity": 1, "unit_price": "1"}]}, ("body", "lines", "0", "product")),
    ({"lines": []}, ("body", "lines")),
    ({"ordered_at": "2026-13-01"}, ("body", "ordered_at")),
    ({"ordered_at": "yesterday"}, ("body", "ordered_at")),
    ({"channel": "fax"}, ("body", "channel")),
    ({"contact": 999999}, ("body", "contact")),
    ({"owner": 1}, ("body", "owner")),
    ({"total": "5"}, ("body", "total")),
])
def test_post_bad_input_is_422_naming_the_field(seller, customer, catalogue, change, loc):
    errors = field_errors(ApiClient(seller).post("/orders", body(customer, **change)))
    assert loc in errors, errors
    assert not Order.objects.exists()


def test_post_without_currency_or_lines_names_both(seller, customer, catalogue):
    data = body(customer)
    del data["currency"], data["lines"]
    errors = field_errors(ApiClient(seller).post("/orders", data))
    assert ("body", "currency") in errors and ("body", "lines") in errors


def test_an_order_for_another_teams_contact_is_422_like_a_missing_one(seller, other_customer, catalogue):
    api = ApiClient(seller)
    hidden = field_errors(api.post("/orders", body(other_customer)))
    missing = field_errors(api.post("/orders", body(other_customer, contact=999999)))
    assert hidden == missing == {("body", "contact"): "no such contact"}


def test_another_teams_order_is_404_and_missing_from_lists(seller, other_seller, other_customer, customer,
                                                           catalogue):
    theirs = services.record_purchase(actor=other_seller, data=order_data(other_customer)).order
    mine = services.record_purchase(actor=seller, data=order_data(customer)).order
    api = ApiClient(seller)
    assert api.get(f"/orders/{theirs.pk}").status_code == 404
    assert api.get("/orders/999999").status_code == 404
    assert api.delete(f"/orders/{theirs.pk}").status_code == 404
    assert [o["id"] for o in api.get("/orders").json()["items"]] == [mine.pk]
    assert api.get(f"/orders/{mine.pk}").json()["id"] == mine.pk


def test_delete_moves_the_order_to_the_trash(seller, customer, catalogue):
    order = services.record_purchase(actor=seller, data=order_data(customer)).order
    api = ApiClient(seller)
    assert api.delete(f"/orders/{order.pk}").status_code == 204
    assert api.get(f"/orders/{order.pk}").status_code == 404
    assert not Event.objects.filter(kind="purchase").exists()


def test_list_filters_and_pages_newest_first(seller, customer, catalogue, make_contact):
    other = make_contact(seller, email="other@example.com")
    made = []
    for day in range(1, 6):
        made.append(services.record_purchase(actor=seller, data=order_data(
            customer if day % 2 else other, ordered_at=f"2026-02-0{day}", channel="web" if day < 4 else "store",
            lines=[{"sku": "BEAN-1" if day != 5 else "MUG-3", "quantity": 1, "unit_price": "1"}])).order)
    api = ApiClient(seller)

    def ids(**params):
        return [o["id"] for o in api.get("/orders", params).json()["items"]]

    assert ids() == [o.pk for o in reversed(made)]
    assert ids(contact=customer.pk) == [made[4].pk, made[2].pk, made[0].pk]
    assert ids(company=customer.company_id) == [made[4].pk, made[2].pk, made[0].pk]
    assert ids(channel="store") == [made[4].pk, made[3].pk]
    assert ids(ordered_from="2026-02-02", ordered_to="2026-02-03") == [made[2].pk, made[1].pk]
    assert ids(category=catalogue["coffee"].pk) == [made[3].pk, made[2].pk, made[1].pk, made[0].pk]

    first = api.get("/orders", {"limit": 2}).json()
    second = api.get("/orders", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/orders", {"limit": 2, "cursor": second["next_cursor"]}).json()
    walked = [o["id"] for page in (first, second, third) for o in page["items"]]
    assert walked == [o.pk for o in reversed(made)] and third["next_cursor"] is None


@pytest.mark.parametrize(("params", "field"), [
    ({"ordered_from": "01/02/2026"}, "ordered_from"),
    ({"ordered_from": "2026-02-05", "ordered_to": "2026-02-01"}, "ordered_to"),
    ({"channel": "fax"}, "channel"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"chanel": "web"}, "chanel"),
    ({"contact": "me"}, "contact"),
])
def test_list_bad_filters_are_422(seller, params, field):
    errors = field_errors(ApiClient(seller).get("/orders", params))
    assert any(loc[-1] == field for loc in errors), errors


def test_list_runs_a_constant_number_of_queries(seller, customer, catalogue, django_assert_max_num_queries):
    api = ApiClient(seller)
    api.get("/orders")  # first use stamps the token; keep that write out of the comparison
    for _ in range(2):
        services.record_purchase(actor=seller, data=order_data(customer))
    with CaptureQueriesContext(connection) as two:
        assert len(api.get("/orders").json()["items"]) == 2
    for _ in range(20):
        services.record_purchase(actor=seller, data=order_data(customer))
    with django_assert_max_num_queries(len(two)):
        assert len(api.get("/orders").json()["items"]) == 22
