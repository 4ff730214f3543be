"""A seller cannot open another team's contact: the page answers 404, never 403."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.e2e


def test_other_teams_contact_is_not_found(page, seller, other_seller, make_contact):
    theirs = make_contact(seller, first_name="Hidden", last_name="Northerner", email="hidden@north.example")
    log_in(page, other_seller.username)
    page.locator("#global-q").wait_for()

    response = page.goto(f"/contacts/{theirs.pk}/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Northerner")
    expect(page.locator("body")).not_to_contain_text("hidden@north.example")

    # The same answer as for a contact that does not exist at all: existence does not leak.
    missing = page.goto("/contacts/999999/")
    assert missing.status == 404

    # Nor does the search box reveal it.
    page.goto("/")
    box = page.get_by_label("Search contacts and companies")
    box.fill("Northerner")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/"))
    # The query itself may be echoed back; what must not appear is a result for it.
    expect(page.locator("main").get_by_role("link", name=re.compile("Northerner"))).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("hidden@north.example")
