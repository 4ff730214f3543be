"""iCalendar (RFC 5545) documents: meeting invitations, updates, cancellations and the private feed.

Calendar clients recognise a meeting by its UID and keep the copy with the highest SEQUENCE, so
an update is the same event sent again with a higher sequence, and a cancellation is the same
event under METHOD:CANCEL. RFC 5546 (iTIP) says what each method must carry; the `icalendar`
library writes the text (folding, escaping, VTIMEZONE blocks).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar
from django.utils import timezone

PRODID = "-//Rapport//Rapport CRM//EN"

PARTSTAT = {"needs-action": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED",
            "tentative": "TENTATIVE"}


@dataclass(frozen=True)
class FeedTask:
    """A due task as the feed shows it: an all-day event on its due day (most calendar clients,
    Google's among them, ignore VTODO in subscribed feeds, so an event is what people see)."""

    uid: str
    title: str
    due: dt.date
    description: str = ""
    url: str = ""


def zone_of(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _local(moment: dt.datetime, zone_name: str) -> dt.datetime:
    """The moment in the meeting's zone: written as TZID=<zone> (or as UTC with a Z)."""
    zone = zone_of(zone_name)
    if zone is dt.UTC or zone_name in ("", "UTC"):
        return moment.astimezone(dt.UTC)
    return moment.astimezone(zone)


def _address(email: str, name: str = "", **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    for key, value in params.items():
        address.params[key.upper()] = value
    return address


def _calendar(method: str | None = None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def _description(meeting) -> str:
    parts = []
    if meeting.agenda:
        parts.append(meeting.agenda)
    if meeting.video_url:
        parts.append(f"Join: {meeting.video_url}")
    return "\n\n".join(parts)


def _meeting_event(meeting, attendees: Iterable, *, cancelled: bool, stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", _local(meeting.starts_at, meeting.time_zone))
    event.add("dtend", _local(meeting.ends_at, meeting.time_zone))
    event.add("summary", meeting.title)
    description = _description(meeting)
    if description:
        event.add("description", description)
    location = meeting.location or meeting.video_url
    if location:
        event.add("location", location)
    if meeting.video_url:
        event.add("url", meeting.video_url)
    organiser = meeting.organiser
    event.add("organizer", _address(organiser.email, organiser.get_full_name() or organiser.username))
    for attendee in attendees:
        params = {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": PARTSTAT.get(attendee.response, "NEEDS-ACTION"),
                  "CUTYPE": "INDIVIDUAL"}
        if not cancelled:
            params["RSVP"] = "TRUE"
        event.add("attendee", _address(attendee.email, attendee.name, **params))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def _finish(calendar: icalendar.Calendar) -> bytes:
    # Adds a VTIMEZONE for every TZID used, which RFC 5545 requires and Outlook insists on.
    calendar.add_missing_timezones()
    return calendar.to_ical()


def invitation(meeting, attendees: Iterable, *, stamp: dt.datetime | None = None) -> bytes:
    """METHOD:REQUEST: a new meeting, or an update when the meeting's sequence was raised."""
    calendar = _calendar("REQUEST")
    calendar.add_component(_meeting_event(meeting, list(attendees), cancelled=False, stamp=stamp or timezone.now()))
    return _finish(calendar)


def cancellation(meeting, attendees: Iterable, *, stamp: dt.datetime | None = None) -> bytes:
    """METHOD:CANCEL for the listed attendees (everyone when the meeting is off, or only the
    people taken off it). The sequence must already be higher than the last request's."""
    calendar = _calendar("CANCEL")
    calendar.add_component(_meeting_event(meeting, list(attendees), cancelled=True, stamp=stamp or timezone.now()))
    return _finish(calendar)


def feed(*, name: str, meetings: Iterable, tasks: Iterable[FeedTask], attendees_of: dict,
         stamp: dt.datetime | None = None) -> bytes:
    """A subscribed calendar: the user's meetings (cancelled ones marked so, which removes them
    from clients that already hold them) and their due tasks as all-day events."""
    stamp = stamp or timezone.now()
    calendar = _calendar()
    calendar.add("x-wr-calname", name)
    # Ask clients to refresh hourly; most poll on their own schedule, some honour this.
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for meeting in meetings:
        cancelled = meeting.status == "cancelled"
        calendar.add_component(_meeting_event(meeting, attendees_of.get(meeting.pk, []), cancelled=cancelled,
                                              stamp=stamp))
    for task in tasks:
        event = icalendar.Event()
        event.add("uid", task.uid)
        event.add("dtstamp", stamp.astimezone(dt.UTC))
        event.add("dtstart", task.due)
        event.add("dtend", task.due + dt.timedelta(days=1))
        event.add("summary", f"Task: {task.title}")
        if task.description:
            event.add("description", task.description)
        if task.url:
            event.add("url", task.url)
        # A task does not make the user busy.
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return _finish(calendar)
