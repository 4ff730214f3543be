"""A manager keys in a product and its price book with the keyboard, as they would in a hurry."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.e2e


def test_type_a_product_with_prices_fix_a_bad_price_and_save(page, manager):
    log_in(page, manager.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    expect(page).to_have_url(re.compile(r"/products/$"))
    page.get_by_role("link", name="New product").first.click()

    # Everything by keyboard: type, Tab to the next box.
    page.get_by_label("SKU").focus()
    page.keyboard.type("MUG-1")
    page.keyboard.press("Tab")
    page.keyboard.type("Enamel mug")
    page.get_by_label("Currency, price 1").focus()
    page.keyboard.type("eur")
    page.keyboard.press("Tab")
    page.keyboard.type("7.505")
    page.keyboard.press("Tab")
    page.keyboard.type("JPY")
    page.keyboard.press("Tab")
    page.keyboard.type("1200")
    page.keyboard.press("Enter")

    amount = page.get_by_label("Unit price, price 1")
    expect(page.locator("#id_price_amount_0_error")).to_have_text("at most 2 decimal places for EUR")
    expect(amount).to_have_value("7.505")
    expect(page.get_by_label("Currency, price 2")).to_have_value("JPY")

    amount.fill("7.50")
    page.get_by_role("button", name="Save product").click()
    expect(page).to_have_url(re.compile(r"/products/\d+/$"))
    main = page.locator("main")
    expect(main).to_contain_text("7.50 EUR")
    expect(main).to_contain_text("1,200 JPY")

    page.get_by_role("link", name="Exchange rates").click()
    expect(page.locator("h1")).to_have_text("Exchange rates")
    page.get_by_role("link", name="Cost rates").click()
    expect(page.locator("h1")).to_have_text("Cost rates")
