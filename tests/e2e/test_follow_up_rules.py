"""An admin tunes a follow-up rule from the keyboard (a wrong value comes back focused, with its
reason), switches it off, and presses Run now: the run waits for the background worker and the
page follows it until it is done, without a reload."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def shipped_rules(transactional_db):
    # The live server's database is flushed between tests, and with it the rules the
    # migration ships: put them back, as a fresh installation has them.
    from django.apps import apps

    importlib.import_module("rapport.assistant.migrations.0002_tasks_rules_cadences").ship_default_rules(apps, None)


def test_an_admin_tunes_a_rule_by_keyboard_and_follows_a_queued_run_to_the_end(page, settings, admin_user, seller,
                                                                               shipped_rules):
    from django.core.management import call_command

    from rapport.assistant.models import FollowUpRule, FollowUpRun, Task
    from rapport.sales.models import Deal
    from rapport.sales.services import deals as deal_services

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    deal = deal_services.create_deal(actor=seller, data={"name": "Quiet deal", "amount": "900", "currency": "EUR"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=40))
    stalled = FollowUpRule.objects.get(kind="stalled_deal")
    meeting = FollowUpRule.objects.get(kind="after_meeting")

    log_in(page, admin_user.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Follow-up rules").click()
    expect(page.locator("h1")).to_have_text("Follow-up rules")

    card = page.locator(f"#rule-{stalled.pk}")
    days = card.get_by_label("Days without activity")
    days.fill("")
    days.press_sequentially("-5")
    days.press("Enter")  # a form submits from the keyboard
    card = page.locator(f"#rule-{stalled.pk}")
    expect(card.locator(".field-error")).to_have_text("a whole number of days from 0 to 3650")
    expect(card.get_by_label("Days without activity")).to_be_focused()
    expect(card.get_by_label("Days without activity")).to_have_value("-5")

    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Saved “Deal without activity” (on)")
    expect(page.locator(f"#rule-{stalled.pk}")).to_contain_text("An open deal with no activity for 30 days")
    stalled.refresh_from_db()
    assert stalled.days == 30

    # Switch the meeting rule off: its Run now button goes quiet and says why.
    meeting_card = page.locator(f"#rule-{meeting.pk}")
    meeting_card.get_by_label("Rule is on").uncheck()
    meeting_card.get_by_role("button", name="Save follow up after a meeting").click()
    meeting_card = page.locator(f"#rule-{meeting.pk}")
    expect(meeting_card.get_by_role("button", name="Run now")).to_be_disabled()
    expect(meeting_card).to_contain_text("Switched off: switch it on and save to run it.")

    page.get_by_role("button", name="Run all rules now").click()
    expect(page.locator(".messages")).to_contain_text("queued: the background worker runs every rule")
    runs = page.locator("#runs")
    expect(runs).to_contain_text("Queued")
    expect(runs.get_by_role("button", name="Run all rules now")).to_be_disabled()
    assert not Task.objects.exists()

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert FollowUpRun.objects.get().status == "done"
    # No reload: the card polls until the run is done, and each rule's last run comes along.
    expect(runs).to_contain_text("Done", timeout=8000)
    expect(runs).to_contain_text("Deal without activity: 1")
    expect(runs.get_by_role("button", name="Run all rules now")).to_be_enabled()
    expect(page.locator(f"#rule-run-{stalled.pk}")).to_contain_text("it made 1 task.")
    expect(page.locator(f"#rule-run-{meeting.pk}")).to_contain_text("Last run: never.")
    assert Task.objects.get().deal_id == deal.pk
