"""The lead queue in a real browser: an overdue lead is on top and marked, and the seller marks it
contacted with the bulk action."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def leads(seller, make_contact):
    from django.utils import timezone

    from rapport.leads.models import Lead

    now = timezone.now()
    late = Lead.objects.create(contact=make_contact(seller, first_name="Olga", last_name="Overdue"), owner=seller,
                               team_id=seller.profile.team_id, score=10, response_due_at=now - dt.timedelta(hours=2))
    fresh = Lead.objects.create(contact=make_contact(seller, first_name="Hugo", last_name="Hot"), owner=seller,
                                team_id=seller.profile.team_id, score=95, response_due_at=now + dt.timedelta(hours=3))
    return late, fresh


def test_overdue_first_and_marked_contacted(seller_page, leads):
    late, fresh = leads
    page = seller_page
    page.get_by_role("link", name="My queue").click()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    # Overdue comes first even with the lower score, and says so in words, not colour alone.
    expect(rows.nth(0)).to_contain_text("Olga Overdue")
    expect(rows.nth(0)).to_contain_text("Overdue")
    expect(rows.nth(0)).to_have_class("sla-overdue")
    expect(rows.nth(1)).to_contain_text("left")
    page.get_by_label("Select lead " + str(late.pk)).check()
    page.get_by_label("With selected").select_option("contacted")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator(".messages")).to_contain_text("1 lead marked contacted.")
    expect(page.locator("table.queue tbody tr").nth(0)).to_contain_text("Hugo Hot")
    late.refresh_from_db()
    assert late.first_response_at is not None and late.status == "working"
