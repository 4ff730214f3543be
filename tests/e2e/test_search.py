"""The global search box finds contacts (and companies) as you type, and on Enter."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_find_a_contact_with_the_global_search(seller_page, seller, make_contact, make_company):
    company = make_company(seller, name="Halvorsen Marine", domain="halvorsen.example")
    wanted = make_contact(seller, first_name="Greta", last_name="Lindqvist", email="greta@halvorsen.example",
                          company=company)
    make_contact(seller, first_name="Tomas", last_name="Berg", email="tomas@berg.example")
    page = seller_page

    box = page.get_by_label("Search contacts and companies")
    box.fill("lindq")
    suggestions = page.locator("#search-suggestions")
    expect(suggestions.get_by_role("link", name=re.compile("Greta Lindqvist"))).to_be_visible()
    expect(suggestions).not_to_contain_text("Tomas Berg")

    suggestions.get_by_role("link", name=re.compile("Greta Lindqvist")).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{wanted.pk}/$"))
    expect(page.locator("h1")).to_have_text("Greta Lindqvist")


def test_enter_opens_the_results_page(seller_page, seller, make_contact, make_company):
    make_company(seller, name="Halvorsen Marine", domain="halvorsen.example")
    make_contact(seller, first_name="Greta", last_name="Lindqvist", email="greta@halvorsen.example")
    page = seller_page

    box = page.get_by_label("Search contacts and companies")
    box.fill("greta@halvorsen.example")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=greta%40halvorsen\.example"))
    expect(page.locator("main").get_by_role("link", name=re.compile("Greta Lindqvist"))).to_be_visible()

    # A company by its domain, from the same box.
    box = page.get_by_label("Search contacts and companies")
    box.fill("halvorsen.example")
    box.press("Enter")
    expect(page.locator("main").get_by_role("link", name=re.compile("Halvorsen Marine"))).to_be_visible()
