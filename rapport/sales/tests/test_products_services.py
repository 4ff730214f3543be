"""Product catalogue services: who may change it, what is accepted, what is audited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.sales.models import Product, ProductCategory, ProductPrice
from rapport.sales.selectors import products as selectors
from rapport.sales.services import products as services

D = Decimal
pytestmark = pytest.mark.django_db


def entries(record):
    return list(AuditEntry.objects.filter(record_type=record._meta.label_lower, record_id=record.pk).order_by("id"))


@pytest.fixture
def hardware(admin_user):
    return services.create_category(actor=admin_user, name="Hardware")


@pytest.fixture
def widget(manager, hardware):
    return services.create_product(actor=manager, data={
        "sku": "WID-1", "name": "Widget", "category": hardware.pk, "prices": {"EUR": "10", "usd": "12.5"},
    })


# --- who may write ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin_user", "manager"])
def test_admins_and_managers_create_products(request, who):
    actor = request.getfixturevalue(who)
    product = services.create_product(actor=actor, data={"sku": "A-1", "name": "Anything"})
    assert product.created_by == actor and product.active


@pytest.mark.parametrize("who", ["seller", "marketer"])
def test_sellers_and_marketers_may_not_change_the_catalogue(request, who, widget, hardware):
    actor = request.getfixturevalue(who)
    attempts = [
        lambda: services.create_product(actor=actor, data={"sku": "X-1", "name": "X"}),
        lambda: services.update_product(actor=actor, product=widget, data={"name": "Cheaper"}),
        lambda: services.deactivate_product(actor=actor, product=widget),
        lambda: services.set_product_price(actor=actor, product=widget, currency="EUR", unit_price="1"),
        lambda: services.remove_product_price(actor=actor, product=widget, currency="EUR"),
        lambda: services.delete_product(actor=actor, product=widget),
        lambda: services.restore_product(actor=actor, product_id=widget.pk),
        lambda: services.create_category(actor=actor, name="Software"),
        lambda: services.rename_category(actor=actor, category=hardware, name="Kit"),
        lambda: services.delete_category(actor=actor, category=hardware),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed, match="only admins and managers"):
            attempt()
    widget.refresh_from_db()
    assert (widget.name, widget.active, widget.deleted_at) == ("Widget", True, None)
    assert selectors.prices_of(widget) == {"EUR": D("10.00"), "USD": D("12.50")}
    assert list(ProductCategory.objects.values_list("name", flat=True)) == ["Hardware"]


def test_everyone_signed_in_reads_products_but_not_anonymous_or_inactive_users(seller, marketer, widget):
    from django.contrib.auth.models import AnonymousUser

    assert selectors.get_product(seller, widget.pk) == widget
    assert selectors.get_product(marketer, widget.pk) == widget
    with pytest.raises(NotVisible):
        selectors.get_product(AnonymousUser(), widget.pk)
    seller.is_active = False
    with pytest.raises(NotVisible):
        selectors.get_product(seller, widget.pk)
    assert not selectors.may_manage_products(AnonymousUser())


# --- create -------------------------------------------------------------------------------------

def test_create_stores_prices_in_minor_units_and_audits_them(widget, manager, hardware):
    assert widget.sku == "WID-1" and widget.category == hardware
    assert dict(ProductPrice.objects.filter(product=widget).values_list("currency", "unit_price")) == {
        "EUR": D("10"), "USD": D("12.5")}
    (entry,) = entries(widget)
    assert (entry.action, entry.actor, entry.source) == ("create", manager, "web")
    assert entry.changes["sku"] == [None, "WID-1"]
    assert entry.changes["category"] == [None, hardware.pk]
    assert entry.changes["prices"] == [None, {"EUR": "10.00", "USD": "12.50"}]


@pytest.mark.parametrize("data, errors", [
    ({"name": "No SKU"}, {"sku": "a product needs a SKU"}),
    ({"sku": "  ", "name": "Blank SKU"}, {"sku": "a product needs a SKU"}),
    ({"sku": "S-1"}, {"name": "a product needs a name"}),
    ({"sku": "S" * 65, "name": "Long"}, {"sku": "at most 64 characters"}),
    ({"sku": "S-1\nS-2", "name": "Two lines"}, {"sku": "a SKU is one line of text"}),
    ({"sku": "S-1", "name": "N" * 201}, {"name": "at most 200 characters"}),
    ({"sku": "S-1", "name": "N", "active": "yes"}, {"active": "must be true or false"}),
    ({"sku": "S-1", "name": "N", "category": 999}, {"category": "no such category"}),
    ({"sku": "S-1", "name": "N", "category": "hardware"}, {"category": "no such category"}),
    ({"sku": "S-1", "name": "N", "colour": "red"}, {"colour": "unknown field"}),
    ({"sku": "S-1", "name": "N", "prices": {"XYZ": "10"}}, {"prices.XYZ": "unknown currency 'XYZ'"}),
    ({"sku": "S-1", "name": "N", "prices": {"EUR": "-1"}}, {"prices.EUR": "must not be negative"}),
    ({"sku": "S-1", "name": "N", "prices": {"EUR": "1.005"}}, {"prices.EUR": "at most 2 decimal places for EUR"}),
    ({"sku": "S-1", "name": "N", "prices": {"JPY": "100.5"}}, {"prices.JPY": "no decimal places for JPY"}),
    ({"sku": "S-1", "name": "N", "prices": {"EUR": "ten"}}, {"prices.EUR": "not a number"}),
    ({"sku": "S-1", "name": "N", "prices": {"EUR": "1", "eur": "2"}}, {"prices.eur": "EUR is priced twice"}),
    ({"sku": "S-1", "name": "N", "prices": ["EUR", "10"]},
     {"prices": 'give prices as currency code -> unit price, e.g. {"EUR": "10.00"}'}),
])
def test_create_rejects_bad_input_naming_each_field(manager, data, errors):
    with pytest.raises(ValidationFailed) as exc:
        services.create_product(actor=manager, data=data)
    assert exc.value.errors == errors
    assert not Product.objects.exists() and not AuditEntry.objects.filter(record_type="sales.product").exists()


def test_create_reports_every_bad_field_at_once(manager):
    with pytest.raises(ValidationFailed) as exc:
        services.create_product(actor=manager, data={"sku": "", "name": "", "prices": {"EUR": "-2", "ABC": "1"}})
    assert set(exc.value.errors) == {"sku", "name", "prices.EUR", "prices.ABC"}


@pytest.mark.parametrize("sku", ["WID-1", "wid-1", "  WID-1 "])
def test_duplicate_sku_among_live_products_is_refused_whatever_its_case(manager, widget, sku):
    with pytest.raises(ValidationFailed) as exc:
        services.create_product(actor=manager, data={"sku": sku, "name": "Copy"})
    assert exc.value.errors == {"sku": f"another product already has SKU '{sku.strip()}'"}


def test_a_trashed_products_sku_may_be_used_again(manager, widget):
    services.delete_product(actor=manager, product=widget)
    again = services.create_product(actor=manager, data={"sku": "WID-1", "name": "Widget 2"})
    assert again.pk != widget.pk


# --- update -------------------------------------------------------------------------------------

def test_update_replaces_the_price_book_and_audits_fields_and_prices_in_one_entry(admin_user, widget):
    services.update_product(actor=admin_user, product=widget, data={
        "name": "Widget Pro", "prices": {"EUR": "11.00", "JPY": "1500"}}, source="api")
    widget.refresh_from_db()
    assert widget.name == "Widget Pro"
    assert selectors.prices_of(selectors.get_product(admin_user, widget.pk)) == {"EUR": D("11.00"), "JPY": D("1500")}
    entry = entries(widget)[-1]
    assert (entry.action, entry.source, entry.actor) == ("update", "api", admin_user)
    assert entry.changes == {
        "name": ["Widget", "Widget Pro"],
        "prices": [{"EUR": "10.00", "USD": "12.50"}, {"EUR": "11.00", "JPY": "1500"}],
    }


def test_update_without_changes_writes_no_audit_entry(manager, widget):
    before = len(entries(widget))
    services.update_product(actor=manager, product=widget, data={"name": "Widget", "prices": {"EUR": "10.00", "USD": "12.5"}})
    assert len(entries(widget)) == before


def test_update_refuses_another_products_sku_and_keeps_everything(manager, widget):
    other = services.create_product(actor=manager, data={"sku": "OTH-1", "name": "Other"})
    with pytest.raises(ValidationFailed) as exc:
        services.update_product(actor=manager, product=other, data={"sku": "wid-1", "prices": {"EUR": "1"}})
    assert exc.value.errors == {"sku": "another product already has SKU 'wid-1'"}
    other.refresh_from_db()
    assert other.sku == "OTH-1" and not other.prices.exists()


def test_update_may_change_only_the_case_of_its_own_sku(manager, widget):
    services.update_product(actor=manager, product=widget, data={"sku": "wid-1"})
    widget.refresh_from_db()
    assert widget.sku == "wid-1"


def test_update_rejects_bad_prices_and_leaves_the_old_ones(manager, widget):
    with pytest.raises(ValidationFailed) as exc:
        services.update_product(actor=manager, product=widget, data={"prices": {"EUR": "9.999", "USD": "5"}})
    assert exc.value.errors == {"prices.EUR": "at most 2 decimal places for EUR"}
    assert selectors.prices_of(widget) == {"EUR": D("10.00"), "USD": D("12.50")}


def test_update_may_clear_the_category(manager, widget):
    services.update_product(actor=manager, product=widget, data={"category": None})
    widget.refresh_from_db()
    assert widget.category is None
    assert entries(widget)[-1].changes["category"][1] is None


def test_deactivate_and_activate(manager, widget):
    services.deactivate_product(actor=manager, product=widget)
    widget.refresh_from_db()
    assert widget.active is False
    assert entries(widget)[-1].changes == {"active": [True, False]}
    assert widget not in selectors.sellable_products(manager)
    services.activate_product(actor=manager, product=widget)
    widget.refresh_from_db()
    assert widget.active is True


def test_set_and_remove_one_price(manager, widget):
    price = services.set_product_price(actor=manager, product=widget, currency="gbp", unit_price="8.5")
    assert (price.currency, price.unit_price) == ("GBP", D("8.50"))
    services.set_product_price(actor=manager, product=widget, currency="EUR", unit_price="9.99")
    assert selectors.prices_of(widget) == {"EUR": D("9.99"), "GBP": D("8.50"), "USD": D("12.50")}
    services.remove_product_price(actor=manager, product=widget, currency="USD")
    assert set(selectors.prices_of(widget)) == {"EUR", "GBP"}
    assert entries(widget)[-1].changes["prices"][1] == {"EUR": "9.99", "GBP": "8.50"}


def test_set_price_rejects_bad_input(manager, widget):
    with pytest.raises(ValidationFailed) as exc:
        services.set_product_price(actor=manager, product=widget, currency="EURO", unit_price="1")
    assert exc.value.errors == {"currency": "unknown currency 'EURO'"}
    with pytest.raises(ValidationFailed) as exc:
        services.set_product_price(actor=manager, product=widget, currency="EUR", unit_price="-3")
    assert exc.value.errors == {"unit_price": "must not be negative"}
    with pytest.raises(ValidationFailed) as exc:
        services.remove_product_price(actor=manager, product=widget, currency="GBP")
    assert exc.value.errors == {"currency": "this product has no GBP price"}


# --- trash --------------------------------------------------------------------------------------

def test_delete_and_restore(manager, seller, widget):
    services.delete_product(actor=manager, product=widget)
    with pytest.raises(NotVisible):
        selectors.get_product(seller, widget.pk)
    assert list(selectors.trashed_products(manager)) == [widget]
    assert list(selectors.trashed_products(seller)) == []
    restored = services.restore_product(actor=manager, product_id=widget.pk)
    assert restored.deleted_at is None
    assert [e.action for e in entries(widget)] == ["create", "delete", "restore"]


def test_restore_refuses_when_a_live_product_took_the_sku(manager, widget):
    services.delete_product(actor=manager, product=widget)
    services.create_product(actor=manager, data={"sku": "wid-1", "name": "New widget"})
    with pytest.raises(ValidationFailed) as exc:
        services.restore_product(actor=manager, product_id=widget.pk)
    assert exc.value.errors == {"sku": "a live product already uses SKU 'WID-1'; change one of them first"}


def test_restore_of_a_live_or_missing_product_is_refused(manager, widget):
    with pytest.raises(NotAllowed):
        services.restore_product(actor=manager, product_id=widget.pk)
    with pytest.raises(NotAllowed):
        services.restore_product(actor=manager, product_id=99999)


# --- categories ---------------------------------------------------------------------------------

def test_category_names_are_unique_whatever_their_case(manager, hardware):
    with pytest.raises(ValidationFailed) as exc:
        services.create_category(actor=manager, name=" hardware ")
    assert exc.value.errors == {"name": "there is already a category 'hardware'"}
    for bad, reason in (("", "a category needs a name"), ("  ", "a category needs a name"),
                        ("x" * 101, "at most 100 characters")):
        with pytest.raises(ValidationFailed) as exc:
            services.create_category(actor=manager, name=bad)
        assert exc.value.errors == {"name": reason}


def test_rename_keeps_products_and_is_audited(manager, widget, hardware):
    services.rename_category(actor=manager, category=hardware, name="Devices")
    widget.refresh_from_db()
    assert widget.category.name == "Devices"
    assert entries(hardware)[-1].changes == {"name": ["Hardware", "Devices"]}
    soft = services.create_category(actor=manager, name="Software")
    with pytest.raises(ValidationFailed) as exc:
        services.rename_category(actor=manager, category=soft, name="devices")
    assert exc.value.errors == {"name": "there is already a category 'devices'"}


def test_a_category_with_products_cannot_be_deleted(manager, widget, hardware):
    with pytest.raises(ValidationFailed) as exc:
        services.delete_category(actor=manager, category=hardware)
    assert exc.value.errors == {"category": "1 product still in 'Hardware'; move them to another category first"}
    services.delete_product(actor=manager, product=widget)
    with pytest.raises(ValidationFailed) as exc:
        services.delete_category(actor=manager, category=hardware)
    assert exc.value.errors == {"category": "1 trashed product still in 'Hardware'; move them to another category first"}


def test_an_empty_category_is_deleted_and_audited(manager):
    empty = services.create_category(actor=manager, name="Empty")
    services.delete_category(actor=manager, category=empty)
    assert not ProductCategory.objects.filter(name="Empty").exists()
    assert entries(empty)[-1].action == "delete"
    assert entries(empty)[-1].changes == {"name": ["Empty", None]}


def test_categories_with_counts(manager, seller, widget, hardware):
    services.create_category(actor=manager, name="Apparel")
    counted = {c.name: c.live_products for c in selectors.categories(seller, with_counts=True)}
    assert counted == {"Apparel": 0, "Hardware": 1}
