"""Meetings on the Today agenda: today's meetings and the outcome prompts, with the deal's
weighted amount as the value at risk, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.assistant.models import Meeting, MeetingAttendee, MeetingStatus
from rapport.assistant.selectors.meetings import agenda_lines
from rapport.sales.services import deals as deal_services

pytestmark = pytest.mark.django_db


def _meeting(organiser, *, start, minutes=60, deal=None, contact=None, status=MeetingStatus.SCHEDULED, **extra):
    return Meeting.objects.create(title=extra.pop("title", "Review"), starts_at=start,
                                  ends_at=start + dt.timedelta(minutes=minutes), organiser=organiser, deal=deal,
                                  contact=contact, status=status, **extra)


def test_lines_for_today_and_prompts(seller, teammate, make_contact, django_assert_max_num_queries):
    contact = make_contact(seller)
    deal = deal_services.create_deal(actor=seller, data={"name": "Fleet", "amount": "10000", "probability": 40})
    now = timezone.now()
    today = now.date()
    # Today's meetings start from 5 to 20 minutes on; in the day's last 25 minutes they move back
    # (still running, not ended) so that none falls on tomorrow.
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    soon = now + min(dt.timedelta(0), midnight - now - dt.timedelta(minutes=25))
    later = _meeting(seller, start=soon + dt.timedelta(minutes=5), deal=deal, title="Pricing")
    ended = _meeting(seller, start=now - dt.timedelta(days=2), contact=contact, title="Visit")
    _meeting(seller, start=soon + dt.timedelta(minutes=10), status=MeetingStatus.CANCELLED, title="Off")
    _meeting(seller, start=now + dt.timedelta(days=3), title="Later")
    invited = _meeting(teammate, start=soon + dt.timedelta(minutes=20), title="Tia's demo")
    MeetingAttendee.objects.create(meeting=invited, user=seller, email=seller.email)

    with django_assert_max_num_queries(6):
        lines = agenda_lines(seller, today)
    by_title = {line["title"]: line for line in lines}
    assert set(by_title) == {"Pricing", "Tia's demo", "How did “Visit” go?"}
    pricing = by_title["Pricing"]
    assert pricing["kind"] == "meeting" and pricing["value_at_risk"] == Decimal("4000")
    assert pricing["currency"] == deal.currency and pricing["record_url"] == f"/deals/{deal.pk}/"
    assert pricing["actions"][0] == ("Open meeting", f"/meetings/{later.pk}/")
    assert "organised by Tia" in by_title["Tia's demo"]["reason"]
    prompt = by_title["How did “Visit” go?"]
    assert prompt["kind"] == "meeting_outcome" and prompt["url"] == f"/meetings/{ended.pk}/outcome/"
    assert prompt["value_at_risk"] == 0
    assert agenda_lines(teammate, today)[0]["title"] == "Tia's demo"
