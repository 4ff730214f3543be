"""The Today agenda: what is on it, its ranking by value at risk, who may see it, and the
one-click actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.assistant.models import Task, TaskStatus
from rapport.assistant.selectors.agenda import agenda_for, customer_risk_value
from rapport.assistant.services import tasks as services
from rapport.core.errors import NotAllowed
from rapport.leads.models import Lead
from rapport.sales.models import Deal
from rapport.sales.services import deals as deal_services
from rapport.timeline.models import Event

HTMX = {"HTTP_HX_REQUEST": "true"}
NOW = timezone.now()


def _task(actor, title, *, hours=-1, **data):
    return services.create_task(actor=actor, data={"title": title,
                                                   "due_at": (NOW + dt.timedelta(hours=hours)).isoformat(), **data})


def test_ranked_by_value_at_risk_with_reasons(seller, make_contact):
    small = deal_services.create_deal(actor=seller, data={"name": "Small", "amount": "1000", "currency": "EUR",
                                                          "probability": 50})
    big = deal_services.create_deal(actor=seller, data={"name": "Big", "amount": "10000", "currency": "EUR",
                                                        "probability": 50})
    contact = make_contact(seller)
    _task(seller, "Plain")
    _task(seller, "About small", deal=small.pk)
    _task(seller, "About big", deal=big.pk)
    _task(seller, "About contact", contact=contact.pk)
    Lead.objects.create(contact=contact, owner=seller, response_due_at=NOW - dt.timedelta(hours=1),
                        budget_amount=Decimal("40000"), budget_currency="EUR", predicted_chance=0.5)
    agenda = agenda_for(seller)
    titles = [line.title for line in agenda.lines]
    assert titles[:3] == [f"Respond to {contact.first_name} {contact.last_name}", "About big", "About small"]
    big_line = agenda.lines[1]
    assert big_line.value == Decimal("5000") and big_line.record_url == reverse("deal_detail", args=[big.pk])
    assert all(line.reason for line in agenda.lines)
    assert agenda.lines[0].overdue


def test_snoozed_future_and_done_tasks_stay_off(seller):
    _task(seller, "Due now")
    _task(seller, "Next week", hours=24 * 7)
    snoozed = _task(seller, "Snoozed")
    services.snooze_task(actor=seller, task=snoozed, until="tomorrow")
    done = _task(seller, "Done already")
    services.complete_task(actor=seller, task=done)
    assert [line.title for line in agenda_for(seller).lines] == ["Due now"]


def test_stalled_deal_shown_once_when_a_task_covers_it(seller):
    deal = deal_services.create_deal(actor=seller, data={"name": "Quiet", "amount": "500", "currency": "EUR"})
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=NOW - dt.timedelta(days=40))
    assert [line.kind for line in agenda_for(seller).lines] == ["deal"]
    _task(seller, "Call about quiet", deal=deal.pk)
    assert [line.kind for line in agenda_for(seller).lines] == ["task"]


def test_customer_risk_value_rule():
    assert customer_risk_value(1000.0, 0.25, 10) == Decimal("750.00")
    assert customer_risk_value(1000.0, None, 30) == Decimal("700.00")
    assert customer_risk_value(None, 0.1, 10) == 0
    assert customer_risk_value(1000.0, None, None) == 0


def test_who_may_see_whose_agenda(seller, teammate, manager, other_seller):
    _task(teammate, "Tia's task")
    with pytest.raises(NotAllowed):
        agenda_for(seller, teammate)
    with pytest.raises(NotAllowed):
        agenda_for(manager, other_seller)
    assert [line.title for line in agenda_for(manager, teammate).lines] == ["Tia's task"]


def test_today_page_and_team_page(client, seller, manager, teammate):
    _task(seller, "Ring the buyer")
    client.force_login(seller)
    page = client.get(reverse("today"), secure=True)
    assert page.status_code == 200 and b"Ring the buyer" in page.content and b"Overdue" in page.content
    assert client.get(reverse("today") + f"?user={teammate.pk}", secure=True).status_code == 403
    assert client.get(reverse("team_agenda"), secure=True).status_code == 403
    client.force_login(manager)
    team = client.get(reverse("team_agenda"), secure=True)
    assert team.status_code == 200 and b"Sam" in team.content


def test_empty_today(client, seller):
    client.force_login(seller)
    assert b"Nothing due today" in client.get(reverse("today"), secure=True).content


def test_complete_snooze_reschedule_by_htmx(client, seller, make_contact):
    contact = make_contact(seller)
    one, two, three = (_task(seller, name, contact=contact.pk) for name in ("One", "Two", "Three"))
    client.force_login(seller)
    reply = client.post(reverse("task_complete", args=[one.pk]), secure=True, **HTMX)
    assert reply.status_code == 200 and reply.content == b"" and "Done: One" in reply["HX-Trigger"]
    one.refresh_from_db()
    assert one.status == TaskStatus.DONE
    assert Event.objects.filter(contact=contact, summary="Task done: One", kind="task").exists()
    assert client.post(reverse("task_snooze", args=[two.pk]), {"until": "3h"}, secure=True, **HTMX).status_code == 200
    bad = client.post(reverse("task_snooze", args=[three.pk]), {"until": "someday"}, secure=True, **HTMX)
    assert bad.status_code == 422 and b"until" in bad.content
    bad = client.post(reverse("task_reschedule", args=[three.pk]), {"due_date": "31/12"}, secure=True, **HTMX)
    assert bad.status_code == 422 and b"due date" in bad.content
    ok = client.post(reverse("task_reschedule", args=[three.pk]), {"due_date": "2030-01-02"}, secure=True, **HTMX)
    assert ok.status_code == 200
    assert [line.title for line in agenda_for(seller).lines] == []


def test_log_call_logs_and_completes(client, seller, make_contact):
    contact = make_contact(seller)
    task = _task(seller, "Call Casey", contact=contact.pk)
    client.force_login(seller)
    client.post(reverse("task_log_call", args=[task.pk]), secure=True, **HTMX)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert contact.activities.filter(kind="call", subject="Call Casey").exists()


def test_someone_elses_task_is_404(client, seller, other_seller):
    task = _task(other_seller, "Otto's")
    client.force_login(seller)
    assert client.post(reverse("task_complete", args=[task.pk]), secure=True).status_code == 404


def test_quick_add_from_a_record_page(client, seller, other_seller, make_contact):
    contact = make_contact(seller)
    hidden = make_contact(other_seller)
    client.force_login(seller)
    panel = client.get(reverse("record_tasks") + f"?contact={contact.pk}", secure=True, **HTMX)
    assert panel.status_code == 200 and b'data-shortcut="n"' in panel.content
    assert client.get(reverse("record_tasks") + f"?contact={hidden.pk}", secure=True).status_code == 404
    reply = client.post(reverse("task_create"), {"title": "Send the brochure", "due_date": "2031-02-03",
                                                 "contact": contact.pk}, secure=True, **HTMX)
    assert reply.status_code == 204
    task = Task.objects.get(title="Send the brochure")
    assert task.contact == contact and task.all_day and task.assignee == seller
    bad = client.post(reverse("task_create"), {"title": "", "due_date": "tomorrow-ish", "contact": hidden.pk},
                      secure=True, **HTMX)
    assert bad.status_code == 422
    assert b"say what is to be done" in bad.content and b"2026-12-01" in bad.content
    assert Task.objects.count() == 1


def test_a_short_page_holds_the_most_valuable_lines_of_every_source_and_counts_the_rest(
        seller, admin_user, make_contact, make_company):
    """The ranking is done in the database per source; the page must still be the top of the
    whole list, in base-currency values, with every line counted."""
    from rapport.reports.models import CustomerScore, ModelRun
    from rapport.sales.services.rates import add_exchange_rate

    add_exchange_rate(actor=admin_user, currency="USD", rate="0.5", valid_from=NOW.date() - dt.timedelta(days=30))
    dollars = deal_services.create_deal(actor=seller, data={"name": "Dollars", "amount": "30000", "currency": "USD",
                                                            "probability": 50})  # 7,500 EUR at risk
    euros = deal_services.create_deal(actor=seller, data={"name": "Euros", "amount": "10000", "currency": "EUR",
                                                          "probability": 50})  # 5,000 EUR
    company = make_company(seller)
    run = ModelRun.objects.create(as_of=NOW.date(), engine_version="test", status="done")
    CustomerScore.objects.create(company=company, run=run, as_of=NOW.date(), model="bgnbd", engine_version="test",
                                 value_12m=12000, probability_alive=0.5)  # 6,000 EUR
    lead = Lead.objects.create(contact=make_contact(seller), owner=seller, budget_amount=Decimal("9000"), budget_currency="EUR",
                               predicted_chance=0.25)  # 2,250 EUR, no first-response deadline
    _task(seller, "About dollars", deal=dollars.pk)
    _task(seller, "About euros", deal=euros.pk)
    _task(seller, "About the company", company=company.pk)
    _task(seller, "About the lead", lead=lead.pk)
    for n in range(6):
        _task(seller, f"Small thing {n}")
    quiet = deal_services.create_deal(actor=seller, data={"name": "Quiet", "amount": "13000", "currency": "EUR",
                                                          "probability": 50})  # 6,500 EUR, stalled
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=NOW - dt.timedelta(days=60))
    _task(seller, "Later", hours=24 * 3)

    agenda = agenda_for(seller, limit=4)
    assert [line.title for line in agenda.lines] == ["About dollars", "Revive the deal Quiet", "About the company",
                                                    "About euros"]
    assert [line.value for line in agenda.lines] == [Decimal("7500"), Decimal("6500"), Decimal("6000"),
                                                    Decimal("5000")]
    # Ten tasks due (the one due in three days is not) and the stalled deal; every task is overdue.
    assert agenda.total == 11 and agenda.counts["task"] == 10 and agenda.counts["deal"] == 1
    assert agenda.overdue == 10
    whole = agenda_for(seller, limit=50)
    assert [line.title for line in whole.lines][4] == "About the lead" and whole.lines[4].value == Decimal("2250")
    assert len(whole.lines) == whole.total == 11


def test_who_is_behind_counts_due_today_to_each_sellers_own_midnight(seller, teammate, manager, other_seller):
    """A team across time zones: Sam in Auckland (UTC+12/13), Tia in UTC. "Due today" ends at
    each one's own midnight; an all-day task is due today while its day lasts, overdue after."""
    import zoneinfo

    from rapport.assistant.selectors.agenda import team_overview
    from rapport.core.models import Profile

    Profile.objects.filter(user=seller).update(time_zone="Pacific/Auckland")
    seller.profile.refresh_from_db()
    now = timezone.now()

    def local_midnight(zone_name):
        zone = zoneinfo.ZoneInfo(zone_name)
        day = now.astimezone(zone).date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0), tzinfo=zone)

    def due(actor, title, at):
        return services.create_task(actor=actor, data={"title": title, "due_at": at.isoformat()})

    for actor, zone_name in ((seller, "Pacific/Auckland"), (teammate, "UTC")):
        midnight = local_midnight(zone_name)
        if midnight - now > dt.timedelta(minutes=2):
            due(actor, "Before my midnight", midnight - dt.timedelta(minutes=1))
        due(actor, "After my midnight", midnight + dt.timedelta(minutes=1))
        due(actor, "An hour ago", now - dt.timedelta(hours=1))
        today_local = now.astimezone(zoneinfo.ZoneInfo(zone_name)).date()
        services.create_task(actor=actor, data={"title": "All day today", "due_date": today_local.isoformat()})
        services.create_task(actor=actor, data={"title": "All day yesterday",
                                                "due_date": (today_local - dt.timedelta(days=1)).isoformat()})
    _task(other_seller, "Another team's")
    rows = {row["user"].username: row for row in team_overview(manager)}
    for actor, zone_name in ((seller, "Pacific/Auckland"), (teammate, "UTC")):
        room = local_midnight(zone_name) - now > dt.timedelta(minutes=2)
        row = rows[actor.username]
        assert row["open"] == 4 + room
        assert row["overdue"] == 2  # an hour ago, and yesterday's all-day task
        assert row["today"] == 1 + room  # today's all-day task, and the one before midnight
    assert "otto_seller" not in rows


def test_snoozing_to_tomorrow_answers_in_the_sellers_own_time(client, seller):
    from rapport.core.models import Profile

    Profile.objects.filter(user=seller).update(time_zone="America/New_York")
    task = _task(seller, "Call back")
    client.force_login(seller)
    reply = client.post(reverse("task_snooze", args=[task.pk]), {"until": "tomorrow"}, secure=True, **HTMX)
    assert reply.status_code == 200
    assert "Snoozed until" in reply["HX-Trigger"] and "09:00: Call back" in reply["HX-Trigger"]
    task.refresh_from_db()
    assert task.snoozed_until.astimezone(dt.UTC).hour in (13, 14)  # 9:00 in New York, summer or winter
