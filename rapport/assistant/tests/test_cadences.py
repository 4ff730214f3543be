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


# --- changing a cadence ---------------------------------------------------------------------

def _manager_of_south(teams):
    from django.contrib.auth import get_user_model

    from rapport.core.models import Profile

    user = get_user_model().objects.create_user(username="sol_manager", password="x", first_name="Sol")
    Profile.objects.filter(user=user).update(role="manager", team=teams["south"])
    user.refresh_from_db()
    return user


def test_a_manager_changes_the_steps_in_a_new_order_and_the_audit_says_what_changed(cadence, manager):
    from rapport.core.models import AuditEntry

    new_steps = [{"kind": "call", "wait_days": 1, "title": "Ask about the trial"},
                 {"kind": "email", "wait_days": 2, "template_name": "Hello"}]
    cadences.update_cadence(actor=manager, cadence=cadence,
                            data={"name": " Welcome back ", "active": False, "steps": new_steps})
    cadence.refresh_from_db()
    assert cadence.name == "Welcome back" and not cadence.active
    assert [(s.position, s.kind, s.wait_days) for s in cadence.steps.order_by("position")] == [
        (0, "call", 1), (1, "email", 2)]
    entry = AuditEntry.objects.filter(record_type="assistant.cadence", record_id=cadence.pk,
                                      action="update").get()
    assert entry.changes["name"] == ["Welcome", "Welcome back"]
    assert entry.changes["active"] == [True, False]
    assert entry.changes["steps"][1] == ["Call: Ask about the trial, after 1 day", "E-mail “Hello”, after 2 days"]
    assert len(entry.changes["steps"][0]) == 3


def test_saving_the_same_cadence_changes_nothing_and_leaves_no_audit_entry(cadence, manager):
    from rapport.core.models import AuditEntry

    before = list(cadence.steps.values_list("pk", flat=True))
    cadences.update_cadence(actor=manager, cadence=cadence, data={"name": "Welcome", "steps": STEPS})
    assert list(cadence.steps.values_list("pk", flat=True)) == before
    assert not AuditEntry.objects.filter(record_type="assistant.cadence", action="update").exists()


def test_who_may_change_a_cadence(cadence, seller, admin_user, teams):
    other_manager = _manager_of_south(teams)
    for actor in (seller, other_manager):
        with pytest.raises(NotAllowed):
            cadences.update_cadence(actor=actor, cadence=cadence, data={"name": "Mine now"})
    cadences.update_cadence(actor=admin_user, cadence=cadence, data={"name": "Kept by the admin"})
    cadence.refresh_from_db()
    assert cadence.name == "Kept by the admin"
    assert cadences.may_define_cadences(other_manager) and not cadences.may_define_cadences(seller)


def test_bad_changes_are_refused_field_by_field_and_nothing_is_changed(cadence, manager):
    with pytest.raises(ValidationFailed) as error:
        cadences.update_cadence(actor=manager, cadence=cadence, data={
            "name": "  ", "description": "x" * 2001, "active": "yes", "colour": "red",
            "steps": [{"kind": "call", "wait_days": "soon"}, {"kind": "task", "title": "t" * 201}]})
    assert set(error.value.errors) == {"name", "description", "active", "colour", "steps.0.wait_days",
                                       "steps.1.title"}
    cadence.refresh_from_db()
    assert cadence.name == "Welcome" and cadence.active and cadence.steps.count() == 3
    with pytest.raises(ValidationFailed) as error:
        cadences.update_cadence(actor=manager, cadence=cadence, data={"steps": []})
    assert error.value.errors == {"steps": "a cadence needs at least one step"}
    with pytest.raises(ValidationFailed) as error:
        cadences.update_cadence(actor=manager, cadence=cadence,
                                data={"steps": [{"kind": "call"}] * (cadences.MAX_STEPS + 1)})
    assert "steps" in error.value.errors


def test_long_names_and_titles_are_refused_not_cut(manager):
    with pytest.raises(ValidationFailed) as error:
        cadences.create_cadence(actor=manager, name="n" * 121, steps=[
            {"kind": "task", "title": "t" * 201}, {"kind": "email", "template_name": "m" * 121}])
    assert set(error.value.errors) == {"name", "steps.0.title", "steps.1.template_name"}
    assert not cadences.Cadence.objects.exists()


def test_enrolled_contacts_keep_their_place_by_number(cadence, manager, seller, make_contact):
    ahead, behind = make_contact(seller), make_contact(seller)
    first = cadences.enrol_contact(actor=seller, cadence=cadence, contact=ahead, now=NOW)
    cadences.advance_enrolments(now=NOW)  # step 1 made; step 2 waits 3 days
    cadences.enrol_contact(actor=seller, cadence=cadence, contact=behind, now=NOW + dt.timedelta(days=1))
    cadences.update_cadence(actor=manager, cadence=cadence, data={"steps": [
        {"kind": "call", "wait_days": 0, "title": "Open call"}, {"kind": "task", "wait_days": 3, "title": "Quote"}]})
    cadences.advance_enrolments(now=NOW + dt.timedelta(days=4))
    assert set(Task.objects.filter(contact=ahead).values_list("title", flat=True)) == {
        f"E-mail {ahead.first_name} {ahead.last_name} with the template “Hello”", "Quote"}
    assert list(Task.objects.filter(contact=behind).values_list("title", flat=True)) == ["Open call"]
    cadences.advance_enrolments(now=NOW + dt.timedelta(days=5))
    first.refresh_from_db()
    assert first.status == EnrolmentStatus.FINISHED  # the new series has two steps, both made


def test_stopping_by_hand_keeps_the_reason_and_refuses_a_long_one(cadence, seller, make_contact):
    enrolment = cadences.enrol_contact(actor=seller, cadence=cadence, contact=make_contact(seller))
    with pytest.raises(ValidationFailed) as error:
        cadences.stop_enrolment(actor=seller, enrolment=enrolment, reason="r" * 201)
    assert set(error.value.errors) == {"reason"}
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.ACTIVE
    cadences.stop_enrolment(actor=seller, enrolment=enrolment, reason="  ")
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.STOPPED and enrolment.stop_reason == "stopped by hand"


def test_two_people_enrolling_a_contact_at_once_get_one_enrolment_and_a_clear_reason(
        seller, teammate, make_contact, cadence, monkeypatch):
    """Both pass the "already enrolled?" check; the database lets one in and the other is told."""
    contact = make_contact(seller)
    real_filter = CadenceEnrolment.objects.filter

    def the_check_misses_the_other_enrolment(*args, **kwargs):
        found = real_filter(*args, **kwargs)
        return found.none() if kwargs.get("status") == EnrolmentStatus.ACTIVE else found

    cadences.enrol_contact(actor=seller, cadence=cadence, contact=contact)
    monkeypatch.setattr(CadenceEnrolment.objects, "filter", the_check_misses_the_other_enrolment)
    with pytest.raises(ValidationFailed) as error:
        cadences.enrol_contact(actor=teammate, cadence=cadence, contact=contact)
    assert error.value.errors == {"contact": "already enrolled in this cadence"}
    monkeypatch.undo()
    assert CadenceEnrolment.objects.filter(contact=contact).count() == 1
