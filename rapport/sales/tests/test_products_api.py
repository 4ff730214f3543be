"""/api/v1/products, /products/categories and /exchange-rates: good and bad input, roles, pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.api.testing import field_errors
from rapport.core.models import AuditEntry
from rapport.sales.models import ExchangeRate, Product
from rapport.sales.services import products as services

pytestmark = pytest.mark.django_db


@pytest.fixture
def hardware(admin_user):
    return services.create_category(actor=admin_user, name="Hardware")


def make(actor, sku, name="Thing", **data):
    return services.create_product(actor=actor, data={"sku": sku, "name": name, **data})


# --- products -----------------------------------------------------------------------------------

def test_manager_creates_reads_updates_and_deletes_a_product(manager, api_as, hardware):
    api = api_as(manager)
    response = api.post("/products", {"sku": " MUG-1 ", "name": "Mug", "category": hardware.pk,
                                      "prices": {"eur": "7.5", "JPY": 1200, "USD": 8.99}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sku"] == "MUG-1" and body["category"] == hardware.pk and body["category_name"] == "Hardware"
    assert body["prices"] == {"EUR": "7.50", "JPY": "1200", "USD": "8.99"}
    assert body["active"] is True and body["created_at"].endswith("Z")
    entry = AuditEntry.objects.get(record_type="sales.product", record_id=body["id"])
    assert (entry.action, entry.source, entry.actor) == ("create", "api", manager)

    assert api.get(f"/products/{body['id']}").json() == body

    updated = api.patch(f"/products/{body['id']}", {"name": "Big mug", "active": False, "prices": {"EUR": "9"}})
    assert updated.status_code == 200, updated.content
    assert updated.json()["name"] == "Big mug" and updated.json()["active"] is False
    assert updated.json()["prices"] == {"EUR": "9.00"}

    assert api.delete(f"/products/{body['id']}").status_code == 204
    assert api.get(f"/products/{body['id']}").status_code == 404
    assert Product.objects.get(pk=body["id"]).deleted_at is not None


def test_every_signed_in_role_reads_products_but_only_admins_and_managers_write(seller, marketer, manager, api_as):
    product = make(manager, "PEN-1")
    for reader in (seller, marketer):
        api = api_as(reader)
        assert api.get("/products").json()["items"][0]["sku"] == "PEN-1"
        assert api.get(f"/products/{product.pk}").status_code == 200
        refused = [
            api.post("/products", {"sku": "X-1", "name": "X"}),
            api.patch(f"/products/{product.pk}", {"name": "Pencil"}),
            api.delete(f"/products/{product.pk}"),
            api.post("/products/categories", {"name": "Stationery"}),
        ]
        for response in refused:
            assert response.status_code == 403, response.content
            assert response.json() == {"detail": "only admins and managers change the product catalogue"}
    product.refresh_from_db()
    assert product.name == "Thing" and product.deleted_at is None


def test_anonymous_callers_are_refused(client):
    assert client.get("/api/v1/products", secure=True).status_code == 401
    assert client.get("/api/v1/exchange-rates", secure=True).status_code == 401


@pytest.mark.parametrize("payload, errors", [
    ({"sku": "A", "name": "A", "prices": {"XYZ": "1"}}, {("body", "prices", "XYZ"): "unknown currency 'XYZ'"}),
    ({"sku": "A", "name": "A", "prices": {"EUR": "-1"}}, {("body", "prices", "EUR"): "must not be negative"}),
    ({"sku": "A", "name": "A", "prices": {"EUR": "1.001"}},
     {("body", "prices", "EUR"): "at most 2 decimal places for EUR"}),
    ({"sku": "A", "name": "A", "prices": {"KWD": 1.0001}},
     {("body", "prices", "KWD"): "at most 3 decimal places for KWD"}),
    ({"sku": "A", "name": "A", "prices": {"EUR": "ten"}}, {("body", "prices", "EUR"): "not a number"}),
    ({"sku": "A", "name": "A", "prices": {"EUR": True}}, {("body", "prices", "EUR"): "not a number"}),
    ({"sku": "A", "name": "A", "prices": {"EUR": None}}, {("body", "prices", "EUR"): "not a number"}),
    ({"sku": "", "name": "A"}, {("body", "sku"): "a product needs a SKU"}),
    ({"sku": "A", "name": "A", "category": 12345}, {("body", "category"): "no such category"}),
])
def test_create_rejects_bad_input_with_field_errors(manager, api_as, payload, errors):
    response = api_as(manager).post("/products", payload)
    assert field_errors(response) == errors
    assert not Product.objects.exists()


def test_create_rejects_a_duplicate_sku_and_unknown_fields(manager, api_as):
    make(manager, "DUP-1")
    api = api_as(manager)
    assert field_errors(api.post("/products", {"sku": "dup-1", "name": "Again"})) == {
        ("body", "sku"): "another product already has SKU 'dup-1'"}
    errors = field_errors(api.post("/products", {"sku": "NEW-1", "name": "New", "team": 3}))
    assert ("body", "team") in errors
    errors = field_errors(api.post("/products", {"name": "No SKU"}))
    assert errors == {("body", "sku"): "a product needs a SKU"}


def test_update_rejects_bad_input_and_changes_nothing(manager, api_as):
    product = make(manager, "CUP-1", prices={"EUR": "3"})
    make(manager, "CUP-2")
    api = api_as(manager)
    assert field_errors(api.patch(f"/products/{product.pk}", {"sku": "cup-2"})) == {
        ("body", "sku"): "another product already has SKU 'cup-2'"}
    assert field_errors(api.patch(f"/products/{product.pk}", {"prices": {"JPY": "10.5"}})) == {
        ("body", "prices", "JPY"): "no decimal places for JPY"}
    assert field_errors(api.patch(f"/products/{product.pk}", {"active": "maybe"}))
    assert api.get(f"/products/{product.pk}").json()["prices"] == {"EUR": "3.00"}
    assert api.patch("/products/999999", {"name": "Ghost"}).status_code == 404


def test_list_filters_by_search_category_and_active(seller, manager, api_as, hardware):
    make(manager, "MUG-1", "Mug", category=hardware.pk)
    make(manager, "MUG-2", "Mug large", active=False)
    make(manager, "TEE-1", "T-shirt")
    make(manager, "BAG-1", "Mugwort tea bag")
    api = api_as(seller)

    def skus(**params):
        response = api.get("/products", params)
        assert response.status_code == 200, response.content
        return [item["sku"] for item in response.json()["items"]]

    assert skus() == ["BAG-1", "MUG-1", "TEE-1"]
    assert skus(q="mug") == ["BAG-1", "MUG-1"]  # SKU prefix or name prefix, any case
    assert skus(q="mug", active="all") == ["BAG-1", "MUG-1", "MUG-2"]
    assert skus(active="no") == ["MUG-2"]
    assert skus(category=str(hardware.pk)) == ["MUG-1"]
    assert skus(category="none") == ["BAG-1", "TEE-1"]
    assert skus(sort="-sku") == ["TEE-1", "MUG-1", "BAG-1"]
    assert skus(q="shirt") == []


@pytest.mark.parametrize("params, field", [
    ({"active": "sometimes"}, "active"),
    ({"category": "hardware"}, "category"),
    ({"sort": "price"}, "sort"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"colour": "red"}, "colour"),
])
def test_list_rejects_bad_filters_naming_them(seller, api_as, params, field):
    errors = field_errors(api_as(seller).get("/products", params))
    assert ("query", field) in errors


def test_list_pages_with_a_cursor_and_a_constant_number_of_queries(seller, manager, api_as,
                                                                   django_assert_max_num_queries):
    for i in range(3):
        make(manager, f"P-{i:03}", prices={"EUR": "1", "USD": "2"})
    api = api_as(seller)
    api.get("/products")  # token and profile lookups warm up
    with CaptureQueriesContext(connection) as three_rows:
        api.get("/products")
    for i in range(3, 25):
        make(manager, f"P-{i:03}", prices={"EUR": "1", "USD": "2", "GBP": "3"})
    with django_assert_max_num_queries(len(three_rows)):
        first = api.get("/products", {"limit": 10}).json()
    assert len(first["items"]) == 10 and first["next_cursor"]
    seen = [item["sku"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("/products", {"limit": 10, "cursor": cursor}).json()
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"P-{i:03}" for i in range(25)]


# --- categories ---------------------------------------------------------------------------------

def test_categories_list_create_rename_delete(manager, seller, api_as, hardware):
    api = api_as(manager)
    created = api.post("/products/categories", {"name": "Apparel"})
    assert created.status_code == 201 and created.json()["name"] == "Apparel"
    assert [c["name"] for c in api_as(seller).get("/products/categories").json()] == ["Apparel", "Hardware"]
    assert field_errors(api.post("/products/categories", {"name": "apparel"})) == {
        ("body", "name"): "there is already a category 'apparel'"}
    assert field_errors(api.post("/products/categories", {"name": " "})) == {("body", "name"): "a category needs a name"}
    renamed = api.patch(f"/products/categories/{created.json()['id']}", {"name": "Clothing"})
    assert renamed.json()["name"] == "Clothing"
    make(manager, "HAT-1", category=hardware.pk)
    assert field_errors(api.delete(f"/products/categories/{hardware.pk}")) == {
        ("body", "category"): "1 product still in 'Hardware'; move them to another category first"}
    assert api.delete(f"/products/categories/{created.json()['id']}").status_code == 204
    assert api.delete("/products/categories/99999").status_code == 404


# --- exchange rates -----------------------------------------------------------------------------

def test_admin_creates_rates_everyone_lists_them(admin_user, seller, api_as, settings):
    settings.RAPPORT_BASE_CURRENCY = "EUR"
    admin = api_as(admin_user)
    created = admin.post("/exchange-rates", {"currency": "usd", "rate": "0.9215", "valid_from": "2024-03-01"})
    assert created.status_code == 201, created.content
    assert created.json()["rate"] == "0.9215" and created.json()["base_currency"] == "EUR"
    admin.post("/exchange-rates", {"currency": "USD", "rate": 0.93, "valid_from": "2024-04-01"})
    admin.post("/exchange-rates", {"currency": "GBP", "rate": "1.17", "valid_from": "2024-04-01"})
    listed = api_as(seller).get("/exchange-rates", {"currency": "USD"}).json()
    assert [(r["valid_from"], r["rate"]) for r in listed["items"]] == [("2024-04-01", "0.93"), ("2024-03-01", "0.9215")]
    assert field_errors(api_as(seller).get("/exchange-rates", {"currency": "XYZ"})) == {
        ("query", "currency"): "unknown currency 'XYZ'"}


@pytest.mark.parametrize("payload, field, reason", [
    ({"currency": "XYZ", "rate": "1", "valid_from": "2024-01-01"}, "currency", "unknown currency 'XYZ'"),
    ({"currency": "EUR", "rate": "1", "valid_from": "2024-01-01"}, "currency", "EUR is the base currency: it needs no rate"),
    ({"currency": "USD", "rate": "-1", "valid_from": "2024-01-01"}, "rate", "must be more than zero"),
    ({"currency": "USD", "rate": "lots", "valid_from": "2024-01-01"}, "rate", "not a number"),
    ({"currency": "USD", "rate": "0.12345678901", "valid_from": "2024-01-01"}, "rate", "at most 10 decimal places"),
    ({"currency": "USD", "rate": "1", "valid_from": "01/02/2024"}, "valid_from", None),
    ({"currency": "USD", "rate": "1"}, "valid_from", None),
])
def test_bad_rates_get_field_errors(admin_user, api_as, settings, payload, field, reason):
    settings.RAPPORT_BASE_CURRENCY = "EUR"
    errors = field_errors(api_as(admin_user).post("/exchange-rates", payload))
    assert ("body", field) in errors
    if reason:
        assert errors[("body", field)] == reason
    assert not ExchangeRate.objects.exists()


def test_only_admins_create_or_delete_rates(admin_user, manager, api_as):
    refused = api_as(manager).post("/exchange-rates", {"currency": "USD", "rate": "1", "valid_from": "2024-01-01"})
    assert refused.status_code == 403
    created = api_as(admin_user).post("/exchange-rates", {"currency": "USD", "rate": "1", "valid_from": "2024-01-01"})
    rate_id = created.json()["id"]
    assert api_as(manager).delete(f"/exchange-rates/{rate_id}").status_code == 403
    assert api_as(admin_user).delete(f"/exchange-rates/{rate_id}").status_code == 204
    assert api_as(admin_user).delete(f"/exchange-rates/{rate_id}").status_code == 404
    duplicate = {"currency": "GBP", "rate": "1.1", "valid_from": "2024-01-01"}
    api_as(admin_user).post("/exchange-rates", duplicate)
    assert field_errors(api_as(admin_user).post("/exchange-rates", duplicate)) == {
        ("body", "valid_from"): "GBP already has a rate from 2024-01-01; delete that one to change it"}
