"""Cadence pages: who may define a cadence, the step form (good and bad input, adding and
moving rows), a cadence's enrolments, stopping by hand, and enrolling from the contact page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from rapport.assistant.models import Cadence, CadenceEnrolment, EnrolmentStatus
from rapport.assistant.services import cadences

STEPS = [{"kind": "email", "wait_days": 0, "template_name": "Hello"}, {"kind": "call", "wait_days": 3}]


@pytest.fixture
def cadence(manager):
    return cadences.create_cadence(actor=manager, name="Welcome", steps=STEPS)


def _post(rows, **values) -> dict:
    """The step form as a browser posts it: one group of fields per row."""
    data = {"name": values.pop("name", "Trial follow-up"), "description": values.pop("description", ""),
            "step_count": str(len(rows)), "do": values.pop("do", "save"), **values}
    for i, row in enumerate(rows):
        for field in ("kind", "wait_days", "title", "template_name"):
            data[f"step-{i}-{field}"] = str(row.get(field, ""))
        if row.get("remove"):
            data[f"step-{i}-remove"] = "on"
    return data


def test_a_seller_cannot_define_a_cadence_but_sees_and_uses_them(client, seller, cadence):
    client.force_login(seller)
    listing = client.get(reverse("cadence_list"), secure=True)
    assert listing.status_code == 200 and b"Welcome" in listing.content
    assert reverse("cadence_new").encode() not in listing.content
    assert client.get(reverse("cadence_new"), secure=True).status_code == 403
    assert client.post(reverse("cadence_new"), _post([{"kind": "call"}]), secure=True).status_code == 403
    assert client.get(reverse("cadence_edit", args=[cadence.pk]), secure=True).status_code == 403
    assert client.post(reverse("cadence_edit", args=[cadence.pk]), _post([{"kind": "call"}], name="Mine"),
                       secure=True).status_code == 403
    assert list(Cadence.objects.values_list("name", flat=True)) == ["Welcome"]
    assert cadence.steps.count() == 2


def test_a_manager_creates_a_two_step_cadence_and_blank_rows_are_left_out(client, manager):
    client.force_login(manager)
    page = client.get(reverse("cadence_new"), secure=True)
    assert page.status_code == 200 and b'name="step-2-kind"' in page.content  # three rows to fill
    reply = client.post(reverse("cadence_new"), _post([
        {"kind": "email", "wait_days": 0, "template_name": "Hello"}, {"kind": "", "wait_days": "0"},
        {"kind": "task", "wait_days": 4, "title": "Send a case study"}]), secure=True)
    cadence = Cadence.objects.get()
    assert reply.status_code == 302 and reply["Location"] == reverse("cadence_detail", args=[cadence.pk])
    assert [(s.position, s.kind, s.wait_days, s.title or s.template_name) for s in cadence.steps.all()] == [
        (0, "email", 0, "Hello"), (1, "task", 4, "Send a case study")]
    detail = client.get(reply["Location"], secure=True).content.decode()
    assert "E-mail “Hello”, straight away" in detail and "Task: Send a case study, after 4 days" in detail


def test_bad_input_is_marked_on_its_row_and_nothing_is_saved(client, manager):
    client.force_login(manager)
    reply = client.post(reverse("cadence_new"), _post([
        {"kind": "call", "wait_days": 1}, {"kind": "", "wait_days": "0"},
        {"kind": "email", "wait_days": "-2"}, {"kind": "fax", "title": "Send a fax"}], name=""), secure=True)
    html = reply.content.decode()
    assert reply.status_code == 422 and not Cadence.objects.exists()
    assert 'id="cadence-name-error">name the cadence' in html
    # The blank second row was left out, yet the errors land on the rows as the person sees them.
    assert 'id="step-2-wait_days-error">a whole number of days' in html
    assert 'id="step-2-template_name-error">an e-mail step names the template' in html
    assert 'id="step-3-kind-error">choose call, email or task' in html
    assert "step-0-kind-error" not in html and "step-1-" in html
    assert 'value="Send a fax"' in html and 'value="-2"' in html  # what was typed stays
    reply = client.post(reverse("cadence_new"), _post([{"kind": "call", "remove": True}]), secure=True)
    assert reply.status_code == 422 and 'id="steps-error">a cadence needs at least one step' in reply.content.decode()


def test_add_a_row_and_move_rows_without_saving(client, manager):
    client.force_login(manager)
    rows = [{"kind": "call", "title": "First"}, {"kind": "task", "title": "Second"}]
    added = client.post(reverse("cadence_new"), _post(rows, do="add"), secure=True).content.decode()
    assert 'name="step_count" value="3"' in added and not Cadence.objects.exists()
    moved = client.post(reverse("cadence_new"), _post(rows, do="up-1"), secure=True).content.decode()
    assert re.search(r'name="step-0-title" value="Second".*name="step-1-title" value="First"', moved, re.S)
    assert not Cadence.objects.exists()


def test_the_manager_who_made_it_changes_it_another_manager_may_not(client, manager, cadence, teams):
    from django.contrib.auth import get_user_model

    from rapport.core.models import Profile

    client.force_login(manager)
    form = client.get(reverse("cadence_edit", args=[cadence.pk]), secure=True).content.decode()
    assert 'value="Hello"' in form and 'name="step-2-kind"' in form  # the two steps and a blank row
    reply = client.post(reverse("cadence_edit", args=[cadence.pk]), _post(
        [{"kind": "call", "wait_days": 3}, {"kind": "email", "wait_days": 0, "template_name": "Hello"}],
        name="Welcome, call first"), secure=True)  # no "active" box ticked: switched off
    assert reply.status_code == 302
    cadence.refresh_from_db()
    assert cadence.name == "Welcome, call first" and not cadence.active
    assert [s.kind for s in cadence.steps.all()] == ["call", "email"]
    south = get_user_model().objects.create_user(username="sol_manager", password="x")
    Profile.objects.filter(user=south).update(role="manager", team=teams["south"])
    client.force_login(south)
    assert client.post(reverse("cadence_edit", args=[cadence.pk]), _post([{"kind": "call"}], name="Sol's"),
                       secure=True).status_code == 403
    cadence.refresh_from_db()
    assert cadence.name == "Welcome, call first"


def test_enrol_from_the_contact_page_then_stop_by_hand(client, seller, other_seller, cadence, make_contact):
    contact = make_contact(seller, first_name="Ines", last_name="Okafor")
    hidden = make_contact(other_seller)
    client.force_login(seller)
    page = client.get(reverse("contact_detail", args=[contact.pk]), secure=True).content.decode()
    assert f'{reverse("contact_cadences")}?contact={contact.pk}' in page
    card = client.get(reverse("contact_cadences") + f"?contact={contact.pk}", secure=True).content.decode()
    assert "Enrol in a cadence" in card and f'<option value="{cadence.pk}">Welcome</option>' in card
    assert client.get(reverse("contact_cadences") + f"?contact={hidden.pk}", secure=True).status_code == 404
    assert client.post(reverse("cadence_enrol"), {"contact": hidden.pk, "cadence": cadence.pk},
                       secure=True).status_code == 404
    reply = client.post(reverse("cadence_enrol"), {"contact": contact.pk, "cadence": cadence.pk}, secure=True)
    assert reply.status_code == 302 and reply["Location"] == reverse("contact_detail", args=[contact.pk])
    enrolment = CadenceEnrolment.objects.get()
    assert enrolment.contact == contact and enrolment.owner == seller
    card = client.get(reverse("contact_cadences") + f"?contact={contact.pk}", secure=True).content.decode()
    assert "Step 1 of 2 due" in card and "Enrol in a cadence" not in card  # no other cadence to offer
    again = client.post(reverse("cadence_enrol"), {"contact": contact.pk, "cadence": cadence.pk}, secure=True,
                        follow=True)
    assert "already enrolled in this cadence" in again.content.decode()
    assert client.post(reverse("cadence_enrol"), {"contact": contact.pk, "cadence": ""}, secure=True,
                       follow=True).content.decode().count("choose a cadence") == 1
    client.post(reverse("enrolment_stop", args=[enrolment.pk]), {"reason": "Bought already"}, secure=True)
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.STOPPED and enrolment.stop_reason == "Bought already"
    assert CadenceEnrolment.objects.count() == 1


def test_a_switched_off_cadence_takes_no_one(client, seller, manager, cadence, make_contact):
    cadences.update_cadence(actor=manager, cadence=cadence, data={"active": False})
    contact = make_contact(seller)
    client.force_login(seller)
    card = client.get(reverse("contact_cadences") + f"?contact={contact.pk}", secure=True).content.decode()
    assert "Welcome" not in card and "No cadences to enrol in yet" in card
    reply = client.post(reverse("cadence_enrol"), {"contact": contact.pk, "cadence": cadence.pk}, secure=True,
                        follow=True)
    assert "this cadence is switched off" in reply.content.decode() and not CadenceEnrolment.objects.exists()


def test_the_cadence_page_shows_only_enrolments_of_visible_contacts(
        client, seller, teammate, other_seller, manager, cadence, make_contact, django_assert_max_num_queries):
    mine = cadences.enrol_contact(actor=seller, cadence=cadence, contact=make_contact(seller, last_name="Mine"))
    mates = cadences.enrol_contact(actor=teammate, cadence=cadence,
                                   contact=make_contact(teammate, last_name="Mates"))
    theirs = cadences.enrol_contact(actor=other_seller, cadence=cadence,
                                    contact=make_contact(other_seller, last_name="Theirs"))
    client.force_login(seller)
    page = client.get(reverse("cadence_detail", args=[cadence.pk]), secure=True).content.decode()
    assert "Mine" in page and "Mates" in page and "Theirs" not in page
    # Only the person who enrolled the contact (or an admin) may stop it.
    assert reverse("enrolment_stop", args=[mine.pk]) in page
    assert reverse("enrolment_stop", args=[mates.pk]) not in page
    client.post(reverse("enrolment_stop", args=[mates.pk]), secure=True)
    mates.refresh_from_db()
    assert mates.status == EnrolmentStatus.ACTIVE
    assert client.post(reverse("enrolment_stop", args=[theirs.pk]), secure=True).status_code == 404
    listing = client.get(reverse("cadence_list"), secure=True).content.decode()
    assert re.search(r'<td class="num">2</td><td class="num">2</td>', listing)  # 2 steps, 2 enrolments seen
    for i in range(5):
        cadences.create_cadence(actor=manager, name=f"Extra {i}", steps=STEPS)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("cadence_list"), secure=True).status_code == 200
    assert client.get(reverse("cadence_detail", args=[cadence.pk]) + "?status=lost", secure=True).status_code == 404
    assert client.get(reverse("cadence_detail", args=[99999]), secure=True).status_code == 404


def test_the_navigation_and_today_link_to_cadences(client, seller):
    client.force_login(seller)
    today = client.get(reverse("today"), secure=True).content.decode()
    assert today.count(f'href="{reverse("cadence_list")}"') == 2
