"""Cadences: steps become tasks after their waits; a reply, a meeting or a disqualification stops them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.assistant.models import CadenceEnrolment, EnrolmentStatus, Task, TaskOrigin
from rapport.assistant.services import cadences
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.leads.models import Lead, LeadStatus
from rapport.timeline.models import Activity

NOW = timezone.now()
STEPS = [{"kind": "email", "wait_days": 0, "template_name": "Hello"}, {"kind": "call", "wait_days": 3},
         {"kind": "task", "wait_days": 7, "title": "Send a tip"}]


@pytest.fixture
def cadence(manager):
    return cadences.create_cadence(actor=manager, name="Welcome", steps=STEPS)


def test_steps_become_tasks_after_their_waits_then_finish(cadence, seller, make_contact):
    contact = make_contact(seller, first_name="Cleo")
    enrolment = cadences.enrol_contact(actor=seller, cadence=cadence, contact=contact, now=NOW)
    assert cadences.advance_enrolments(now=NOW).tasks == 1
    task = Task.objects.get()
    assert task.origin == TaskOrigin.CADENCE and "Hello" in task.title and task.assignee == seller
    assert "Step 1 of the cadence" in task.reason
    assert cadences.advance_enrolments(now=NOW + dt.timedelta(days=1)).tasks == 0  # waiting 3 days
    assert cadences.advance_enrolments(now=NOW + dt.timedelta(days=3, minutes=1)).tasks == 1
    assert cadences.advance_enrolments(now=NOW + dt.timedelta(days=11)).tasks == 1
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.FINISHED and Task.objects.count() == 3


@pytest.mark.parametrize("stop", ["reply", "meeting", "disqualified"])
def test_a_reply_a_meeting_or_a_disqualification_stops_it(cadence, seller, make_contact, stop):
    contact = make_contact(seller)
    enrolment = cadences.enrol_contact(actor=seller, cadence=cadence, contact=contact, now=NOW - dt.timedelta(days=1))
    if stop == "reply":
        Activity.objects.create(kind="email", direction="inbound", contact=contact, occurred_at=NOW, owner=seller)
    elif stop == "meeting":
        Activity.objects.create(kind="meeting", contact=contact, occurred_at=NOW, owner=seller)
        from rapport.timeline.services import record_event

        record_event(kind="meeting", contact=contact, occurred_at=NOW, summary="Meeting")
    else:
        Lead.objects.create(contact=contact, owner=seller, status=LeadStatus.DISQUALIFIED, disqualified_at=NOW)
    result = cadences.advance_enrolments(now=NOW)
    enrolment.refresh_from_db()
    assert result.stopped == 1 and result.tasks == 0
    assert enrolment.status == EnrolmentStatus.STOPPED and enrolment.stop_reason
    assert not Task.objects.exists()


def test_an_outbound_email_or_an_old_reply_does_not_stop_it(cadence, seller, make_contact):
    contact = make_contact(seller)
    Activity.objects.create(kind="email", direction="inbound", contact=contact, owner=seller,
                            occurred_at=NOW - dt.timedelta(days=10))
    enrolment = cadences.enrol_contact(actor=seller, cadence=cadence, contact=contact, now=NOW - dt.timedelta(days=1))
    Activity.objects.create(kind="email", direction="outbound", contact=contact, occurred_at=NOW, owner=seller)
    assert cadences.advance_enrolments(now=NOW).stopped == 0
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.ACTIVE


def test_bad_cadences_and_enrolments_are_refused(manager, seller, make_contact, cadence):
    with pytest.raises(ValidationFailed) as error:
        cadences.create_cadence(actor=manager, name="Bad", steps=[{"kind": "fax"}, {"kind": "email", "wait_days": -1}])
    assert {"steps.0.kind", "steps.1.wait_days", "steps.1.template_name"} <= set(error.value.errors)
    with pytest.raises(ValidationFailed):
        cadences.create_cadence(actor=manager, name="Empty", steps=[])
    with pytest.raises(NotAllowed):
        cadences.create_cadence(actor=seller, name="Mine", steps=STEPS)
    contact = make_contact(seller)
    cadences.enrol_contact(actor=seller, cadence=cadence, contact=contact)
    with pytest.raises(ValidationFailed):
        cadences.enrol_contact(actor=seller, cadence=cadence, contact=contact)
    enrolment = CadenceEnrolment.objects.get()
    with pytest.raises(NotAllowed):
        cadences.stop_enrolment(actor=manager, enrolment=enrolment)
    cadences.stop_enrolment(actor=seller, enrolment=enrolment)
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.STOPPED
