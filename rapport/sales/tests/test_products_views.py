"""Product, category, exchange-rate and cost-rate pages: what each role sees, forms and their errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from rapport.sales.models import CostRate, ExchangeRate, Product, ProductCategory
from rapport.sales.selectors import products as selectors
from rapport.sales.services import products as services
from rapport.sales.services import rates as rate_services

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(db):
    """as_user(user) -> a browser (its own client) signed in as that user."""
    def login(user):
        browser = Client()
        browser.force_login(user)
        return browser
    return login


@pytest.fixture(autouse=True)
def _euro_base(settings):
    settings.RAPPORT_BASE_CURRENCY = "EUR"


def make(actor, sku, name="Thing", **data):
    return services.create_product(actor=actor, data={"sku": sku, "name": name, **data})


def post(client, url, data):
    return client.post(url, data, secure=True)


def get(client, url, params=None):
    return client.get(url, params or {}, secure=True)


def product_post(**overrides):
    data = {"sku": "MUG-1", "name": "Mug", "category": "", "active": "on", "description": "",
            "price_currency_0": "EUR", "price_amount_0": "7.50",
            "price_currency_1": "", "price_amount_1": "", "price_currency_2": "", "price_amount_2": ""}
    data.update(overrides)
    return data


# --- list ---------------------------------------------------------------------------------------

def test_sellers_browse_the_catalogue_without_edit_buttons(as_user, seller, manager):
    make(manager, "MUG-1", "Mug", prices={"EUR": "7.5", "JPY": "1200"})
    response = get(as_user(seller), reverse("product_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "MUG-1" in html and "7.50 EUR" in html and "1,200 JPY" in html
    assert reverse("product_create") not in html
    assert reverse("product_exchange_rates") in html  # sales settings are one tab away
    assert reverse("product_cost_rates") not in html


def test_managers_see_the_new_product_button_and_settings_tabs(as_user, manager):
    html = get(as_user(manager), reverse("product_list")).content.decode()
    assert reverse("product_create") in html and reverse("product_cost_rates") in html
    assert "No products yet" in html


def test_list_filters_and_reports_bad_filters(as_user, seller, manager):
    hats = services.create_category(actor=manager, name="Hats")
    make(manager, "HAT-1", "Bowler", category=hats.pk)
    make(manager, "MUG-1", "Mug")
    make(manager, "MUG-2", "Old mug", active=False)
    client = as_user(seller)
    html = get(client, reverse("product_list"), {"q": "mug"}).content.decode()
    assert "MUG-1" in html and "HAT-1" not in html and "MUG-2" not in html
    html = get(client, reverse("product_list"), {"active": "no"}).content.decode()
    assert "MUG-2" in html and "MUG-1" not in html
    html = get(client, reverse("product_list"), {"category": hats.pk}).content.decode()
    assert "HAT-1" in html and "MUG-1" not in html
    html = get(client, reverse("product_list"), {"active": "maybe"}).content.decode()
    assert "active: choose yes, no or all" in html


def test_list_query_count_does_not_grow_with_rows(as_user, seller, manager, django_assert_max_num_queries):
    client = as_user(seller)
    for i in range(3):
        make(manager, f"P-{i:02}", prices={"EUR": "1"})
    with django_assert_max_num_queries(20) as few:
        get(client, reverse("product_list"))
    cat = services.create_category(actor=manager, name="Bulk")
    for i in range(3, 40):
        make(manager, f"P-{i:02}", category=cat.pk, prices={"EUR": "1", "USD": "2", "GBP": "3"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = get(client, reverse("product_list"))
    assert response.status_code == 200 and len(response.context["rows"]) == 40


def test_list_pages_with_a_cursor(as_user, seller, manager):
    for i in range(25):
        make(manager, f"P-{i:02}")
    client, seen, params = as_user(seller), [], {"size": 10}
    for _ in range(5):
        page = get(client, reverse("product_list"), params).context["page"]
        seen += [p.sku for p in page.items]
        if not page.next_cursor:
            break
        params = {"size": 10, "cursor": page.next_cursor}
    assert seen == [f"P-{i:02}" for i in range(25)]


# --- create and edit ----------------------------------------------------------------------------

def test_manager_creates_a_product_with_its_price_book(as_user, manager):
    hats = services.create_category(actor=manager, name="Hats")
    response = post(as_user(manager), reverse("product_create"), product_post(
        category=str(hats.pk), price_currency_1="jpy", price_amount_1="1200"))
    product = Product.objects.get(sku="MUG-1")
    assert response.status_code == 302 and response["Location"] == reverse("product_detail", args=[product.pk])
    assert product.category == hats and product.active
    assert selectors.prices_of(product) == {"EUR": D("7.50"), "JPY": D("1200")}


@pytest.mark.parametrize("overrides, field, message", [
    ({"price_currency_0": "XYZ"}, "price_currency_0", "unknown currency &#x27;XYZ&#x27;"),
    ({"price_amount_0": "-1"}, "price_amount_0", "must not be negative"),
    ({"price_amount_0": "7.505"}, "price_amount_0", "at most 2 decimal places for EUR"),
    ({"price_currency_0": "JPY", "price_amount_0": "1200.5"}, "price_amount_0", "no decimal places for JPY"),
    ({"price_amount_0": "seven"}, "price_amount_0", "not a number"),
    ({"price_amount_0": ""}, "price_amount_0", "enter the EUR price, or clear the currency"),
    ({"price_currency_0": "", "price_amount_0": "3"}, "price_currency_0", "choose a currency for this price"),
    ({"price_currency_1": "eur", "price_amount_1": "8"}, "price_currency_1", "EUR is already priced above"),
    ({"sku": ""}, "sku", "a product needs a SKU"),
    ({"name": ""}, "name", "a product needs a name"),
])
def test_the_form_puts_each_error_on_its_field(as_user, manager, overrides, field, message):
    response = post(as_user(manager), reverse("product_create"), product_post(**overrides))
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors, form.errors
    html = response.content.decode()
    assert message in html
    assert f'id="id_{field}_error"' in html
    assert not Product.objects.exists()
    assert form.price_row_count == 4  # the three rows sent back, and room for one more
    # What was typed stays in the form.
    if overrides.get("price_currency_0"):
        assert f'value="{overrides["price_currency_0"]}"' in html


def test_a_duplicate_sku_is_reported_on_the_sku_field(as_user, manager):
    make(manager, "MUG-1")
    response = post(as_user(manager), reverse("product_create"), product_post(sku="mug-1"))
    assert response.status_code == 422
    assert response.context["form"].errors["sku"] == ["another product already has SKU 'mug-1'"]


def test_sellers_may_not_open_or_post_the_product_form(as_user, seller, manager):
    product = make(manager, "MUG-1")
    client = as_user(seller)
    assert get(client, reverse("product_create")).status_code == 403
    assert post(client, reverse("product_create"), product_post(sku="NEW-1")).status_code == 403
    assert get(client, reverse("product_edit", args=[product.pk])).status_code == 403
    assert post(client, reverse("product_delete", args=[product.pk]), {}).status_code == 403
    assert post(client, reverse("product_set_active", args=[product.pk]), {"active": "0"}).status_code == 403
    product.refresh_from_db()
    assert product.deleted_at is None and product.active
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_edit_shows_the_prices_and_clearing_a_row_removes_that_currency(as_user, manager):
    product = make(manager, "MUG-1", "Mug", prices={"EUR": "7.5", "USD": "8"})
    client = as_user(manager)
    html = get(client, reverse("product_edit", args=[product.pk])).content.decode()
    assert 'value="EUR"' in html and 'value="7.50"' in html and 'value="USD"' in html
    response = post(client, reverse("product_edit", args=[product.pk]), product_post(
        name="Big mug", price_currency_0="EUR", price_amount_0="9", price_currency_1="", price_amount_1="",
        price_currency_2="GBP", price_amount_2="6.25"))
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "Big mug"
    assert selectors.prices_of(product) == {"EUR": D("9.00"), "GBP": D("6.25")}


def test_posting_more_price_rows_than_the_form_showed_keeps_them_all(as_user, manager):
    data = product_post()
    for i, code in enumerate(["USD", "GBP", "CHF", "SEK", "NOK"], start=1):
        data[f"price_currency_{i}"], data[f"price_amount_{i}"] = code, "5"
    assert post(as_user(manager), reverse("product_create"), data).status_code == 302
    assert len(selectors.prices_of(Product.objects.get(sku="MUG-1"))) == 6


def test_detail_shows_prices_history_and_buttons_by_role(as_user, manager, seller):
    product = make(manager, "MUG-1", "Mug", prices={"EUR": "7.5"})
    services.update_product(actor=manager, product=product, data={"prices": {"EUR": "8"}})
    html = get(as_user(seller), reverse("product_detail", args=[product.pk])).content.decode()
    assert "8.00 EUR" in html and "History" in html and "prices" in html
    assert reverse("product_edit", args=[product.pk]) not in html
    html = get(as_user(manager), reverse("product_detail", args=[product.pk])).content.decode()
    assert reverse("product_edit", args=[product.pk]) in html
    assert get(as_user(manager), reverse("product_detail", args=[99999])).status_code == 404


def test_deactivate_delete_and_restore_through_the_pages(as_user, manager):
    product = make(manager, "MUG-1")
    client = as_user(manager)
    post(client, reverse("product_set_active", args=[product.pk]), {"active": "0"})
    product.refresh_from_db()
    assert product.active is False
    post(client, reverse("product_delete", args=[product.pk]), {})
    assert get(client, reverse("product_detail", args=[product.pk])).status_code == 404
    assert "MUG-1" in get(client, reverse("product_trash")).content.decode()
    response = post(client, reverse("product_restore", args=[product.pk]), {})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.deleted_at is None


def test_restore_when_the_sku_was_taken_says_why(as_user, manager):
    product = make(manager, "MUG-1")
    services.delete_product(actor=manager, product=product)
    make(manager, "MUG-1", "New mug")
    client = as_user(manager)
    response = client.post(reverse("product_restore", args=[product.pk]), {}, secure=True, follow=True)
    assert "a live product already uses SKU" in response.content.decode()


# --- categories ---------------------------------------------------------------------------------

def test_categories_page_adds_renames_and_refuses_to_delete_a_used_category(as_user, manager, seller):
    client = as_user(manager)
    assert post(client, reverse("product_categories"), {"name": "Hats"}).status_code == 302
    hats = ProductCategory.objects.get(name="Hats")
    response = post(client, reverse("product_categories"), {"name": "hats"})
    assert response.status_code == 422
    assert "there is already a category &#x27;hats&#x27;" in response.content.decode()
    post(client, reverse("product_category_rename", args=[hats.pk]), {"name": "Headwear"})
    hats.refresh_from_db()
    assert hats.name == "Headwear"
    make(manager, "HAT-1", category=hats.pk)
    response = client.post(reverse("product_category_delete", args=[hats.pk]), {}, secure=True, follow=True)
    assert "1 product still in" in response.content.decode()
    assert ProductCategory.objects.filter(pk=hats.pk).exists()

    seller_client = as_user(seller)
    html = get(seller_client, reverse("product_categories")).content.decode()
    assert "Headwear" in html and "Add category" not in html
    assert post(seller_client, reverse("product_categories"), {"name": "Socks"}).status_code == 403
    assert post(seller_client, reverse("product_category_delete", args=[hats.pk]), {}).status_code == 403


# --- exchange rates -----------------------------------------------------------------------------

def test_admin_adds_a_rate_and_everyone_reads_it(as_user, admin_user, seller):
    client = as_user(admin_user)
    response = post(client, reverse("product_exchange_rates"),
                    {"currency": "usd", "rate": "0.9215", "valid_from": "2024-03-01"})
    assert response.status_code == 302
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.rate) == ("USD", D("0.9215"))
    html = get(as_user(seller), reverse("product_exchange_rates")).content.decode()
    assert "USD" in html and "0.9215" in html and "Add rate" not in html
    assert post(as_user(seller), reverse("product_exchange_rates"),
                {"currency": "GBP", "rate": "1.1", "valid_from": "2024-03-01"}).status_code == 403
    assert post(as_user(seller), reverse("product_exchange_rate_delete", args=[rate.pk]), {}).status_code == 403
    assert ExchangeRate.objects.count() == 1


@pytest.mark.parametrize("data, field, message", [
    ({"currency": "XYZ", "rate": "1", "valid_from": "2024-01-01"}, "currency", "unknown currency"),
    ({"currency": "EUR", "rate": "1", "valid_from": "2024-01-01"}, "currency", "EUR is the base currency"),
    ({"currency": "USD", "rate": "-2", "valid_from": "2024-01-01"}, "rate", "must be more than zero"),
    ({"currency": "USD", "rate": "one", "valid_from": "2024-01-01"}, "rate", "not a number"),
    ({"currency": "USD", "rate": "1", "valid_from": "1 March"}, "valid_from", "use a date like 2024-01-31"),
])
def test_bad_rates_are_shown_on_their_field(as_user, admin_user, data, field, message):
    response = post(as_user(admin_user), reverse("product_exchange_rates"), data)
    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    assert not ExchangeRate.objects.exists()


def test_admin_deletes_a_rate_and_the_history_remembers_it(as_user, admin_user):
    rate = rate_services.add_exchange_rate(actor=admin_user, currency="USD", rate="0.9", valid_from="2024-01-01")
    client = as_user(admin_user)
    post(client, reverse("product_exchange_rate_delete", args=[rate.pk]), {})
    assert not ExchangeRate.objects.exists()
    html = get(client, reverse("product_exchange_rates")).content.decode()
    assert "Deleted" in html and "0.9" in html


def test_rate_list_filters_by_currency_and_reports_unknown_codes(as_user, admin_user, seller):
    rate_services.add_exchange_rate(actor=admin_user, currency="USD", rate="0.9", valid_from="2024-01-01")
    rate_services.add_exchange_rate(actor=admin_user, currency="GBP", rate="1.2", valid_from="2024-01-01")
    response = get(as_user(seller), reverse("product_exchange_rates"), {"currency": "gbp"})
    assert [r.currency for r in response.context["page"].items] == ["GBP"]
    response = get(as_user(seller), reverse("product_exchange_rates"), {"currency": "QQQ"})
    assert "unknown currency" in response.content.decode()


# --- cost rates ---------------------------------------------------------------------------------

def test_admin_sets_cost_rates_managers_read_them_sellers_do_not_see_them(as_user, admin_user, manager, seller):
    client = as_user(admin_user)
    response = post(client, reverse("product_cost_rates"), {"role": "seller", "cost_per_hour": "55", "currency": "eur"})
    assert response.status_code == 302
    assert CostRate.objects.get(role="seller").cost_per_hour == D("55")
    html = get(as_user(manager), reverse("product_cost_rates")).content.decode()
    assert "55.00 EUR" in html and 'name="cost_per_hour"' not in html
    assert post(as_user(manager), reverse("product_cost_rates"),
                {"role": "seller", "cost_per_hour": "1", "currency": "EUR"}).status_code == 403
    assert get(as_user(seller), reverse("product_cost_rates")).status_code == 404
    post(client, reverse("product_cost_rate_remove"), {"role": "seller"})
    assert not CostRate.objects.exists()


@pytest.mark.parametrize("data, field, message", [
    ({"role": "seller", "cost_per_hour": "-5", "currency": "EUR"}, "cost_per_hour", "must not be negative"),
    ({"role": "seller", "cost_per_hour": "5.555", "currency": "EUR"}, "cost_per_hour", "at most 2 decimal places"),
    ({"role": "seller", "cost_per_hour": "5", "currency": "ABC"}, "currency", "unknown currency"),
])
def test_bad_cost_rates_are_shown_on_the_role_row(as_user, admin_user, data, field, message):
    response = post(as_user(admin_user), reverse("product_cost_rates"), data)
    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    html = response.content.decode()
    prefix = "cost" if field == "cost_per_hour" else "currency"
    assert f'id="{prefix}-seller-error"' in html
    assert not CostRate.objects.exists()
