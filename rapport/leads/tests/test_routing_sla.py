"""The first-response clock: answered by a logged call, escalated once when overdue."""

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from rapport.core.models import AuditEntry
from rapport.leads.models import Lead, LeadNotice, RoutingSettings
from rapport.leads.routing.escalation import escalate_overdue_leads
from rapport.timeline.services import log_activity

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def contact(seller, make_contact):
    return make_contact(seller)


def open_lead(contact, owner, **extra):
    extra.setdefault("created_at", timezone.now() - 3 * HOUR)
    return Lead.objects.create(contact=contact, owner=owner, team_id=owner.profile.team_id if owner else None,
                               **extra)


@pytest.mark.parametrize("kind, data", [
    ("call", {"duration_minutes": 5}), ("email", {"subject": "Your inquiry"}), ("meeting", {}),
])
def test_a_call_email_or_meeting_answers_the_contacts_open_leads(kind, data, seller, contact):
    lead = open_lead(contact, seller)
    closed = open_lead(contact, seller, status="disqualified")
    activity = log_activity(actor=seller, contact=contact, data={"kind": kind, **data})
    lead.refresh_from_db()
    closed.refresh_from_db()
    assert lead.first_response_at == activity.occurred_at
    assert lead.status == "working"  # someone spoke to them
    assert closed.first_response_at is None
    assert AuditEntry.objects.filter(record_type="leads.lead", record_id=lead.pk,
                                     changes__has_key="first_response_at").exists()


def test_a_note_is_not_a_response_and_the_first_response_is_kept(seller, contact):
    lead = open_lead(contact, seller)
    log_activity(actor=seller, contact=contact, data={"kind": "note", "body": "Looks promising"})
    lead.refresh_from_db()
    assert lead.first_response_at is None
    first = log_activity(actor=seller, contact=contact, data={"kind": "call"})
    log_activity(actor=seller, contact=contact, data={"kind": "call"})
    lead.refresh_from_db()
    assert lead.first_response_at == first.occurred_at


def test_an_activity_before_the_lead_arrived_does_not_answer_it(seller, contact):
    lead = open_lead(contact, seller, created_at=timezone.now() - HOUR)
    log_activity(actor=seller, contact=contact, data={"kind": "call", "occurred_at": timezone.now() - 5 * HOUR})
    lead.refresh_from_db()
    assert lead.first_response_at is None


def test_other_contacts_leads_are_untouched(seller, contact, make_contact):
    other = open_lead(make_contact(seller), seller)
    log_activity(actor=seller, contact=contact, data={"kind": "call"})
    other.refresh_from_db()
    assert other.first_response_at is None


def test_an_overdue_lead_is_escalated_to_the_manager_once(seller, manager, contact,
                                                        django_capture_on_commit_callbacks):
    now = timezone.now()
    overdue = open_lead(contact, seller, response_due_at=now - HOUR)
    on_time = open_lead(contact, seller, response_due_at=now + HOUR)
    answered = open_lead(contact, seller, response_due_at=now - HOUR, first_response_at=now - 2 * HOUR)
    closed = open_lead(contact, seller, response_due_at=now - HOUR, status="converted")
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue_leads(now=now) == {"escalated": 1, "notified": 1}
        assert escalate_overdue_leads(now=now + HOUR) == {"escalated": 0, "notified": 0}
    for lead in (overdue, on_time, answered, closed):
        lead.refresh_from_db()
    assert overdue.escalated_at == now
    assert on_time.escalated_at is None and answered.escalated_at is None and closed.escalated_at is None
    notice = LeadNotice.objects.get(kind="escalation")
    assert notice.recipient == manager and notice.lead == overdue and "owner Sam" in notice.message
    assert [m.to for m in mail.outbox] == [[manager.email]]


def test_a_team_without_manager_escalates_to_the_fallback_owner(other_seller, admin_user, make_contact):
    RoutingSettings.objects.update_or_create(pk=1, defaults={"fallback_owner": admin_user})
    lead = open_lead(make_contact(other_seller), other_seller, response_due_at=timezone.now() - HOUR)
    escalate_overdue_leads()
    assert LeadNotice.objects.get(kind="escalation", lead=lead).recipient == admin_user


def test_the_command_and_the_background_task_escalate(seller, manager, contact):
    from rapport.leads.routing.tasks import escalate_overdue_leads_task

    open_lead(contact, seller, response_due_at=timezone.now() - HOUR)
    out = StringIO()
    call_command("leads", "escalate", stdout=out)
    assert "Escalated 1 overdue lead(s); 1 notice(s) sent." in out.getvalue()
    open_lead(contact, seller, response_due_at=timezone.now() - HOUR)
    out = StringIO()
    call_command("leads", "escalate", "--enqueue", stdout=out)  # the tests' task backend runs it at once
    assert "queued" in out.getvalue()
    assert Lead.objects.filter(escalated_at__isnull=False).count() == 2
    assert escalate_overdue_leads_task.call() == {"escalated": 0, "notified": 0}
