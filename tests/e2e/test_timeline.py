"""Logging a call on the contact page puts it on the timeline without a page load."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_log_a_call_and_see_it_on_the_timeline_without_reload(seller_page, seller, make_contact):
    contact = make_contact(seller, first_name="Rosa", last_name="Delgado", email="rosa@delgado.example")
    page = seller_page
    page.goto(f"/contacts/{contact.pk}/")
    expect(page.locator("h1")).to_have_text("Rosa Delgado")

    # A full page load would wipe this; an htmx swap keeps it.
    page.evaluate("window.__marker = 1")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    form = page.locator("#log-activity")
    form.get_by_label("Kind").select_option(label="Call")
    form.get_by_label("Subject").fill("Renewal check-in")
    form.get_by_label("Notes").fill("Wants the <b>annual</b> plan quoted by Friday.")
    form.get_by_label("Minutes").fill("25")
    form.get_by_label("Outcome").select_option(label="Connected")
    form.get_by_role("button", name="Log it").click()

    first = page.locator("#timeline > *").first
    expect(first).to_contain_text("Renewal check-in")
    assert page.evaluate("window.__marker") == 1
    assert navigations == []
    # Notes are shown as text, never as markup.
    expect(page.locator("#timeline b")).to_have_count(0)

    from rapport.timeline.models import Activity

    call = Activity.objects.get(contact=contact)
    assert (call.kind, call.duration_minutes, call.outcome, call.owner_id) == ("call", 25, "connected", seller.pk)

    # And it is really stored: after a reload it is still first on the timeline.
    page.reload()
    expect(page.locator("#timeline > *").first).to_contain_text("Renewal check-in")
