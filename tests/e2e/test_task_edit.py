"""A seller opens a task from Today and gives it to a teammate with a new due date; a manager
defines a two-step cadence and enrols a contact in it from the contact's page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.e2e


def test_reassign_a_task_from_today_then_a_manager_enrols_a_contact_in_a_new_cadence(
        seller_page, seller, teammate, manager, make_contact):
    from rapport.assistant.models import CadenceEnrolment, EnrolmentStatus, Task
    from rapport.assistant.services.tasks import create_task

    contact = make_contact(seller, first_name="Ines", last_name="Okafor")
    task = create_task(actor=seller, data={"title": "Send Ines the quote", "contact": contact.pk,
                                           "due_at": (timezone.now() - dt.timedelta(days=1)).isoformat()})
    page = seller_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    page.locator(f"#line-task-{task.pk}").get_by_role("link", name="Send Ines the quote").click()
    expect(page.locator("h1")).to_have_text("Send Ines the quote")

    page.get_by_label("Assigned to").select_option(label="Tia")
    page.get_by_label("Due on").fill("2031-03-05")
    page.get_by_label("at", exact=True).fill("10:15")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Task saved and given to Tia.")
    expect(page.locator("dl.facts")).to_contain_text("Wednesday 5 March 2031 10:15")
    expect(page.get_by_label("Assigned to")).to_have_value(str(teammate.pk))
    task.refresh_from_db()
    assert task.assignee == teammate and not task.all_day
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Today").click()
    expect(page.locator(f"#line-task-{task.pk}")).to_have_count(0)  # Tia's now, and not due today

    page.get_by_role("button", name="Log out").click()
    log_in(page, manager.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cadences").click()
    page.get_by_role("link", name="New cadence").click()
    page.get_by_label("Name").fill("Trial follow-up")
    first = page.get_by_role("group", name="Step 1")
    first.get_by_label("Kind").select_option(label="Call")
    first.get_by_label("Title").fill("Ask how the trial goes")
    second = page.get_by_role("group", name="Step 2")
    second.get_by_label("Kind").select_option(label="Task")
    second.get_by_label("Wait (days)").fill("3")
    second.get_by_label("Title").fill("Send the case study")
    page.get_by_role("button", name="Save cadence").click()
    expect(page.locator("h1")).to_have_text("Trial follow-up")
    expect(page.locator(".cadence-steps li")).to_have_text(
        ["Call: Ask how the trial goes, straight away", "Task: Send the case study, after 3 days"])

    page.goto(f"/contacts/{contact.pk}/")
    card = page.locator("#contact-cadences")
    card.get_by_label("Enrol in a cadence").select_option(label="Trial follow-up")
    card.get_by_role("button", name="Enrol").click()
    expect(page.locator(".messages")).to_contain_text("enrolled in “Trial follow-up”")
    expect(page.locator("#contact-cadences")).to_contain_text("Step 1 of 2 due")
    enrolment = CadenceEnrolment.objects.get()
    assert enrolment.contact == contact and enrolment.owner == manager
    assert enrolment.status == EnrolmentStatus.ACTIVE
    assert Task.objects.filter(assignee=teammate, title="Send Ines the quote").exists()
