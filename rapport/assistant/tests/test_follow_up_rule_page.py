"""The follow-up rules page: only admins see it and tune the rules; bad input per field comes back
with its reason next to the field, the text as typed, and nothing saved; a switched-off rule
makes nothing; "Run now" queues a run for the worker and the page follows it to the end."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.assistant.models import FollowUpRule, FollowUpRun, RuleKind, RuleRunStatus, Task
from rapport.assistant.services.rules import run_follow_up_rules
from rapport.core.models import AuditEntry
from rapport.sales.models import Deal
from rapport.sales.services import deals as deal_services

# Marked, not only reached through fixtures: pytest-django runs unmarked tests after the
# transactional ones, which empty the tables and with them the rules the migration ships.
pytestmark = pytest.mark.django_db

PAGE = reverse("follow_up_rules")
RUN = reverse("follow_up_rules_run")
STATUS = reverse("follow_up_rules_status")


def _rule(kind) -> FollowUpRule:
    return FollowUpRule.objects.get(kind=kind)


def _form(rule: FollowUpRule, **values) -> dict:
    """The card's form as a browser posts it: every field it shows, as text, with these changes.
    The switch is sent only when on, as a checkbox is."""
    fields = {"enabled": rule.enabled, "days": str(rule.days), "priority": rule.priority, **{
        name: ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        for name, value in rule.settings.items()}}
    fields.update(values)
    data = {f"rule-{rule.pk}-{name}": value for name, value in fields.items() if name != "enabled"}
    if fields["enabled"]:
        data[f"rule-{rule.pk}-enabled"] = "on"
    return data


def _stored(rule: FollowUpRule) -> tuple:
    rule.refresh_from_db()
    return rule.enabled, rule.days, rule.priority, rule.settings, rule.updated_at


def _field_error(page: str, rule: FollowUpRule, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="id_rule-{rule.pk}-{field}_error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def _value(page: str, rule: FollowUpRule, field: str) -> str:
    found = re.search(rf'<input[^>]*name="rule-{rule.pk}-{field}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', found.group(0)) if found else None
    return html.unescape(value.group(1)) if value else ""


def _stalled_deal(seller, days_quiet=30) -> Deal:
    deal = deal_services.create_deal(actor=seller, data={"name": "Quiet deal", "amount": "1000", "currency": "EUR"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - dt.timedelta(days=days_quiet))
    return deal


# --- who sees it ----------------------------------------------------------------------------

def test_admin_sees_every_rule_in_plain_words_with_its_own_fields(client, admin_user):
    client.force_login(admin_user)
    reply = client.get(PAGE, secure=True)
    page = html.unescape(reply.content.decode())
    assert reply.status_code == 200
    assert f'href="{PAGE}" aria-current="page"' in page  # linked in the menu, for admins
    assert "whoever logged it gets a “Follow up” task due 2 days later" in page
    assert "Only meetings of the last 14 days count" in page
    assert "An open deal with no activity for 14 days" in page
    assert "a check-in 7, 30 and 90 days after the customer's first purchase" in page
    assert "at least 2 orders whose next purchase is more than 7 days overdue" in page
    assert "After 3 usual intervals" in page
    assert "“Respond” task for its owner 4 hours before its first-response deadline" in page
    assert page.count("Last run: never.") == 5
    meeting, lead = _rule(RuleKind.AFTER_MEETING), _rule(RuleKind.LEAD_SLA)
    new_customer, interval = _rule(RuleKind.NEW_CUSTOMER), _rule(RuleKind.PURCHASE_INTERVAL)
    assert _value(page, meeting, "days") == "2" and _value(page, meeting, "look_back_days") == "14"
    assert _value(page, new_customer, "check_in_days") == "7, 30, 90"
    assert _value(page, interval, "min_orders") == "2" and _value(page, interval, "give_up_after_intervals") == "3"
    assert _value(page, lead, "hours_before") == "4"
    # The lead rule reads hours, not N days, and its tasks are always high priority: no boxes
    # that would change nothing.
    assert f'name="rule-{lead.pk}-days"' not in page and f'name="rule-{lead.pk}-priority"' not in page
    assert f'name="rule-{meeting.pk}-check_in_days"' not in page
    assert "<script>" not in page  # CSP: no inline script


@pytest.mark.parametrize("who", ["seller", "manager"])
def test_sellers_and_managers_get_403_everywhere_and_change_nothing(client, request, who):
    user = request.getfixturevalue(who)
    rule = _rule(RuleKind.STALLED_DEAL)
    before = _stored(rule)
    client.force_login(user)
    assert client.get(PAGE, secure=True).status_code == 403
    assert client.get(STATUS, secure=True).status_code == 403
    assert client.post(reverse("follow_up_rule_save", args=[rule.pk]), _form(rule, days="1", enabled=False),
                       secure=True).status_code == 403
    assert client.post(RUN, {"kind": rule.kind}, secure=True).status_code == 403
    assert client.post(RUN, {}, secure=True).status_code == 403
    assert _stored(rule) == before and not FollowUpRun.objects.exists()
    home = client.get(reverse("cadence_list"), secure=True).content.decode()
    assert PAGE not in home  # neither in the menu nor on the cadences page


def test_an_unknown_rule_is_404_for_an_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.post(reverse("follow_up_rule_save", args=[999]), {}, secure=True).status_code == 404


# --- saving ---------------------------------------------------------------------------------

def test_admin_switches_off_and_tunes_a_rule_and_the_change_is_audited(client, admin_user):
    rule = _rule(RuleKind.STALLED_DEAL)
    client.force_login(admin_user)
    reply = client.post(reverse("follow_up_rule_save", args=[rule.pk]),
                        _form(rule, enabled=False, days="21", priority="high"), secure=True)
    assert reply.status_code == 302 and reply["Location"] == f"{PAGE}#rule-{rule.pk}"
    enabled, days, priority, settings_, _ = _stored(rule)
    assert (enabled, days, priority, settings_) == (False, 21, "high", {})
    entry = AuditEntry.objects.get(record_type="assistant.followuprule", record_id=rule.pk)
    assert entry.actor == admin_user and entry.source == "web"
    assert entry.changes == {"enabled": [True, False], "days": [14, 21], "priority": ["normal", "high"]}
    page = html.unescape(client.get(PAGE, secure=True).content.decode())
    assert "An open deal with no activity for 21 days" in page
    assert f'name="rule-{rule.pk}-enabled"' in page and "Saved “Deal without activity” (off)" in page
    assert "Switched off: switch it on and save to run it." in page


def test_admin_saves_each_kinds_own_settings_and_keeps_settings_the_page_does_not_show(client, admin_user):
    client.force_login(admin_user)
    new_customer = _rule(RuleKind.NEW_CUSTOMER)
    new_customer.settings = {**new_customer.settings, "note": "set through the API"}
    new_customer.save()
    cases = [
        (RuleKind.NEW_CUSTOMER, {"check_in_days": " 60, 7,14 ,7, "},
         {"check_in_days": [7, 14, 60], "note": "set through the API"}),
        (RuleKind.AFTER_MEETING, {"look_back_days": "30"}, {"look_back_days": 30}),
        (RuleKind.PURCHASE_INTERVAL, {"min_orders": "3", "give_up_after_intervals": "2.5"},
         {"min_orders": 3, "give_up_after_intervals": 2.5}),
        (RuleKind.LEAD_SLA, {"hours_before": "1.5"}, {"hours_before": 1.5}),
    ]
    for kind, values, expected in cases:
        rule = _rule(kind)
        reply = client.post(reverse("follow_up_rule_save", args=[rule.pk]), _form(rule, **values), secure=True)
        assert reply.status_code == 302, (kind, reply.content.decode()[:300])
        rule.refresh_from_db()
        assert rule.settings == expected, kind
    page = html.unescape(client.get(PAGE, secure=True).content.decode())
    assert "a check-in 7, 14 and 60 days after" in page and "1.5 hours before" in page
    assert "After 2.5 usual intervals" in page and "Only meetings of the last 30 days" in page


BAD_INPUT = [
    (RuleKind.STALLED_DEAL, "days", "-3", "a whole number of days from 0 to 3650"),
    (RuleKind.STALLED_DEAL, "days", "3651", "a whole number of days from 0 to 3650"),
    (RuleKind.STALLED_DEAL, "days", "two weeks", "Enter a whole number of days, such as 7."),
    (RuleKind.STALLED_DEAL, "days", "", "Enter a whole number of days, such as 7."),
    (RuleKind.STALLED_DEAL, "priority", "urgent", "choose one of: low, normal, high"),
    (RuleKind.NEW_CUSTOMER, "check_in_days", "7, x", "“x” is not a whole number of days"),
    (RuleKind.NEW_CUSTOMER, "check_in_days", "7, 30.5", "“30.5” is not a whole number of days"),
    (RuleKind.NEW_CUSTOMER, "check_in_days", "0, 30", "one or more whole days from 1 to 3650"),
    (RuleKind.NEW_CUSTOMER, "check_in_days", " , ", "one or more whole days from 1 to 3650"),
    (RuleKind.LEAD_SLA, "hours_before", "400", "a number from 0 to 336"),
    (RuleKind.LEAD_SLA, "hours_before", "-1", "a number from 0 to 336"),
    (RuleKind.LEAD_SLA, "hours_before", "soon", "Enter a number of hours, such as 4 or 1.5."),
    (RuleKind.AFTER_MEETING, "look_back_days", "0", "a number from 1 to 365"),
    (RuleKind.AFTER_MEETING, "look_back_days", "14.5", "Enter a whole number of days, such as 14."),
    (RuleKind.PURCHASE_INTERVAL, "min_orders", "1", "a number from 2 to 1000"),
    (RuleKind.PURCHASE_INTERVAL, "give_up_after_intervals", "0", "a number from 1 to 100"),
    (RuleKind.PURCHASE_INTERVAL, "give_up_after_intervals", "nan", "Enter a number, such as 3 or 2.5."),
]


@pytest.mark.parametrize(("kind", "field", "typed", "reason"), BAD_INPUT)
def test_bad_input_is_named_next_to_its_field_kept_as_typed_and_nothing_is_saved(client, admin_user, kind, field,
                                                                                 typed, reason):
    rule = _rule(kind)
    before = _stored(rule)
    client.force_login(admin_user)
    # Switching the rule off in the same post: that must not be saved either.
    reply = client.post(reverse("follow_up_rule_save", args=[rule.pk]), _form(rule, enabled=False, **{field: typed}),
                        secure=True)
    page = reply.content.decode()
    assert reply.status_code == 422
    assert reason in _field_error(page, rule, field)
    assert "Not saved: please correct the fields marked below." in page
    if field != "priority":
        assert _value(page, rule, field) == typed
        assert re.search(rf'name="rule-{rule.pk}-{field}"[^>]*autofocus', page)
    assert f'id="id_rule-{rule.pk}-enabled" checked' not in page  # the switch as it was posted
    assert _stored(rule) == before
    assert not AuditEntry.objects.filter(record_type="assistant.followuprule").exists()


def test_every_wrong_field_is_named_at_once(client, admin_user):
    rule = _rule(RuleKind.PURCHASE_INTERVAL)
    before = _stored(rule)
    client.force_login(admin_user)
    reply = client.post(reverse("follow_up_rule_save", args=[rule.pk]),
                        _form(rule, days="-1", priority="urgent", min_orders="x", give_up_after_intervals="500"),
                        secure=True)
    page = reply.content.decode()
    assert reply.status_code == 422
    assert _field_error(page, rule, "days") == "a whole number of days from 0 to 3650"
    assert _field_error(page, rule, "priority") == "choose one of: low, normal, high"
    assert _field_error(page, rule, "min_orders") == "Enter a whole number of orders, such as 2."
    assert _field_error(page, rule, "give_up_after_intervals") == "a number from 1 to 100"
    assert _value(page, rule, "min_orders") == "x" and _value(page, rule, "give_up_after_intervals") == "500"
    # The other cards are untouched and show what is stored.
    other = _rule(RuleKind.STALLED_DEAL)
    assert _value(page, other, "days") == "14" and not _field_error(page, other, "days")
    assert _stored(rule) == before


def test_a_switched_off_rule_makes_no_tasks_on_the_next_run_and_cannot_be_run_now(client, admin_user, seller):
    deal = _stalled_deal(seller)
    rule = _rule(RuleKind.STALLED_DEAL)
    client.force_login(admin_user)
    client.post(reverse("follow_up_rule_save", args=[rule.pk]), _form(rule, enabled=False), secure=True)
    run_follow_up_rules()
    assert not Task.objects.filter(deal=deal).exists()
    reply = client.post(RUN, {"kind": rule.kind}, secure=True, follow=True)
    assert "Not run: this rule is switched off" in html.unescape(reply.content.decode())
    assert not FollowUpRun.objects.exists()
    rule.refresh_from_db()
    client.post(reverse("follow_up_rule_save", args=[rule.pk]), _form(rule, enabled=True), secure=True)
    run_follow_up_rules()
    assert Task.objects.filter(deal=deal, rule=rule).count() == 1


# --- Run now --------------------------------------------------------------------------------

def test_run_now_with_a_backend_that_runs_at_once_shows_what_it_made(client, admin_user, seller,
                                                                    django_capture_on_commit_callbacks):
    # The tests' backend runs a task as soon as it is queued (as RAPPORT_TASK_BACKEND allows).
    deal = _stalled_deal(seller)
    rule = _rule(RuleKind.STALLED_DEAL)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(RUN, {"kind": rule.kind}, secure=True)
    assert reply.status_code == 302 and reply["Location"] == f"{PAGE}#rule-{rule.pk}"
    run = FollowUpRun.objects.get()
    assert (run.status, run.kind, run.created, run.results, run.requested_by) == (
        RuleRunStatus.DONE, "stalled_deal", 1, {"stalled_deal": 1}, admin_user)
    assert Task.objects.get(rule=rule).deal == deal
    assert AuditEntry.objects.filter(record_type="assistant.followuprun", record_id=run.pk, actor=admin_user).exists()
    page = html.unescape(client.get(PAGE, secure=True).content.decode())
    assert f"Run #{run.pk} of one rule (Deal without activity)" in page
    assert "it made 1 task (Deal without activity: 1)" in page
    assert page.count("Last run: never.") == 4 and "it made 1 task." in page
    assert 'hx-trigger="every 2s"' not in page  # nothing left to follow


def test_run_all_runs_every_rule_that_is_on_and_the_cadences(client, admin_user, seller,
                                                            django_capture_on_commit_callbacks):
    _stalled_deal(seller)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, {}, secure=True)
    run = FollowUpRun.objects.get()
    assert run.kind == "" and run.status == RuleRunStatus.DONE and run.created == 1
    assert set(run.results) == {*RuleKind.values, "cadences"} and run.results["stalled_deal"] == 1
    assert FollowUpRule.objects.filter(last_run_at__isnull=False).count() == 5


@pytest.fixture
def database_queue(settings):
    """The real default: tasks wait in the database for `rapport db_worker`."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _work_the_queue() -> None:
    """What `rapport db_worker` does with each waiting task: claim it and run it through the
    worker's own code. (Its polling loop is left out: it opens and closes connections, which
    does not mix with a test's transaction on PostgreSQL.)"""
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    for result in DBTaskResult.objects.ready():
        result.claim(worker.worker_id)
        worker.run_task(result)


def test_run_now_queues_for_the_worker_and_the_page_follows_it_to_the_end(client, admin_user, seller, database_queue,
                                                                         django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    _stalled_deal(seller)
    rule = _rule(RuleKind.STALLED_DEAL)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(RUN, {}, secure=True, follow=True)
    run = FollowUpRun.objects.get()
    page = html.unescape(reply.content.decode())
    assert run.status == RuleRunStatus.QUEUED and not Task.objects.exists()  # nothing ran in the request
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    assert f"Run #{run.pk} queued: the background worker runs every rule" in page
    assert f'hx-get="{STATUS}" hx-trigger="every 2s"' in page
    assert "One run at a time: wait for this one to finish." in page
    assert "A run of every rule is queued." in page
    # One run at a time.
    again = html.unescape(client.post(RUN, {"kind": rule.kind}, secure=True, follow=True).content.decode())
    assert "Not run: a run of every rule is already queued" in again and FollowUpRun.objects.count() == 1

    fragment = client.get(STATUS, secure=True).content.decode()
    assert "Queued" in fragment and 'hx-trigger="every 2s"' in fragment

    _work_the_queue()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    run.refresh_from_db()
    assert run.status == RuleRunStatus.DONE and run.created == 1 and run.started_at and run.finished_at
    fragment = html.unescape(client.get(STATUS, secure=True).content.decode())
    assert "Done" in fragment and "it made 1 task (" in fragment and "Deal without activity: 1" in fragment
    assert 'hx-trigger="every 2s"' not in fragment  # polling stops
    # Each rule's last-run line comes along, swapped in beside its card.
    card = re.search(rf'<div class="rule-run" id="rule-run-{rule.pk}" hx-swap-oob="true">(.*?)</div>', fragment,
                     re.S)
    assert card and "it made 1 task." in card.group(1) and "disabled" not in card.group(1)


def test_a_failed_run_says_why(client, admin_user, django_capture_on_commit_callbacks):
    # Settings broken behind the service's back (straight in the database).
    FollowUpRule.objects.filter(kind=RuleKind.NEW_CUSTOMER).update(settings={"check_in_days": ["soon"]})
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUN, {"kind": RuleKind.NEW_CUSTOMER}, secure=True)
    run = FollowUpRun.objects.get()
    assert run.status == RuleRunStatus.FAILED and "settings.check_in_days" in run.error
    page = html.unescape(client.get(PAGE, secure=True).content.decode())
    assert "It failed: settings.check_in_days: one or more whole days" in page
    # The page still opens, says the rule cannot run and shows the stored text to correct.
    assert "This rule cannot run until its settings are corrected below (check in days: one or more" in page
    assert _value(page, _rule(RuleKind.NEW_CUSTOMER), "check_in_days") == "soon"


def test_a_run_whose_worker_never_came_no_longer_blocks(client, admin_user, database_queue,
                                                        django_capture_on_commit_callbacks):
    FollowUpRun.objects.create(status=RuleRunStatus.QUEUED, requested_at=timezone.now() - dt.timedelta(hours=2))
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(RUN, {"kind": RuleKind.LEAD_SLA}, secure=True, follow=True)
    assert "queued: the background worker runs the rule" in html.unescape(reply.content.decode())
    assert FollowUpRun.objects.filter(status=RuleRunStatus.QUEUED).count() == 2


def test_run_now_refuses_an_unknown_rule(client, admin_user):
    client.force_login(admin_user)
    reply = client.post(RUN, {"kind": "birthday"}, secure=True, follow=True)
    assert "Not run: unknown rule 'birthday'" in html.unescape(reply.content.decode())
    assert not FollowUpRun.objects.exists()
