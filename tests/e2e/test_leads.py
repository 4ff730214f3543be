"""Leads in a real browser: a seller disqualifies a lead with a reason, and a qualified lead
converts to a deal whose page links back to the lead."""

from __future__ import annotations

import importlib
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _disqualify_reasons(transactional_db, live_server):
    """The live server's database is flushed between tests, data migrations' rows with it.

    Also asks the server for the login page once, with a generous timeout: the first request of
    a test session loads every URL module and template, which on a busy two-core machine takes
    longer than the browser's 10 s per-step timeout meant for missing elements."""
    from django.apps import apps

    importlib.import_module("rapport.leads.migrations.0002_disqualify_reasons").seed(apps, None)
    with urllib.request.urlopen(f"{live_server.url}/login/", timeout=120) as response:
        response.read()


@pytest.fixture
def lead(seller, make_contact, make_company):
    from rapport.leads import services

    contact = make_contact(seller, first_name="Petra", last_name="Prospect", email="petra@prospect.example",
                           company=make_company(seller, name="Prospect Ltd"))
    return services.create_lead(actor=seller, contact=contact, data={
        "title": "Forty seats", "budget_amount": "4200", "budget_currency": "EUR", "authority": "champion"})


def test_seller_disqualifies_a_lead_with_a_reason(seller_page, lead):
    page = seller_page
    page.goto("/leads/")
    page.get_by_role("link", name="Petra Prospect").click()
    expect(page.locator("#lead-status")).to_have_text("New")
    # Without a reason nothing happens but a clear message.
    page.locator("#disqualify-button").click()
    expect(page.locator("#disqualify")).to_contain_text("choose the reason this lead is dropped")
    expect(page.locator("#lead-status")).to_have_text("New")
    page.get_by_label("Reason").select_option(label="No budget")
    page.get_by_label("Note").fill("Budget frozen until next year")
    page.locator("#disqualify-button").click()
    expect(page.locator("#lead-status")).to_have_text("Disqualified")
    expect(page.locator("#lead-reason")).to_have_text("No budget")
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.disqualify_reason.label == "No budget"
    assert lead.disqualify_note == "Budget frozen until next year"


def test_qualified_lead_converts_to_a_deal(seller_page, lead):
    page = seller_page
    page.goto(f"/leads/{lead.pk}/")
    page.locator("#qualify-button").click()
    expect(page.locator("#lead-status")).to_have_text("Qualified")
    expect(page.get_by_label("Amount")).to_have_value("4200.00")  # prefilled from the budget
    page.get_by_label("Amount").fill("5000")
    page.locator("#convert-button").click()
    # The deal page, linked back to its lead.
    expect(page.locator("h1")).to_contain_text("Prospect Ltd – Forty seats")
    expect(page.locator("body")).to_contain_text("5,000.00 EUR")
    page.locator("#deal-lead").click()
    expect(page.locator("#lead-status")).to_have_text("Converted")
    expect(page.locator("#lead-deal")).to_have_text("Prospect Ltd – Forty seats")
    lead.refresh_from_db()
    assert lead.deal.lead_id == lead.pk and lead.deal.amount == 5000
