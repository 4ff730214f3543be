"""Follow-up rules: each rule's trigger, the reason it writes, idempotence, and the command."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.assistant.models import FollowUpRule, RuleKind, Task, TaskOrigin, TaskStatus
from rapport.assistant.services.rules import run_follow_up_rules
from rapport.core.errors import ValidationFailed
from rapport.core.models import AuditEntry
from rapport.leads.models import Lead, LeadStatus
from rapport.sales.models import Deal, Order
from rapport.sales.services import deals as deal_services
from rapport.timeline.models import Activity

NOW = timezone.now().replace(microsecond=0)


def _only(kind):
    return run_follow_up_rules(kinds=[kind], now=NOW)


def _order(contact, when, total="50"):
    return Order.objects.create(contact=contact, owner=contact.owner, team=contact.team, ordered_at=when,
                                currency="EUR", total=total)


def test_default_rules_are_shipped_enabled(db):
    kinds = set(FollowUpRule.objects.filter(enabled=True).values_list("kind", flat=True))
    assert kinds == set(RuleKind.values)


def test_after_meeting_follow_up_once_with_reason(seller, make_contact):
    contact = make_contact(seller, first_name="Mia", last_name="Meet")
    meeting = Activity.objects.create(kind="meeting", contact=contact, owner=seller, team=contact.team,
                                      occurred_at=NOW - dt.timedelta(days=1), subject="Demo")
    Activity.objects.create(kind="meeting", contact=contact, owner=seller, occurred_at=NOW - dt.timedelta(days=60))
    first = _only(RuleKind.AFTER_MEETING)
    assert first.results[0].created == 1
    task = Task.objects.get()
    assert task.assignee == seller and task.contact == contact and task.origin == TaskOrigin.RULE
    assert task.trigger_key == f"activity:{meeting.pk}"
    assert "Meeting on" in task.reason and "2 day(s)" in task.reason
    assert task.due_at == meeting.occurred_at + dt.timedelta(days=2)
    assert AuditEntry.objects.filter(record_type="assistant.task", record_id=task.pk, source="system").exists()
    assert _only(RuleKind.AFTER_MEETING).results[0].created == 0
    # Done or cancelled, it is still not made again for the same meeting.
    Task.objects.update(status=TaskStatus.DONE)
    assert _only(RuleKind.AFTER_MEETING).results[0].created == 0


def test_stalled_deal_fires_per_silence(seller):
    deal = deal_services.create_deal(actor=seller, data={"name": "Quiet deal", "amount": "1000", "currency": "EUR"})
    fresh = deal_services.create_deal(actor=seller, data={"name": "Busy deal", "amount": "1000", "currency": "EUR"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=NOW - dt.timedelta(days=20))
    Deal.objects.filter(pk=fresh.pk).update(last_activity_at=NOW - dt.timedelta(days=2))
    assert _only(RuleKind.STALLED_DEAL).results[0].created == 1
    task = Task.objects.get()
    assert task.deal == deal and "20 days" in task.reason
    assert _only(RuleKind.STALLED_DEAL).results[0].created == 0
    # Activity, then a new silence: a new trigger.
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=NOW - dt.timedelta(days=15))
    assert _only(RuleKind.STALLED_DEAL).results[0].created == 1


def test_new_customer_check_ins_on_their_days(seller, make_contact):
    newbie = make_contact(seller, first_name="Nina")
    veteran = make_contact(seller, first_name="Vera")
    _order(newbie, NOW - dt.timedelta(days=31))
    _order(newbie, NOW - dt.timedelta(days=10))
    _order(veteran, NOW - dt.timedelta(days=400))
    _order(veteran, NOW - dt.timedelta(days=31))
    run = _only(RuleKind.NEW_CUSTOMER)
    keys = set(Task.objects.values_list("trigger_key", flat=True))
    # Day 7 passed 24 days ago (beyond the 7-day window), day 30 is due; the veteran is not new.
    assert keys == {f"contact:{newbie.pk}:day30"}
    assert run.results[0].created == 1
    assert "First purchase on" in Task.objects.get().reason
    assert _only(RuleKind.NEW_CUSTOMER).results[0].created == 0


def test_purchase_interval_from_orders_then_give_up(seller, make_contact):
    due = make_contact(seller, first_name="Dora")
    lost = make_contact(seller, first_name="Lola")
    early = make_contact(seller, first_name="Emil")
    for days in (100, 70, 40):  # every 30 days, last 40 days ago: passed by 10 > 7 grace days
        _order(due, NOW - dt.timedelta(days=days))
    for days in (300, 290):  # every 10 days, last 290 days ago: beyond 3 intervals, lost
        _order(lost, NOW - dt.timedelta(days=days))
    for days in (60, 30):  # every 30 days, last 30 days ago: not yet
        _order(early, NOW - dt.timedelta(days=days))
    assert _only(RuleKind.PURCHASE_INTERVAL).results[0].created == 1
    task = Task.objects.get()
    assert task.contact == due and "every 30 days" in task.reason and "from their orders" in task.reason
    assert _only(RuleKind.PURCHASE_INTERVAL).results[0].created == 0


def test_purchase_interval_reads_stored_scores(seller, make_contact):
    from rapport.reports.models import CustomerScore, ModelRun

    contact = make_contact(seller, first_name="Sara")
    run = ModelRun.objects.create(as_of=NOW.date(), engine_version="t", status="done")
    CustomerScore.objects.create(contact=contact, run=run, as_of=NOW.date(), model="bgnbd", engine_version="t",
                                 orders=4, usual_interval_days=20, last_order_at=NOW - dt.timedelta(days=30))
    assert _only(RuleKind.PURCHASE_INTERVAL).results[0].created == 1
    assert "latest insights refresh" in Task.objects.get().reason


def test_lead_sla_near_deadline_only_unanswered_open_leads(seller, make_contact):
    contact = make_contact(seller, first_name="Lea")
    near = Lead.objects.create(contact=contact, owner=seller, response_due_at=NOW + dt.timedelta(hours=2))
    Lead.objects.create(contact=contact, owner=seller, response_due_at=NOW + dt.timedelta(days=2))
    Lead.objects.create(contact=contact, owner=seller, response_due_at=NOW + dt.timedelta(hours=1),
                        first_response_at=NOW)
    Lead.objects.create(contact=contact, owner=seller, response_due_at=NOW + dt.timedelta(hours=1),
                        status=LeadStatus.DISQUALIFIED)
    Lead.objects.create(contact=contact, owner=None, response_due_at=NOW + dt.timedelta(hours=1))
    result = _only(RuleKind.LEAD_SLA).results[0]
    assert result.created == 1 and result.skipped_no_owner == 1
    task = Task.objects.get()
    assert task.lead == near and task.priority == "high" and task.due_at == near.response_due_at


def test_disabled_rule_does_not_run(seller):
    deal = deal_services.create_deal(actor=seller, data={"name": "Quiet", "amount": "10", "currency": "EUR"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=NOW - dt.timedelta(days=40))
    FollowUpRule.objects.filter(kind=RuleKind.STALLED_DEAL).update(enabled=False)
    run_follow_up_rules(now=NOW)
    assert not Task.objects.filter(deal=deal).exists()


def test_database_refuses_a_second_task_for_the_same_trigger(seller):
    rule = FollowUpRule.objects.get(kind=RuleKind.STALLED_DEAL)
    Task.objects.create(title="a", rule=rule, trigger_key="deal:1:2026-01-01", assignee=seller)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(title="b", rule=rule, trigger_key="deal:1:2026-01-01", assignee=seller)


def test_bad_settings_and_unknown_rule_are_refused(db):
    rule = FollowUpRule.objects.get(kind=RuleKind.NEW_CUSTOMER)
    rule.settings = {"check_in_days": ["soon"]}
    rule.save()
    with pytest.raises(ValidationFailed) as error:
        run_follow_up_rules(kinds=[RuleKind.NEW_CUSTOMER])
    assert "settings.check_in_days" in error.value.errors
    with pytest.raises(ValidationFailed) as error:
        run_follow_up_rules(kinds=["birthday"])
    assert "rule" in error.value.errors


def test_command_runs_and_enqueues(seller):
    deal = deal_services.create_deal(actor=seller, data={"name": "Quiet", "amount": "10", "currency": "EUR"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=NOW - dt.timedelta(days=40))
    out = StringIO()
    call_command("assistant", "rules", stdout=out)
    assert "stalled_deal" in out.getvalue() and "1 task(s) made" in out.getvalue()
    out = StringIO()
    call_command("assistant", "rules", "--enqueue", stdout=out)  # the tests' backend runs it at once
    assert "queued" in out.getvalue()
    assert Task.objects.filter(deal=deal).count() == 1


def test_demo_fills_today_and_resets_cleanly(db):
    from django.contrib.auth import get_user_model

    from rapport.assistant.selectors.agenda import agenda_for
    from rapport.demo.generator import load_demo, reset_demo

    summary = load_demo(contacts=300, seed=7)
    assert summary.tasks["hand_made_tasks"] > 0
    statuses = set(Task.objects.values_list("status", flat=True))
    assert statuses == {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED}
    assert Task.objects.filter(origin=TaskOrigin.RULE).exists()
    seller = get_user_model().objects.filter(username__in=summary.users, profile__role="seller").first()
    agenda = agenda_for(seller)
    assert agenda.overdue and {line.kind for line in agenda.lines} >= {"task"}
    reset_demo()
    assert not Task.objects.exists()
