"""Order pages, and purchases on contact and company pages: visibility, filters, trash, what a
customer buys, and query counts that do not grow with orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.sales.models import Order
from rapport.sales.selectors import orders as selectors
from rapport.sales.services import orders as services
from rapport.timeline.models import Event

from .orders_fixtures import catalogue_fixture, customer_fixture, order_data, other_customer_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def record(actor, contact, **extra):
    return services.record_purchase(actor=actor, data=order_data(contact, **extra)).order


# --- the order list and page -------------------------------------------------------------------

def test_order_list_shows_only_orders_the_user_may_see(seller_client, seller, other_seller, customer,
                                                       other_customer, catalogue):
    mine = record(seller, customer, external_id="MINE-1")
    record(other_seller, other_customer, external_id="THEIRS-1")
    html = seller_client.get(reverse("order_list")).content.decode()
    assert "MINE-1" in html and "THEIRS-1" not in html
    assert reverse("order_detail", args=[mine.pk]) in html
    assert "277.00 EUR" in html and "House beans 1 kg" in html


def test_empty_order_list_says_where_orders_come_from(seller_client):
    html = seller_client.get(reverse("order_list")).content.decode()
    assert "No orders yet" in html and "rapport import orders" in html


def test_order_list_filters_and_reports_bad_filters(seller_client, seller, customer, catalogue):
    record(seller, customer, external_id="WEB-1", channel="web")
    record(seller, customer, external_id="STORE-1", channel="store", ordered_at="2026-02-01")
    html = seller_client.get(reverse("order_list"), {"channel": "store"}).content.decode()
    assert "STORE-1" in html and "WEB-1" not in html
    html = seller_client.get(reverse("order_list"), {"ordered_to": "2026-01-31"}).content.decode()
    assert "WEB-1" in html and "STORE-1" not in html
    html = seller_client.get(reverse("order_list"), {"ordered_from": "yesterday"}).content.decode()
    assert "ordered_from" in html and "use a date such as" in html
    html = seller_client.get(reverse("order_list"), {"cursor": "garbage"}).content.decode()
    assert "cursor" in html


def test_order_list_query_count_does_not_grow(seller_client, seller, customer, catalogue,
                                              django_assert_max_num_queries):
    for _ in range(2):
        record(seller, customer)
    with django_assert_max_num_queries(30) as few:
        assert seller_client.get(reverse("order_list")).status_code == 200
    for _ in range(25):
        record(seller, customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = seller_client.get(reverse("order_list"))
    assert len(response.context["page"].items) == 27


def test_order_page_shows_lines_and_history_and_hides_others_orders(seller_client, seller, other_seller, customer,
                                                                   other_customer, catalogue):
    order = record(seller, customer, external_id="SHOP-9")
    html = seller_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "SHOP-9" in html and "Burr grinder" in html and "240.00 EUR" in html and "277.00 EUR" in html
    assert "Equipment" in html and "Created" in html  # the audit history
    theirs = record(other_seller, other_customer)
    assert seller_client.get(reverse("order_detail", args=[theirs.pk])).status_code == 404
    assert seller_client.get(reverse("order_detail", args=[999999])).status_code == 404


def test_delete_and_restore_from_the_deleted_orders_page(seller_client, seller, other_seller, customer,
                                                         other_customer, catalogue, client):
    order = record(seller, customer, external_id="SHOP-9")
    assert seller_client.get(reverse("order_delete", args=[order.pk])).status_code == 405
    response = seller_client.post(reverse("order_delete", args=[order.pk]))
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).deleted_at is not None
    assert not Event.objects.filter(kind="purchase").exists()
    html = seller_client.get(reverse("order_trash")).content.decode()
    assert "SHOP-9" in html and reverse("order_restore", args=[order.pk]) in html

    client.force_login(other_seller)
    assert client.post(reverse("order_restore", args=[order.pk])).status_code == 404
    client.force_login(seller)
    response = client.post(reverse("order_restore", args=[order.pk]))
    assert response.status_code == 302 and Order.objects.get(pk=order.pk).deleted_at is None
    assert Event.objects.filter(kind="purchase", payload__order=order.pk).count() == 1


def test_another_teams_order_cannot_be_deleted(seller_client, other_seller, other_customer, catalogue):
    theirs = record(other_seller, other_customer)
    assert seller_client.post(reverse("order_delete", args=[theirs.pk])).status_code == 404
    assert Order.objects.get(pk=theirs.pk).deleted_at is None


# --- what a customer buys ----------------------------------------------------------------------

def test_categories_a_contact_buys_are_counted_per_category_and_currency(seller, customer, catalogue):
    record(seller, customer, ordered_at="2026-01-10")  # beans x2 + grinder
    record(seller, customer, ordered_at="2026-02-10", lines=[{"sku": "BEAN-1", "quantity": "1.5", "unit_price": "20"}])
    record(seller, customer, ordered_at="2026-03-10", currency="USD",
           lines=[{"sku": "BEAN-1", "quantity": 1, "unit_price": "22.00"}, {"sku": "MUG-3", "quantity": 4,
                                                                             "unit_price": "5"}])
    deleted = record(seller, customer, ordered_at="2026-04-10")
    services.delete_order(actor=seller, order=deleted)

    bought = {c.name: c for c in selectors.contact_categories(seller, customer.pk)}
    coffee = bought["Coffee"]
    assert coffee.orders == 3 and coffee.quantity == Decimal("4.5")
    assert coffee.totals == {"EUR": Decimal("67.00"), "USD": Decimal("22.00")}  # never added across currencies
    assert coffee.last_purchased == dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    assert bought["Equipment"].orders == 1 and bought["Equipment"].totals == {"EUR": Decimal("240.00")}
    assert bought["Uncategorised"].quantity == 4 and bought["Uncategorised"].totals == {"USD": Decimal("20.00")}
    assert list(bought) == ["Coffee", "Uncategorised", "Equipment"]  # most orders first, then latest

    history = selectors.contact_purchases(seller, customer.pk)
    assert history.count == 3 and history.totals == {"EUR": Decimal("307.00"), "USD": Decimal("42.00")}
    assert [o.ordered_at.month for o in history.orders] == [3, 2, 1]


def test_purchases_of_a_contact_the_user_cannot_see_are_hidden(seller, other_customer):
    from rapport.core.errors import NotVisible

    with pytest.raises(NotVisible):
        selectors.contact_purchases(seller, other_customer.pk)
    with pytest.raises(NotVisible):
        selectors.contact_categories(seller, other_customer.pk)


def test_contact_page_shows_purchases_and_the_categories_they_buy(seller_client, seller, customer, catalogue):
    html = seller_client.get(reverse("contact_detail", args=[customer.pk])).content.decode()
    assert "Purchases" in html and "No purchases recorded yet" in html
    order = record(seller, customer)
    html = seller_client.get(reverse("contact_detail", args=[customer.pk])).content.decode()
    assert "What they buy" in html and "Coffee" in html and "Equipment" in html
    assert "1 order" in html and "277.00 EUR" in html
    assert reverse("order_detail", args=[order.pk]) in html


def test_contact_page_links_to_all_orders_when_there_are_more(seller_client, seller, customer, catalogue):
    for _ in range(selectors.HISTORY_ROWS + 1):
        record(seller, customer)
    html = seller_client.get(reverse("contact_detail", args=[customer.pk])).content.decode()
    assert f"{reverse('order_list')}?contact={customer.pk}" in html and "All 11 orders" in html


def test_company_page_shows_its_purchases(seller_client, seller, customer, catalogue):
    record(seller, customer)  # the contact's company is the order's company
    html = seller_client.get(reverse("company_detail", args=[customer.company_id])).content.decode()
    assert "Purchases" in html and "Coffee" in html and "277.00 EUR" in html


def test_contact_and_company_page_query_counts_do_not_grow_with_orders(seller_client, seller, customer, catalogue,
                                                                        django_assert_max_num_queries):
    record(seller, customer)
    with django_assert_max_num_queries(50) as contact_page:
        assert seller_client.get(reverse("contact_detail", args=[customer.pk])).status_code == 200
    with django_assert_max_num_queries(50) as company_page:
        assert seller_client.get(reverse("company_detail", args=[customer.company_id])).status_code == 200
    for n in range(15):
        record(seller, customer, currency="USD" if n % 2 else "EUR", lines=[
            {"sku": "BEAN-1", "quantity": 1, "unit_price": "10"}, {"sku": "MUG-3", "quantity": 2, "unit_price": "3"}])
    with django_assert_max_num_queries(len(contact_page.captured_queries)):
        response = seller_client.get(reverse("contact_detail", args=[customer.pk]))
    assert response.context["purchases"].count == 16
    with django_assert_max_num_queries(len(company_page.captured_queries)):
        assert seller_client.get(reverse("company_detail", args=[customer.company_id])).status_code == 200
