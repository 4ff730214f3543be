"""Reading a meeting's fields from a form, the API or a script: one set of rules and messages."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.core.visibility import profile_of

MAX_MINUTES = 24 * 60
# A meeting being scheduled a few minutes late (the form sat open) is not "in the past".
PAST_GRACE = dt.timedelta(minutes=15)
TEXT_LIMITS = {"title": 200, "location": 300, "agenda": 20000}
EDITABLE = {"title", "starts_at", "ends_at", "duration_minutes", "time_zone", "location", "video_url", "agenda",
            "contact", "company", "deal", "attendee_contacts", "attendee_users"}


def _int(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[field] = "must be a whole number"
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "must be a whole number"
        return None


def _zone(value: Any, errors: dict[str, str]) -> str | None:
    name = str(value or "").strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = "use a time zone name such as Europe/Paris or America/New_York"
        return None
    return name


def _moment(value: Any, field: str, zone_name: str, errors: dict[str, str]) -> dt.datetime | None:
    """A date and time; one without an offset is read in the meeting's time zone."""
    if value in (None, ""):
        return None
    when = value
    if isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when.strip())
        except ValueError:
            errors[field] = "use a date and time such as 2026-11-24T14:30"
            return None
    if not isinstance(when, dt.datetime):
        errors[field] = "use a date and time such as 2026-11-24T14:30"
        return None
    if timezone.is_naive(when):
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(zone_name))
    return when.astimezone(dt.UTC)


def _url(value: Any, errors: dict[str, str]) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["video_url"] = "use a full web address starting with https://"
    elif len(text) > 500:
        errors["video_url"] = "at most 500 characters"
    return text


def _id_list(value: Any, field: str, errors: dict[str, str]) -> list[int]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        errors[field] = "send a list of ids"
        return []
    found = []
    for item in value:
        number = _int(getattr(item, "pk", item), field, errors)
        if number is not None and number not in found:
            found.append(number)
    return found


def _attendees(actor, data: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]] | None:
    """[{contact|user, name, email}] from contact and user ids; every attendee needs an e-mail
    address, and each one without names the person, so the organiser knows whom to fix."""
    from rapport.people import selectors as people

    contact_ids = _id_list(data.get("attendee_contacts"), "attendee_contacts", errors)
    user_ids = _id_list(data.get("attendee_users"), "attendee_users", errors)
    people_found = {c.pk: c for c in people.contact_queryset(actor).filter(pk__in=contact_ids)}
    users_found = {u.pk: u for u in get_user_model().objects.filter(pk__in=user_ids, is_active=True)}
    attendees: list[dict[str, Any]] = []
    missing, no_email = [], []
    for contact_id in contact_ids:
        contact = people_found.get(contact_id)
        if contact is None:
            missing.append(f"contact {contact_id}")
        elif not contact.email:
            no_email.append(str(contact))
        else:
            attendees.append({"contact": contact, "user": None, "name": str(contact), "email": contact.email})
    if missing:
        errors["attendee_contacts"] = f"no such contact: {', '.join(missing)}"
    elif no_email:
        errors["attendee_contacts"] = (f"{', '.join(no_email)} {'has' if len(no_email) == 1 else 'have'} no e-mail "
                                       "address; add one on their page or leave them out")
    missing, no_email = [], []
    for user_id in user_ids:
        user = users_found.get(user_id)
        if user is None:
            missing.append(f"user {user_id}")
        elif not user.email:
            no_email.append(user.get_full_name() or user.username)
        elif user.pk != actor.pk:  # the organiser is the ORGANIZER, not an attendee
            attendees.append({"contact": None, "user": user, "name": user.get_full_name() or user.username,
                              "email": user.email})
    if missing:
        errors["attendee_users"] = f"no such user: {', '.join(missing)}"
    elif no_email:
        errors["attendee_users"] = (f"{', '.join(no_email)} {'has' if len(no_email) == 1 else 'have'} no e-mail "
                                    "address in their profile")
    unique: dict[str, dict[str, Any]] = {}
    for attendee in attendees:
        unique.setdefault(attendee["email"].lower(), attendee)
    return list(unique.values())


def _related(actor, data: dict[str, Any], errors: dict[str, str], cleaned: dict[str, Any]) -> None:
    from rapport.people import selectors as people
    from rapport.sales.selectors import deals

    for name, queryset in (("contact", people.contact_queryset), ("company", people.company_queryset),
                           ("deal", deals.deal_queryset)):
        if name not in data:
            continue
        raw = data[name]
        if raw in (None, ""):
            cleaned[name] = None
            continue
        found = queryset(actor).filter(pk=_int(getattr(raw, "pk", raw), name, errors) or 0).first()
        if found is None:
            errors.setdefault(name, f"no such {name}")
        cleaned[name] = found


def clean_meeting(actor, data: dict[str, Any], *, instance=None) -> dict[str, Any]:
    """The meeting's fields, checked. On an update only the fields sent are checked and returned,
    but start and end are always judged together (moving the start past the end is an error)."""
    errors: dict[str, str] = {name: "unknown field" for name in set(data) - EDITABLE}
    cleaned: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data or (instance is None and name == "title"):
            value = str(data.get(name) or "").strip()
            if len(value) > limit:
                errors[name] = f"at most {limit} characters"
            cleaned[name] = value
    if "title" in cleaned and not cleaned["title"] and "title" not in errors:
        errors["title"] = "give the meeting a title"
    zone_name = instance.time_zone if instance else (profile_of(actor).time_zone or "UTC")
    if data.get("time_zone") not in (None, ""):
        zone_name = _zone(data["time_zone"], errors) or zone_name
        cleaned["time_zone"] = zone_name
    elif instance is None:
        cleaned["time_zone"] = zone_name
    if "video_url" in data:
        cleaned["video_url"] = _url(data["video_url"], errors)

    starts = _moment(data.get("starts_at"), "starts_at", zone_name, errors) if "starts_at" in data else None
    if instance is None and "starts_at" not in errors and starts is None:
        errors["starts_at"] = "choose when the meeting starts"
    if starts is None and instance is not None:
        starts = instance.starts_at
    ends = _moment(data.get("ends_at"), "ends_at", zone_name, errors) if data.get("ends_at") not in (None, "") else None
    minutes = _int(data.get("duration_minutes"), "duration_minutes", errors)
    if ends is None and minutes is not None and starts is not None:
        if minutes <= 0:
            errors["duration_minutes"] = "a meeting lasts at least one minute"
        else:
            ends = starts + dt.timedelta(minutes=minutes)
    if ends is None and instance is not None:
        # Moving the start keeps the length, as calendars do.
        ends = starts + (instance.ends_at - instance.starts_at) if "starts_at" in data else instance.ends_at
    if ends is None and instance is None and "ends_at" not in errors and "duration_minutes" not in errors:
        errors["ends_at"] = "choose when the meeting ends, or how long it lasts"
    if starts is not None and ends is not None and not errors.keys() & {"starts_at", "ends_at", "duration_minutes"}:
        if ends <= starts:
            errors["ends_at"] = "the meeting must end after it starts"
        elif ends - starts > dt.timedelta(minutes=MAX_MINUTES):
            errors["ends_at"] = "a meeting lasts at most 24 hours"
        changed_start = instance is None or starts != instance.starts_at
        if changed_start and starts < timezone.now() - PAST_GRACE:
            errors["starts_at"] = "this time has passed; choose a time from now on"
        cleaned["starts_at"], cleaned["ends_at"] = starts, ends
    _related(actor, data, errors, cleaned)
    if "attendee_contacts" in data or "attendee_users" in data or instance is None:
        source = dict(data)
        if instance is not None:
            # Sending one list keeps the other as it is.
            source.setdefault("attendee_contacts", [a.contact_id for a in instance.attendees.all() if a.contact_id])
            source.setdefault("attendee_users", [a.user_id for a in instance.attendees.all() if a.user_id])
        attendees = _attendees(actor, source, errors)
        if attendees is not None and not attendees and not errors.keys() & {"attendee_contacts", "attendee_users"}:
            errors["attendee_contacts"] = "invite at least one contact or colleague"
        cleaned["attendees"] = attendees
    organiser = instance.organiser if instance is not None else actor
    if not organiser.email:
        errors["organiser"] = "add an e-mail address to your profile: invitations are sent in your name"
    if errors:
        raise ValidationFailed(errors)
    return cleaned
