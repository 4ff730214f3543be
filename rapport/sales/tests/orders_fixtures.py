"""Fixtures the order tests share: a small catalogue and a customer in each team.

A test module imports the `*_fixture` functions it uses; pytest knows them by their `name`
(so a test's parameter never shadows the imported function).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.sales.models import Product, ProductCategory, ProductPrice


@pytest.fixture(name="catalogue")
def catalogue_fixture(db):
    """Two categories, three products (one uncategorised), EUR prices for two of them."""
    coffee = ProductCategory.objects.create(name="Coffee")
    kit = ProductCategory.objects.create(name="Equipment")
    beans = Product.objects.create(sku="BEAN-1", name="House beans 1 kg", category=coffee)
    grinder = Product.objects.create(sku="GRIND-2", name="Burr grinder", category=kit)
    mug = Product.objects.create(sku="MUG-3", name="Mug")
    ProductPrice.objects.create(product=beans, currency="EUR", unit_price=Decimal("18.50"))
    ProductPrice.objects.create(product=grinder, currency="EUR", unit_price=Decimal("240.00"))
    return {"beans": beans, "grinder": grinder, "mug": mug, "coffee": coffee, "kit": kit}


@pytest.fixture(name="customer")
def customer_fixture(seller, make_contact, make_company):
    company = make_company(seller, name="Bean There", domain="beanthere.example")
    return make_contact(seller, first_name="Bea", last_name="Buyer", email="bea@beanthere.example",
                        company=company.pk)


@pytest.fixture(name="other_customer")
def other_customer_fixture(other_seller, make_contact):
    return make_contact(other_seller, first_name="Olaf", last_name="Other", email="olaf@south.example")


def order_data(customer_contact, **extra):
    data = {"contact": customer_contact.pk, "ordered_at": "2026-01-15T10:00:00Z", "channel": "web", "currency": "EUR",
            "lines": [{"sku": "BEAN-1", "quantity": "2", "unit_price": "18.50"},
                      {"sku": "GRIND-2", "quantity": 1, "unit_price": "240"}]}
    data.update(extra)
    return data
