"""Fixtures the proposal tests share: a deal with priced line items, made through the services.

A test module imports the `*_fixture` functions it uses; pytest knows them by their `name`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.sales.models import Product, ProductCategory, ProductPrice
from rapport.sales.services import deals as deal_services


@pytest.fixture(name="products")
def products_fixture(db):
    software = ProductCategory.objects.create(name="Software")
    licence = Product.objects.create(sku="LIC-100", name="Team licence", category=software)
    onboarding = Product.objects.create(sku="ONB-1", name="Onboarding day")
    ProductPrice.objects.create(product=licence, currency="EUR", unit_price=Decimal("120.00"))
    ProductPrice.objects.create(product=onboarding, currency="EUR", unit_price=Decimal("950.00"))
    ProductPrice.objects.create(product=licence, currency="JPY", unit_price=Decimal("15999"))
    return {"licence": licence, "onboarding": onboarding, "software": software}


def make_deal(actor, *, company=None, contact=None, currency="EUR", name="Fleet licences", lines=()):
    data = {"name": name, "currency": currency}
    if company is not None:
        data["company"] = company.pk
    if contact is not None:
        data["contacts"] = [{"contact": contact.pk, "role": "decision_maker"}]
    deal = deal_services.create_deal(actor=actor, data=data)
    for line in lines:
        deal_services.add_line_item(actor=actor, deal=deal, data=line)
    deal.refresh_from_db()
    return deal


@pytest.fixture(name="customer_company")
def customer_company_fixture(seller, make_company):
    return make_company(seller, name="Harbour & Sons", domain="harbour.example")


@pytest.fixture(name="buyer")
def buyer_fixture(seller, make_contact, customer_company):
    return make_contact(seller, first_name="Hana", last_name="Harbour", email="hana@harbour.example",
                        company=customer_company.pk)


@pytest.fixture(name="deal")
def deal_fixture(seller, products, customer_company, buyer):
    """An open EUR deal: 3 licences at 120.00 less 10%, and one onboarding day at 950.00."""
    return make_deal(seller, company=customer_company, contact=buyer, lines=[
        {"product": products["licence"].pk, "quantity": "3", "discount_percent": "10"},
        {"product": products["onboarding"].pk, "quantity": "1"},
    ])
