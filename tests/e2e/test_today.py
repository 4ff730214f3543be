"""A seller opens Today, completes one task and snoozes another, without a page load."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_complete_and_snooze_from_today(seller_page, seller, make_contact):
    from rapport.assistant.models import Task, TaskStatus
    from rapport.assistant.services.tasks import create_task

    contact = make_contact(seller, first_name="Ines", last_name="Okafor")
    yesterday = (timezone.now() - dt.timedelta(days=1)).isoformat()
    # Due later today: in five minutes, or at 23:59 when that would already be tomorrow.
    now = timezone.now()
    soon = min(now + dt.timedelta(minutes=5), now.replace(hour=23, minute=59, second=0, microsecond=0)).isoformat()
    overdue = create_task(actor=seller, data={"title": "Send Ines the quote", "due_at": yesterday,
                                              "contact": contact.pk})
    later = create_task(actor=seller, data={"title": "Book the site visit", "due_at": soon})
    page = seller_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    expect(page.locator("h1")).to_contain_text("Today")
    page.evaluate("window.__marker = 1")

    first = page.locator(f"#line-task-{overdue.pk}")
    expect(first).to_contain_text("Overdue")
    expect(first.get_by_role("link", name="Ines Okafor")).to_be_visible()
    first.get_by_role("button", name="Done").click()
    expect(first).to_have_count(0)
    expect(page.locator("#agenda-notice")).to_contain_text("Done: Send Ines the quote")

    second = page.locator(f"#line-task-{later.pk}")
    second.get_by_label("Snooze for").select_option(label="3 hours")
    second.get_by_role("button", name="Snooze").click()
    expect(second).to_have_count(0)
    assert page.evaluate("window.__marker") == 1  # htmx swaps, no page load

    overdue.refresh_from_db()
    later.refresh_from_db()
    assert overdue.status == TaskStatus.DONE
    assert later.status == TaskStatus.OPEN and later.snoozed_until > timezone.now() + dt.timedelta(hours=2)
    page.reload()
    expect(page.get_by_text("Nothing due today")).to_be_visible()
    assert Task.objects.filter(status=TaskStatus.OPEN).count() == 1
