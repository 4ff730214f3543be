"""The demo's meetings: a believable week per seller, and a reset that leaves nothing behind
(nor blocks on users' own meetings about demo records)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from rapport.assistant.models import EmailTemplate, Meeting, MeetingAttendee, MeetingStatus
from rapport.assistant.selectors import meetings as selectors
from rapport.demo.meetings import WEEK, load_meetings, reset_meetings
from rapport.sales.services import deals as deal_services

pytestmark = pytest.mark.django_db


class _Dataset:
    def __init__(self, id_ranges, created):
        self.id_ranges, self.created = id_ranges, created


def test_demo_week_and_reset(seller, make_contact):
    contact = make_contact(seller, email="ines@client.example")
    deal = deal_services.create_deal(actor=seller, data={"name": "Roll-out", "amount": "900",
                                                        "contacts": [{"contact": contact.pk, "role": "champion"}]})
    created: dict = {}
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    # The demo's deals exist before last week's held meetings (a meeting is never older than its deal).
    type(deal).objects.filter(pk=deal.pk).update(created_at=now - timezone.timedelta(days=30))
    summary = load_meetings(now=now, seller_ids=[seller.pk], seed=42, created=created)
    assert summary.counts["meetings"] == len(WEEK)
    assert len(selectors.awaiting_outcome(seller)) == 1
    assert Meeting.objects.filter(status=MeetingStatus.DONE, activity__isnull=False).count() == 2
    assert EmailTemplate.objects.count() == 3
    # A user's own meeting about the demo deal must not block the reset.
    own = Meeting.objects.create(title="Mine", starts_at=now, ends_at=now + timezone.timedelta(hours=1),
                                 organiser=seller, deal=deal, contact=contact)
    MeetingAttendee.objects.create(meeting=own, contact=contact, email=contact.email)
    with connection.cursor() as cursor:
        reset_meetings(_Dataset(summary.id_ranges | {"contact": [contact.pk, contact.pk], "deal": [deal.pk, deal.pk]},
                                created), cursor)
    assert list(Meeting.objects.values_list("title", "deal_id", "contact_id")) == [("Mine", None, None)]
    assert MeetingAttendee.objects.get().contact_id is None
    assert not EmailTemplate.objects.exists()
