"""A seller schedules a meeting from a deal with the keyboard, the invitation goes out over
SMTP, and the meeting is on their Today agenda."""

import datetime as dt
import urllib.request

import icalendar
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rapport.assistant.tests.smtp import running_smtp_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def smtp_server(settings):
    with running_smtp_server(settings) as mailbox:
        yield mailbox


@pytest.fixture(autouse=True)
def _warm_server(transactional_db, live_server):
    # The live server's first request loads every URL module and template; on a busy machine
    # that alone can outlast the browser's 10 s timeout, so take it here, without a browser.
    with urllib.request.urlopen(f"{live_server.url}/login/", timeout=120) as response:
        response.read()


def test_schedule_a_meeting_from_a_deal_and_see_it_today(seller_page, seller, make_contact, smtp_server):
    from rapport.sales.services import deals as deal_services

    contact = make_contact(seller, first_name="Rosa", last_name="Delgado", email="rosa@delgado.example")
    deal = deal_services.create_deal(actor=seller, data={
        "name": "Delgado fleet", "amount": "8000", "contacts": [{"contact": contact.pk, "role": "champion"}]})
    page = seller_page
    page.goto(f"/deals/{deal.pk}/")
    page.get_by_role("link", name="Schedule meeting").click()
    expect(page.locator("h1")).to_have_text("Schedule a meeting")

    # Later today, so it is on today's agenda; late in the evening, at 23:59 (a start a few minutes
    # gone is still accepted), never after midnight, which would put it on tomorrow's.
    now = timezone.localtime()
    start = min(now + dt.timedelta(minutes=30), now.replace(hour=23, minute=59)).replace(second=0, microsecond=0)
    title = page.get_by_label("Title")
    expect(title).to_be_focused()
    title.fill("Fleet pricing with Rosa")
    page.keyboard.press("Tab")
    page.get_by_label("Date").fill(start.date().isoformat())
    page.get_by_label("Starts at").fill(f"{start:%H:%M}")
    page.get_by_label("Duration").select_option(label="45 minutes")
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_label("Video link").fill("https://meet.example/fleet")
    # The deal's contact is ticked already; Enter in a field submits the form.
    expect(page.get_by_label("Rosa Delgado <rosa@delgado.example>")).to_be_checked()
    page.get_by_label("Location").press("Enter")

    expect(page.locator("h1")).to_have_text("Fleet pricing with Rosa")
    expect(page.get_by_text("Invitation sent to 1 attendee")).to_be_visible()
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["rosa@delgado.example"]
    [part] = [p for p in received.message.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert event["DTEND"].dt - event["DTSTART"].dt == dt.timedelta(minutes=45)

    page.goto("/today/")
    expect(page.get_by_text("Fleet pricing with Rosa")).to_be_visible()
