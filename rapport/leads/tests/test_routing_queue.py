"""The lead queue page and its bulk actions; who sees whose queue."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.leads.models import Lead, LeadNotice
from rapport.leads.routing import queue

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def lead_for(make_contact, admin_user):
    def make(owner, **extra):
        extra.setdefault("created_at", timezone.now() - 5 * HOUR)
        extra.setdefault("team_id", owner.profile.team_id if owner else None)
        return Lead.objects.create(contact=make_contact(admin_user), owner=owner, **extra)
    return make


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def get(client, url, **params):
    return client.get(url, params, secure=True)


def test_overdue_first_then_by_score_then_answered(seller, lead_for):
    now = timezone.now()
    low_waiting = lead_for(seller, score=20, response_due_at=now + HOUR)
    high_waiting = lead_for(seller, score=90, response_due_at=now + HOUR)
    overdue_low = lead_for(seller, score=10, response_due_at=now - HOUR)
    unscored = lead_for(seller, response_due_at=now + 5 * HOUR)
    answered = lead_for(seller, score=99, response_due_at=now - HOUR, first_response_at=now - 2 * HOUR,
                        created_at=now - 5 * HOUR)
    lead_for(seller, status="converted")
    page = queue.queue(seller, {}, now=now)
    assert [lead.pk for lead in page.items] == [overdue_low.pk, high_waiting.pk, low_waiting.pk, unscored.pk,
                                                answered.pk]
    rows = queue.queue_rows(page, now)
    assert rows[0].overdue and rows[0].time_left == "1 h 00 min overdue"
    assert rows[1].state == "due_soon" and rows[1].time_left == "1 h 00 min left"
    assert rows[4].time_left.startswith("answered after 3 h")


def test_pages_follow_the_queue_order(seller, lead_for):
    now = timezone.now()
    made = [lead_for(seller, score=s, response_due_at=now + HOUR) for s in (10, 50, 90, 70, 30)]
    first = queue.queue(seller, {}, size=2, now=now)
    second = queue.queue(seller, {}, size=2, cursor=first.next_cursor, now=now)
    third = queue.queue(seller, {}, size=2, cursor=second.next_cursor, now=now)
    scores = [lead.score for page in (first, second, third) for lead in page.items]
    assert scores == [90, 70, 50, 30, 10] and third.next_cursor is None and len(made) == 5


def test_filters_and_their_errors(seller, lead_for):
    now = timezone.now()
    overdue = lead_for(seller, score=40, response_due_at=now - HOUR, source="referral")
    lead_for(seller, score=80, response_due_at=now + 5 * HOUR)
    assert [lead.pk for lead in queue.queue(seller, {"sla": "overdue"}, now=now).items] == [overdue.pk]
    assert [lead.pk for lead in queue.queue(seller, {"source": "referral"}, now=now).items] == [overdue.pk]
    assert len(queue.queue(seller, {"score_min": "50"}, now=now).items) == 1
    with pytest.raises(ValidationFailed) as error:
        queue.queue(seller, {"sla": "late", "score_min": "101", "status": "converted", "source": "fax"})
    assert set(error.value.errors) == {"sla", "score_min", "status", "source"}


def test_a_seller_sees_only_their_own_queue_even_asking_for_the_team(seller, teammate, lead_for):
    mine, theirs = lead_for(seller), lead_for(teammate)
    page = queue.queue(seller, {}, scope="team")
    assert [lead.pk for lead in page.items] == [mine.pk]
    response = get(client_for(seller), "/leads/queue/", scope="team")
    assert response.status_code == 200
    assert f"value=\"{mine.pk}\"" in response.content.decode()
    assert f"value=\"{theirs.pk}\"" not in response.content.decode()
    assert "Who is behind" not in response.content.decode()


def test_a_manager_sees_the_teams_queue_and_who_is_behind(manager, seller, teammate, other_seller, lead_for):
    now = timezone.now()
    lead_for(seller, response_due_at=now - HOUR)
    lead_for(seller, response_due_at=now - HOUR)
    lead_for(teammate, response_due_at=now + HOUR)
    outsider = lead_for(other_seller, response_due_at=now - HOUR)
    page = queue.queue(manager, {}, scope="team", now=now)
    assert len(page.items) == 3 and outsider.pk not in {lead.pk for lead in page.items}
    standing = queue.team_standing(manager, now)
    assert standing[0].user == seller and standing[0].overdue == 2 and standing[0].behind
    assert {s.user for s in standing} >= {seller, teammate}
    html = get(client_for(manager), "/leads/queue/", scope="team").content.decode()
    assert "Who is behind" in html and "sla-overdue" in html


def test_the_page_shows_errors_and_an_empty_state(seller):
    client = client_for(seller)
    html = get(client, "/leads/queue/").content.decode()
    assert "Nothing waiting" in html
    html = get(client, "/leads/queue/", score_min="lots").content.decode()
    assert "a whole number from 0 to 100" in html


def test_the_queue_needs_a_login():
    response = Client().get("/leads/queue/", secure=True)
    assert response.status_code == 302 and "login" in response["Location"]


def test_mark_contacted_only_on_leads_in_my_queue(seller, teammate, lead_for):
    mine, answered, theirs = lead_for(seller), lead_for(seller, first_response_at=timezone.now()), lead_for(teammate)
    result = queue.mark_contacted(actor=seller, lead_ids=[mine.pk, answered.pk, theirs.pk])
    assert result == {"done": 1, "failed": {answered.pk: "already answered", theirs.pk: "not in your queue"}}
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.first_response_at is not None and mine.status == "working"
    assert theirs.first_response_at is None
    with pytest.raises(ValidationFailed):
        queue.mark_contacted(actor=seller, lead_ids=[])
    with pytest.raises(ValidationFailed):
        queue.mark_contacted(actor=seller, lead_ids=["x"])


def test_bulk_form_marks_contacted_and_reports_failures(seller, teammate, lead_for):
    mine, theirs = lead_for(seller), lead_for(teammate)
    response = client_for(seller).post("/leads/queue/bulk/", {"action": "contacted", "ids": [mine.pk, theirs.pk]},
                                       secure=True, follow=True)
    html = response.content.decode()
    assert "1 lead marked contacted." in html and f"lead {theirs.pk}: not in your queue" in html
    response = client_for(seller).post("/leads/queue/bulk/", {"action": "explode", "ids": [mine.pk]},
                                       secure=True, follow=True)
    assert "choose reassign or mark contacted" in response.content.decode()


def test_a_manager_reassigns_and_the_new_owner_is_told(manager, seller, teammate, lead_for):
    lead = lead_for(seller)
    result = queue.reassign(actor=manager, lead_ids=[lead.pk], owner=teammate.pk)
    assert result["done"] == 1, result
    lead.refresh_from_db()
    assert lead.owner == teammate
    assert LeadNotice.objects.filter(recipient=teammate, lead=lead, kind="handoff").exists()


def test_notices_are_shown_and_dismissed_by_their_recipient_only(seller, teammate, lead_for):
    lead = lead_for(seller)
    LeadNotice.objects.create(recipient=seller, lead=lead, kind="handoff", message="New lead for you: Casey.")
    LeadNotice.objects.create(recipient=teammate, lead=lead, kind="escalation", message="Overdue lead: Casey.")
    assert "New lead for you: Casey." in get(client_for(seller), "/leads/queue/").content.decode()
    client_for(seller).post("/leads/notices/dismiss/", {}, secure=True)
    client_for(seller).post("/leads/queue/notices/dismiss/", {}, secure=True)
    assert LeadNotice.objects.get(recipient=seller).read_at is not None
    assert LeadNotice.objects.get(recipient=teammate).read_at is None


def test_the_team_queue_shows_a_lead_waiting_without_owner(manager, teams, lead_for):
    lead = lead_for(None, team_id=teams["north"].pk, response_due_at=timezone.now() - HOUR)
    html = get(client_for(manager), "/leads/queue/", scope="team").content.decode()
    assert f'value="{lead.pk}"' in html and "Unassigned" in html


def test_the_queue_reads_a_fixed_number_of_queries(seller, lead_for, django_assert_max_num_queries):
    for _ in range(15):
        lead_for(seller, response_due_at=timezone.now() + HOUR)
    client = client_for(seller)
    get(client, "/leads/queue/")  # warm the session and profile
    with django_assert_max_num_queries(12):
        assert get(client, "/leads/queue/").status_code == 200
