"""Logging in through the real form: the right password opens Rapport, a wrong one says so."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in

pytestmark = pytest.mark.e2e


def test_seller_logs_in_and_sees_the_layout(page, seller):
    log_in(page, seller.username, PASSWORD)

    expect(page).not_to_have_url(re.compile(r"/login/"))
    nav = page.get_by_role("navigation", name="Main")
    for section in ("Contacts", "Companies", "Import", "Trash", "API tokens"):
        expect(nav.get_by_role("link", name=section)).to_be_visible()
    expect(page.get_by_label("Search contacts and companies")).to_be_visible()


def test_wrong_password_shows_an_error_and_stays_logged_out(page, seller):
    log_in(page, seller.username, "not the password")

    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_be_empty()
    # Still logged out: a protected page sends us back to the login form.
    page.goto("/contacts/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/contacts/"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
