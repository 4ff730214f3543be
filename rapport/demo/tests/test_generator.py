"""The demo generator: deterministic, covers the product's vocabulary, and writes consistent rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count

from rapport.core.models import AuditEntry, Profile, Role
from rapport.demo.generator import DEMO_PASSWORD, DemoAlreadyLoaded, load_demo, reset_demo
from rapport.demo.models import DemoDataset
from rapport.people.custom_fields import clean_value
from rapport.people.models import Company, Contact, CustomField, LifecycleStage
from rapport.people.normalize import normalize_email, normalize_phone
from rapport.timeline.models import Activity, Event

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
SMALL = 300


def snapshot() -> dict:
    """What a load produced, with ids made relative so two loads can be compared."""
    first_contact = Contact.objects.order_by("id").values_list("id", flat=True).first()
    first_event = Event.objects.order_by("id").values_list("id", flat=True).first()
    contacts = list(Contact.objects.order_by("id").values_list(
        "first_name", "last_name", "email", "phone", "lifecycle_stage", "country", "job_title", "created_at")[:25])
    events = [(kind, contact_id - first_contact if contact_id else None, summary, occurred_at)
              for kind, contact_id, summary, occurred_at in Event.objects.filter(id__lt=first_event + 60)
              .order_by("id").values_list("kind", "contact_id", "summary", "occurred_at")]
    return {
        "counts": (Contact.objects.count(), Company.objects.count(), Activity.objects.count(),
                   Event.objects.count(), AuditEntry.objects.filter(source="demo").count()),
        "contacts": contacts,
        "companies": list(Company.objects.order_by("id").values_list("name", "domain", "country")[:10]),
        "events": events,
    }


@pytest.fixture
def demo(db):
    return load_demo(contacts=SMALL, seed=7, now=NOW)


def test_the_same_seed_gives_the_same_data(db):
    load_demo(contacts=SMALL, seed=7, now=NOW)
    first = snapshot()
    assert reset_demo() == 1
    assert Contact.objects.count() == 0 and Event.objects.count() == 0
    load_demo(contacts=SMALL, seed=7, now=NOW)
    assert snapshot() == first


def test_another_seed_gives_other_data(db):
    load_demo(contacts=SMALL, seed=7, now=NOW)
    first = snapshot()
    reset_demo()
    load_demo(contacts=SMALL, seed=8, now=NOW)
    assert snapshot()["contacts"] != first["contacts"]


def test_counts_match_the_summary(demo):
    assert demo.contacts == SMALL == Contact.objects.count()
    assert demo.companies == Company.objects.count() == round(SMALL / 8)
    assert demo.events == Event.objects.count()
    assert demo.activities == Activity.objects.count()
    # about ten events a contact, with a heavy tail: here one contact with 1,000 or more
    assert 5 * SMALL < demo.events < 25 * SMALL + 1600
    busy = Event.objects.filter(contact_id__in=demo.busy_contact_ids).values("contact_id").annotate(n=Count("id"))
    assert [row["n"] >= 1000 for row in busy] == [True]


def test_every_stage_and_every_role_is_there(demo):
    assert set(Contact.objects.values_list("lifecycle_stage", flat=True)) == set(LifecycleStage.values)
    demo_users = get_user_model().objects.filter(username__in=demo.users)
    assert set(Profile.objects.filter(user__in=demo_users).values_list("role", flat=True)) == set(Role.values)
    assert not demo_users.filter(username="admin").exists()  # `rapport serve` makes the real admin
    assert all(user.check_password(DEMO_PASSWORD) for user in demo_users)
    assert not demo_users.filter(is_superuser=True).exists()


def test_emails_are_valid_normalised_and_unique(demo):
    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(emails) == SMALL
    assert all(normalize_email(e) == e for e in emails)
    assert len(set(emails)) == len(emails)


def test_phones_are_e164_and_valid_for_the_contacts_country(demo):
    rows = list(Contact.objects.exclude(phone="").values_list("phone", "country"))
    assert len(rows) > SMALL // 2
    for phone, country in rows:
        assert normalize_phone(phone) == phone
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == country


def test_name_keys_match_what_the_services_store(demo):
    for first, last, key, last_key in Contact.objects.values_list("first_name", "last_name", "name_key",
                                                                  "last_name_key"):
        assert key == f"{first} {last}".lower()
        assert last_key == last.lower()


def test_contacts_belong_to_their_owners_team_and_their_companys_owner(demo):
    for contact in Contact.objects.select_related("company", "owner__profile"):
        assert contact.owner.profile.role == Role.SELLER
        assert contact.team_id == contact.owner.profile.team_id
        if contact.company:
            assert contact.owner_id == contact.company.owner_id
            assert contact.country == contact.company.country
        assert contact.time_zone


def test_events_reference_existing_contacts_and_their_companies(demo):
    company_of = dict(Contact.objects.values_list("id", "company_id"))
    company_ids = set(Company.objects.values_list("id", flat=True))
    for contact_id, company_id in Event.objects.values_list("contact_id", "company_id"):
        if contact_id is None:
            assert company_id in company_ids  # "Company created"
        else:
            assert contact_id in company_of
            assert company_id == company_of[contact_id]


def test_activities_and_their_events_agree(demo):
    activities = {a.pk: a for a in Activity.objects.all()}
    linked = Event.objects.filter(activity__isnull=False)
    assert linked.count() == len(activities)
    for event in linked:
        activity = activities[event.activity_id]
        assert (event.kind, event.contact_id, event.occurred_at) == (activity.kind, activity.contact_id,
                                                                     activity.occurred_at)
        assert event.actor_id == activity.owner_id
        if activity.kind in ("call", "meeting"):
            assert activity.duration_minutes and f"({activity.duration_minutes} min)" in event.summary
        if activity.kind == "email":
            assert activity.direction in ("inbound", "outbound") and activity.subject
        if activity.kind == "meeting":
            assert len(activity.attendees) == 2
    kinds = Counter(Event.objects.values_list("kind", flat=True))
    for kind in ("note", "call", "meeting", "email", "page_view", "form", "campaign_open", "campaign_click",
                 "stage_change", "record"):
        assert kinds[kind] > 0, kind


def test_history_spans_six_to_twenty_four_months(demo):
    oldest = NOW - dt.timedelta(days=731)
    assert not Event.objects.filter(occurred_at__lt=oldest).exists()
    assert not Event.objects.filter(occurred_at__gt=NOW).exists()
    for created in Contact.objects.values_list("created_at", flat=True):
        assert dt.timedelta(days=181) <= NOW - created <= dt.timedelta(days=731)


def test_custom_values_are_valid_for_their_definitions(demo):
    fields = {(f.entity, f.key): f for f in CustomField.objects.all()}
    contact_values = [c for c in Contact.objects.values_list("custom", flat=True) if c]
    company_values = [c for c in Company.objects.values_list("custom", flat=True) if c]
    assert contact_values and company_values
    for values, entity in ((contact_values, "contact"), (company_values, "company")):
        for custom in values:
            for key, value in custom.items():
                assert clean_value(fields[(entity, key)], value) == value


def test_one_audit_entry_per_contact_and_company(demo):
    audited = AuditEntry.objects.filter(source="demo", action="create")
    assert audited.filter(record_type="people.contact").count() == SMALL
    assert audited.filter(record_type="people.company").count() == Company.objects.count()


def test_a_second_load_is_refused(demo):
    with pytest.raises(DemoAlreadyLoaded):
        load_demo(contacts=10, seed=1)
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", contacts=10, quiet=True)
    assert Contact.objects.count() == SMALL


def test_reset_removes_the_demo_and_nothing_else(db, make_contact, seller):
    mine = make_contact(actor=seller, first_name="Kept", last_name="Mine", email="kept@mine.example")
    load_demo(contacts=50, seed=3, now=NOW)
    demo_contact = Contact.objects.exclude(pk=mine.pk).first()
    Event.objects.create(kind="note", contact=demo_contact, summary="added by a user after the load")
    assert reset_demo() == 1
    assert list(Contact.objects.values_list("pk", flat=True)) == [mine.pk]
    assert not Event.objects.exclude(contact=mine).exists()
    assert not DemoDataset.objects.exists()
    assert get_user_model().objects.filter(pk=seller.pk).exists()
    assert not get_user_model().objects.filter(username="sam.seller").exists()


def test_command_loads_prints_users_and_reloads_with_reset(db):
    out = StringIO()
    call_command("demo", contacts=40, seed=5, quiet=True, stdout=out)
    text = out.getvalue()
    assert "40 contacts" in text and "sam.seller" in text and DEMO_PASSWORD in text
    call_command("demo", contacts=30, seed=5, reset=True, quiet=True, stdout=StringIO())
    assert Contact.objects.count() == 30
    assert DemoDataset.objects.get().contacts == 30


@pytest.mark.parametrize("options", [{"contacts": 0}, {"contacts": -5}, {"events_per_contact": 0}])
def test_command_rejects_bad_sizes(db, options):
    with pytest.raises(CommandError):
        call_command("demo", quiet=True, stdout=StringIO(), **options)
    assert not Contact.objects.exists()


def test_generator_rejects_an_empty_demo(db):
    with pytest.raises(ValueError):
        load_demo(contacts=0)
