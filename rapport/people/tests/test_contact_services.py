import pytest

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.models import AuditEntry
from rapport.people import selectors, services
from rapport.timeline.models import Event


def test_create_contact_normalises_and_audits(seller):
    contact = services.create_contact(actor=seller, data={
        "first_name": " Ada ", "last_name": "Lovelace", "email": "Ada@Example.COM",
        "phone": "+44 20 7946 0958", "tags": ["VIP", "vip", "newsletter"],
    })
    assert contact.email == "ada@example.com"
    assert contact.phone == "+442079460958"
    assert contact.first_name == "Ada"
    assert contact.owner == seller and contact.team_id == seller.profile.team_id
    assert sorted(selectors.contact_tags(contact)) == ["newsletter", "vip"]
    entry = AuditEntry.objects.get(record_type="people.contact", record_id=contact.pk)
    assert entry.action == "create" and entry.actor == seller
    assert entry.changes["email"] == [None, "ada@example.com"]
    assert Event.objects.filter(contact=contact, kind="record").count() == 1


@pytest.mark.parametrize("data, field", [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b.c", "phone": "12"}, "phone"),
    ({"email": "x@example.com", "lifecycle_stage": "prospect"}, "lifecycle_stage"),
    ({"email": "x@example.com", "country": "England"}, "country"),
    ({"email": "x@example.com", "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"email": "x@example.com", "shoe_size": 9}, "shoe_size"),
    ({"email": "x@example.com", "team": 1}, "team"),
    ({}, "first_name"),
])
def test_create_contact_rejects_bad_input_with_the_field(seller, data, field):
    with pytest.raises(ValidationFailed) as exc:
        services.create_contact(actor=seller, data=data)
    assert field in exc.value.errors


def test_email_is_unique_among_live_contacts_only(seller, make_contact):
    first = make_contact(seller, email="dup@example.com")
    with pytest.raises(ValidationFailed) as exc:
        make_contact(seller, email="DUP@example.com")
    assert "already" in exc.value.errors["email"]
    services.delete_contact(actor=seller, contact=first)
    second = make_contact(seller, email="dup@example.com")
    # Restoring the first would now duplicate the address: refused with a reason.
    with pytest.raises(ValidationFailed):
        services.restore_contact(actor=seller, contact_id=first.pk)
    services.delete_contact(actor=seller, contact=second)
    restored = services.restore_contact(actor=seller, contact_id=first.pk)
    assert restored.deleted_at is None


def test_update_records_old_and_new_values_and_stage_event(seller, make_contact):
    contact = make_contact(seller, lifecycle_stage="lead")
    services.update_contact(actor=seller, contact=contact, data={"lifecycle_stage": "customer", "job_title": "CTO"})
    entry = AuditEntry.objects.filter(record_id=contact.pk, action="update").get()
    assert entry.changes["lifecycle_stage"] == ["lead", "customer"]
    assert entry.changes["job_title"] == ["", "CTO"]
    event = Event.objects.get(contact=contact, kind="stage_change")
    assert event.payload == {"from": "lead", "to": "customer"}


def test_seller_cannot_see_or_change_another_teams_contact(seller, other_seller, make_contact):
    contact = make_contact(seller)
    with pytest.raises(NotVisible):
        selectors.get_contact(other_seller, contact.pk)
    with pytest.raises(NotVisible):
        services.update_contact(actor=other_seller, contact=contact, data={"job_title": "x"})
    assert not selectors.search_everything(other_seller, contact.email)["contacts"]
    assert selectors.search_everything(seller, contact.email)["contacts"] == [contact]


def test_seller_cannot_hand_a_contact_to_another_team(seller, other_seller, teammate, manager, make_contact):
    contact = make_contact(seller)
    with pytest.raises(ValidationFailed) as exc:
        services.update_contact(actor=seller, contact=contact, data={"owner": other_seller.pk})
    assert "owner" in exc.value.errors
    with pytest.raises(ValidationFailed):
        services.update_contact(actor=seller, contact=contact, data={"owner": teammate.pk})
    services.update_contact(actor=manager, contact=contact, data={"owner": teammate.pk})
    contact.refresh_from_db()
    assert contact.owner == teammate


def test_list_contacts_paginates_by_cursor_without_gaps(seller, make_contact):
    made = {make_contact(seller).pk for _ in range(7)}
    seen, cursor = [], None
    while True:
        page = selectors.list_contacts(seller, {"sort": "name"}, cursor=cursor, size=3)
        seen += [c.pk for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == 7 and set(seen) == made


def test_damaged_cursor_is_a_clear_error(seller):
    with pytest.raises(ValidationFailed) as exc:
        selectors.list_contacts(seller, {}, cursor="%%%garbage", size=3)
    assert "cursor" in exc.value.errors
