"""A proposal's round trip: the seller makes and sends it, the customer accepts it from the link in a
browser that has never logged in, and the seller sees the deal won and the order made."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.e2e


@pytest.fixture
def deal_with_lines(seller, make_company, make_contact):
    from decimal import Decimal

    from rapport.sales.models import CloseReason, Pipeline, Product, ProductCategory, ProductPrice, Stage
    from rapport.sales.services import deals as deal_services

    # Browser tests run on a flushed database after the first one, so the pipeline and close
    # reasons the migrations create may be gone; make what this test needs.
    pipeline = Pipeline.objects.filter(deleted_at__isnull=True).first() or Pipeline.objects.create(
        name="New business")
    if not pipeline.stages.exists():
        Stage.objects.create(pipeline=pipeline, name="Proposal", position=0, probability=50)
    CloseReason.objects.get_or_create(outcome="won", label="Accepted our proposal")

    company = make_company(seller, name="Harbour & Sons", domain="harbour.example")
    contact = make_contact(seller, first_name="Hana", last_name="Harbour", email="hana@harbour.example",
                           company=company.pk)
    licence = Product.objects.create(sku="LIC-100", name="Team licence",
                                     category=ProductCategory.objects.create(name="Software"))
    ProductPrice.objects.create(product=licence, currency="EUR", unit_price=Decimal("120.00"))
    deal = deal_services.create_deal(actor=seller, data={
        "name": "Fleet licences", "company": company.pk, "currency": "EUR",
        "contacts": [{"contact": contact.pk, "role": "decision_maker"}]})
    deal_services.add_line_item(actor=seller, deal=deal, data={"product": licence.pk, "quantity": "3",
                                                               "discount_percent": "10"})
    deal_services.add_line_item(actor=seller, deal=deal, data={"product": licence.pk, "quantity": "1"})
    return deal


def test_customer_accepts_from_the_link_and_the_seller_sees_the_deal_won(
        seller_page, browser, live_server, deal_with_lines):
    page = seller_page
    deal = deal_with_lines
    page.goto(f"/deals/{deal.pk}/")
    section = page.locator("#proposals")
    expect(section).to_contain_text("No proposals yet")
    section.get_by_label("Discount %").fill("5")
    section.get_by_label("Tax %").fill("20")
    section.get_by_label("Notes for the customer").fill("Includes onboarding.")
    section.get_by_role("button", name="Create proposal").click()

    # 324.00 + 120.00 = 444.00; 5% off = 22.20; 20% tax on 421.80 = 84.36; total 506.16.
    expect(page.locator("h1")).to_contain_text("Proposal Q-")
    expect(page.locator("[data-total]")).to_have_text("506.16 EUR")
    page.get_by_role("button", name="Send").click()
    link_box = page.locator("#customer-link")
    expect(link_box).to_be_visible()
    link = link_box.input_value()
    assert link.startswith(live_server.url + "/p/")

    # The customer: a new browser context, so no session and no cookies of the seller's.
    customer_context = browser.new_context(viewport={"width": 1100, "height": 900})
    customer_context.set_default_timeout(TIMEOUT_MS)
    try:
        customer = customer_context.new_page()
        problems = []
        customer.on("pageerror", lambda exc: problems.append(str(exc)))
        customer.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        customer.goto(link)
        expect(customer.locator("h1")).to_contain_text("Proposal Q-")
        expect(customer.locator("body")).to_contain_text("Harbour & Sons")
        expect(customer.locator("body")).to_contain_text("Team licence")
        expect(customer.locator("[data-total]")).to_have_text("506.16 EUR")
        assert "sessionid" not in {c["name"] for c in customer_context.cookies()}
        accept = customer.locator("#accept-form")
        accept.get_by_label("Your name").fill("Hana Harbour")
        accept.get_by_label("Note (optional)").fill("Please start in May.")
        accept.get_by_role("button", name="Accept proposal").click()
        outcome = customer.locator("#outcome")
        expect(outcome).to_contain_text("Accepted")
        expect(outcome).to_contain_text("Hana Harbour")
        expect(customer.locator("#accept-form")).to_have_count(0)
        href = customer.get_by_role("link", name="Download PDF").get_attribute("href")
        pdf = customer.request.get(live_server.url + href)
        assert pdf.ok and pdf.body().startswith(b"%PDF")
        assert problems == []
    finally:
        customer_context.close()

    # Back to the seller: the deal is won and its order (a purchase) is recorded.
    page.goto(f"/deals/{deal.pk}/")
    expect(page.locator(".page-head .badge").first).to_have_text("Won")
    expect(page.locator("#proposals")).to_contain_text("Accepted")
    expect(page.locator("#proposals")).to_contain_text("by Hana Harbour")
    expect(page.locator("#timeline")).to_contain_text("Purchase")
    expect(page.locator("#timeline")).to_contain_text("accepted by Hana Harbour")

    page.locator("#proposals").get_by_role("link", name="v1").first.click()
    order_link = page.locator("dl.facts a[href^='/orders/']")
    expect(order_link).to_be_visible()
    order_link.click()
    expect(page.locator("h1")).to_contain_text("Order")
    expect(page.locator("body")).to_contain_text("Team licence")
    expect(page.locator("body")).to_contain_text("Harbour & Sons")

    from rapport.sales.models import Order

    order = Order.objects.get(deal=deal)
    assert order.contact.email == "hana@harbour.example" and order.channel == "sales"

    # The buyer's page shows the purchase and what category it was.
    page.goto(f"/contacts/{order.contact_id}/")
    purchases = page.locator("#purchases")
    expect(purchases).to_contain_text("1 order")
    expect(purchases).to_contain_text("Software")
    expect(purchases).to_contain_text("Team licence")
