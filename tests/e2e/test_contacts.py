"""Creating a company and a contact through the forms, as a seller would."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_create_a_company_then_a_contact_at_it(seller_page):
    page = seller_page

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies").click()
    expect(page).to_have_url(re.compile(r"/companies/$"))
    page.get_by_role("link", name="New company").first.click()
    page.get_by_label("Name", exact=True).fill("Lumen Optics")
    page.get_by_label("Domain").fill("lumen-optics.example")
    page.get_by_role("button", name="Save company").click()

    expect(page).to_have_url(re.compile(r"/companies/\d+/$"))
    expect(page.locator("h1")).to_have_text("Lumen Optics")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    page.get_by_role("link", name="New contact").first.click()
    page.get_by_label("First name").fill("Ines")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("E-mail").fill("Ines.Okafor@Lumen-Optics.example")
    page.get_by_label("Phone").fill("+1 415 555 0134")
    page.get_by_label("Company").fill("Lumen Optics")
    page.get_by_label("Lifecycle stage").select_option(label="Sales-qualified")
    page.get_by_role("button", name="Save contact").click()

    expect(page).to_have_url(re.compile(r"/contacts/\d+/$"))
    expect(page.locator("h1")).to_have_text("Ines Okafor")
    main = page.locator("main")
    # Stored normalised: lower-cased e-mail, E.164 phone, linked to the existing company.
    expect(main).to_contain_text("ines.okafor@lumen-optics.example")
    expect(main.locator('a[href="tel:+14155550134"]')).to_be_visible()
    expect(main.get_by_role("link", name="Lumen Optics")).to_be_visible()
    expect(main).to_contain_text("Sales-qualified")

    from rapport.people.models import Company, Contact

    contact = Contact.objects.get(email="ines.okafor@lumen-optics.example")
    assert contact.phone == "+14155550134"
    assert contact.company == Company.objects.get(name="Lumen Optics")
    assert Company.objects.count() == 1  # the name matched; no duplicate company was made


def test_contact_form_shows_errors_next_to_fields(seller_page):
    page = seller_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="New contact").first.click()
    page.get_by_label("First name").fill("Noor")
    page.get_by_label("Phone").fill("call me maybe")
    page.get_by_role("button", name="Save contact").click()

    # Stays on the form, keeps what was typed, and names the problem.
    expect(page.get_by_label("First name")).to_have_value("Noor")
    expect(page.get_by_label("Phone")).to_have_value("call me maybe")
    expect(page.locator(".field-error").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"/contacts/new/$"))

    from rapport.people.models import Contact

    assert not Contact.objects.filter(first_name="Noor").exists()
