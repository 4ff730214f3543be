"""Demo meetings and e-mail templates, and how to undo them.

Each demo seller gets a believable week around the load's "now": a meeting that ended this
morning and waits for its outcome, one later today, some in the coming days, one cancelled, and
two held last week with their notes on the timeline. Attendees are the deal's own contacts, so
the Today page, the meeting pages and the calendar feed all have something real to show. Each
demo team also shares three e-mail templates.

Nothing is e-mailed: the rows are written directly, as the rest of the demo is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction

from rapport.assistant.models import EmailTemplate, Meeting, MeetingAttendee, MeetingStatus, SentEmail
from rapport.sales.models import Deal, DealContact, DealStatus
from rapport.timeline.models import Activity, Event

MEETINGS_STREAM = 7
HOUR = dt.timedelta(hours=1)
# (hours from now to the start, minutes, status, outcome): relative to the load's hour.
WEEK = [
    (-3, 60, MeetingStatus.SCHEDULED, None),  # ended this morning: Rapport asks for the outcome
    (2, 30, MeetingStatus.SCHEDULED, None),
    (26, 45, MeetingStatus.SCHEDULED, None),
    (74, 60, MeetingStatus.SCHEDULED, None),
    (170, 30, MeetingStatus.SCHEDULED, None),
    (50, 30, MeetingStatus.CANCELLED, None),
    (-150, 60, MeetingStatus.DONE, ("They are comparing us with two others; price is the question.",
                                    "Send a revised quote")),
    (-240, 45, MeetingStatus.DONE, ("Good demo. Their IT lead wants to see the API.", "Book a technical call")),
]
TITLES = ["Discovery call", "Product demo", "Proposal review", "Pricing discussion", "Quarterly review",
          "Technical deep-dive", "Contract walkthrough", "Kick-off planning"]
PLACES = ["Their office", "Video call", "Our office", "Café near their office"]
TEMPLATES = [
    ("Thank you for your time", "Thank you, {{ first_name }}",
     "Hello {{ first_name }},\n\nThank you for your time today. As promised, I will send the details "
     "for {{ company }} this week.\n\nBest regards,\n{{ sender }}"),
    ("Checking in after a purchase", "How is everything, {{ first_name }}?",
     "Hello {{ first_name }},\n\nIt has been a little while since your order of {{ last_purchase }}. "
     "Is everything working as you hoped? I am happy to help with anything.\n\n{{ sender }}"),
    ("Introduction", "Introducing myself",
     "Hello {{ first_name }},\n\nI am {{ sender }}, and I will look after {{ company }} from now on. "
     "Could we find twenty minutes next week?\n\nBest regards,\n{{ sender }}"),
]


@dataclass
class MeetingsSummary:
    counts: dict = field(default_factory=dict)
    id_ranges: dict = field(default_factory=dict)
    events: int = 0
    activities: int = 0


def load_meetings(*, now: dt.datetime, seller_ids: list[int], seed: int, created: dict) -> MeetingsSummary:
    """Write each seller's week of meetings about their open deals, and the teams' templates."""
    from rapport.core.models import Profile

    rng = np.random.default_rng([seed, MEETINGS_STREAM])
    summary = MeetingsSummary()
    profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=seller_ids).select_related("user")}
    meetings: list[Meeting] = []
    people: list[list] = []
    with transaction.atomic():
        for seller_id in seller_ids:
            profile = profiles.get(seller_id)
            if profile is None or not profile.user.email:
                continue
            deals = list(Deal.objects.filter(owner_id=seller_id, status=DealStatus.OPEN, deleted_at__isnull=True)
                         .select_related("pipeline").order_by("-amount", "id")[: len(WEEK)])
            if not deals:
                continue
            contacts = {}
            for link in (DealContact.objects.filter(deal__in=deals, contact__email__isnull=False)
                         .exclude(contact__email="").select_related("contact").order_by("deal_id", "id")):
                contacts.setdefault(link.deal_id, []).append(link.contact)
            for i, (hours, minutes, status, outcome) in enumerate(WEEK):
                start = now + hours * HOUR
                if status == MeetingStatus.DONE:
                    # Held meetings count as activity on their deal, so they go to the seller's
                    # biggest deal that already existed then and is not stalled: the stalled flags
                    # stay as the sales demo drew them.
                    deal = next((d for d in deals if d.created_at <= start
                                 and now - d.last_activity_at <= dt.timedelta(days=d.pipeline.stall_days)), None)
                    if deal is None:
                        continue
                else:
                    deal = deals[i % len(deals)]
                guests = contacts.get(deal.pk, [])[:1]
                if not guests:
                    continue  # a meeting with no one to meet would only clutter the demo
                meeting = Meeting(
                    title=f"{TITLES[int(rng.integers(len(TITLES)))]}: {deal.name}"[:200], starts_at=start,
                    ends_at=start + dt.timedelta(minutes=minutes), time_zone=profile.time_zone or "UTC",
                    organiser_id=seller_id, team_id=profile.team_id, deal=deal, company_id=deal.company_id,
                    contact=guests[0], location=PLACES[int(rng.integers(len(PLACES)))],
                    agenda="Where they are, what they need, next steps.", status=status,
                    sequence=1 if status == MeetingStatus.CANCELLED else 0, created_by_id=seller_id,
                    created_at=now - dt.timedelta(days=14), updated_at=now - dt.timedelta(days=1),
                )
                if outcome:
                    meeting.outcome_note, meeting.next_step = outcome
                    meeting.outcome_recorded_at = meeting.ends_at + HOUR
                meetings.append(meeting)
                people.append(guests)
        Meeting.objects.bulk_create(meetings, batch_size=500)
        attendees = [MeetingAttendee(meeting=m, contact=c, name=str(c), email=c.email,
                                     response="accepted" if m.status == MeetingStatus.DONE else "needs-action")
                     for m, guests in zip(meetings, people, strict=True) for c in guests]
        MeetingAttendee.objects.bulk_create(attendees, batch_size=1000)
        summary.events, summary.activities = _timeline(meetings, people)
        templates = _templates(profiles, now)
    ids = [m.pk for m in meetings]
    if ids:
        summary.id_ranges["meeting"] = [min(ids), max(ids)]
    created["email_templates"] = [t.pk for t in templates]
    summary.counts = {"meetings": len(meetings), "attendees": len(attendees), "email_templates": len(templates)}
    return summary


def _timeline(meetings: list[Meeting], people: list[list]) -> tuple[int, int]:
    """The scheduling of each meeting as an event, and the held ones as logged meetings."""
    from django.contrib.auth import get_user_model

    organisers = {u.pk: u.get_full_name() or u.username for u in
                  get_user_model().objects.filter(pk__in={m.organiser_id for m in meetings})}
    events = []
    for meeting, guests in zip(meetings, people, strict=True):
        contact = guests[0] if guests else None
        events.append(Event(kind="meeting", occurred_at=meeting.created_at, actor_id=meeting.organiser_id,
                            contact=contact, company_id=meeting.company_id, deal_id=meeting.deal_id,
                            summary=f"Meeting scheduled: {meeting.title}"[:300],
                            payload={"meeting": meeting.pk, "status": "scheduled"}))
        if meeting.status == MeetingStatus.DONE:
            activity = Activity.objects.create(
                kind="meeting", occurred_at=meeting.starts_at, contact=contact, company_id=meeting.company_id,
                owner_id=meeting.organiser_id, team_id=meeting.team_id, deal_id=meeting.deal_id,
                subject=meeting.title, body=f"{meeting.outcome_note}\n\nNext step: {meeting.next_step}",
                duration_minutes=meeting.duration_minutes,
                attendees=[str(c) for c in guests] + [organisers.get(meeting.organiser_id, "")],
                created_by_id=meeting.organiser_id)
            Meeting.objects.filter(pk=meeting.pk).update(activity=activity)
            # A held meeting is activity on the deal, as logging one in the app makes it.
            Deal.objects.filter(pk=meeting.deal_id, last_activity_at__lt=meeting.starts_at).update(
                last_activity_at=meeting.starts_at)
            events.append(Event(kind="meeting", occurred_at=meeting.starts_at, actor_id=meeting.organiser_id,
                                contact=contact, company_id=meeting.company_id, deal_id=meeting.deal_id,
                                activity=activity, summary=f"Meeting ({meeting.duration_minutes} min): "
                                                           f"{meeting.title}"[:300]))
    Event.objects.bulk_create(events, batch_size=1000)
    return len(events), sum(1 for m in meetings if m.status == MeetingStatus.DONE)


def _templates(profiles: dict, now: dt.datetime) -> list[EmailTemplate]:
    """Three shared templates per team, made by the team's first seller."""
    first_of_team = {}
    for profile in sorted(profiles.values(), key=lambda p: p.user_id):
        if profile.team_id is not None:
            first_of_team.setdefault(profile.team_id, profile.user_id)
    templates = [EmailTemplate(name=name, subject=subject, body=body, owner_id=owner, team_id=team,
                               sharing="team", created_by_id=owner, created_at=now, updated_at=now)
                 for team, owner in first_of_team.items() for name, subject, body in TEMPLATES]
    return EmailTemplate.objects.bulk_create(templates)


def reset_meetings(dataset, cursor) -> None:
    """Remove the demo's meetings and templates, and unlink users' own meetings and e-mail log
    from the demo's contacts, companies and deals before those go (the database would refuse)."""
    q = connection.ops.quote_name

    def t(model) -> str:
        return q(model._meta.db_table)

    ranges, created = dataset.id_ranges, dataset.created
    meeting_range = ranges.get("meeting")
    users = created.get("users", [])
    if meeting_range:
        cursor.execute(f"UPDATE {t(SentEmail)} SET meeting_id = NULL WHERE meeting_id BETWEEN %s AND %s",
                       meeting_range)
        cursor.execute(f"DELETE FROM {t(MeetingAttendee)} WHERE meeting_id BETWEEN %s AND %s", meeting_range)
        cursor.execute(f"DELETE FROM {t(Meeting)} WHERE id BETWEEN %s AND %s", meeting_range)
    if users:
        # Meetings the demo's users organised since (a visitor trying the demo) go with them.
        marks = ", ".join(["%s"] * len(users))
        own = f"SELECT id FROM {t(Meeting)} WHERE organiser_id IN ({marks})"
        cursor.execute(f"UPDATE {t(SentEmail)} SET meeting_id = NULL WHERE meeting_id IN ({own})", users)
        cursor.execute(f"DELETE FROM {t(MeetingAttendee)} WHERE meeting_id IN ({own})", users)
        cursor.execute(f"DELETE FROM {t(Meeting)} WHERE organiser_id IN ({marks})", users)
    templates = created.get("email_templates", [])
    if templates:
        marks = ", ".join(["%s"] * len(templates))
        cursor.execute(f"UPDATE {t(SentEmail)} SET template_id = NULL WHERE template_id IN ({marks})", templates)
        cursor.execute(f"DELETE FROM {t(EmailTemplate)} WHERE id IN ({marks})", templates)
    for column, span in (("contact_id", ranges.get("contact")), ("company_id", ranges.get("company")),
                         ("deal_id", ranges.get("deal"))):
        if not span:
            continue
        cursor.execute(f"UPDATE {t(Meeting)} SET {column} = NULL WHERE {column} BETWEEN %s AND %s", span)
        cursor.execute(f"UPDATE {t(Meeting)} SET activity_id = NULL WHERE activity_id IN "
                       f"(SELECT id FROM {t(Activity)} WHERE {column} BETWEEN %s AND %s)", span)
        if column == "contact_id":
            cursor.execute(f"UPDATE {t(MeetingAttendee)} SET contact_id = NULL WHERE contact_id BETWEEN %s AND %s",
                           span)
            cursor.execute(f"UPDATE {t(SentEmail)} SET contact_id = NULL WHERE contact_id BETWEEN %s AND %s", span)
