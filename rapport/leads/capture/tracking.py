"""Page views from the tracking script: strict judging of a batch, then one bulk insert.

The collection endpoint is public and busy, so everything here is shaped for it: a batch is
judged in plain Python before the database is touched, refused whole with one reason if any
part is wrong (the script drops what the server refuses, so garbage never comes back), and a
good batch costs one indexed read of the visitor and one insert round for its events.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from rapport.people.models import Contact
from rapport.timeline.models import Event, EventKind

from ..models import ConsentMode, TrackedSite, Visitor, VisitorPageView
from . import identity

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 50
MAX_URL = 2000
MAX_TITLE = 300
MAX_UTM = 200
# Queued views may be sent days later (a visitor comes back after a week offline), never from the
# future beyond clock skew.
OLDEST_EVENT = dt.timedelta(days=7)
CLOCK_SKEW = dt.timedelta(minutes=10)
BATCH_KEYS = {"site", "visitor", "consent", "events", "contact_token"}
EVENT_KEYS = {"url", "referrer", "title", "utm", "at"}
UTM_KEYS = ("source", "medium", "campaign", "term", "content")
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadBatch(ValueError):
    """The batch is refused; the message says why (and which event, when one is to blame)."""


@dataclass
class PageView:
    url: str
    referrer: str
    title: str
    utm: dict[str, str]
    at: dt.datetime


@dataclass
class Batch:
    site: TrackedSite
    visitor_id: str
    consent: bool
    contact_token: str
    views: list[PageView] = field(default_factory=list)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def clean_origin(value: str) -> str:
    """An origin as sites list it: scheme://host[:port], lower case, no path."""
    text = (value or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise BadBatch(f"'{value}' is not an origin such as https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _text(value: Any, name: str, limit: int, *, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadBatch(f"{where}{name} must be a string")
    if len(value) > limit:
        raise BadBatch(f"{where}{name} is longer than {limit} characters")
    if CONTROL.search(value):
        raise BadBatch(f"{where}{name} contains control characters")
    return value


def _web_url(value: Any, name: str, *, where: str, required: bool) -> str:
    text = _text(value, name, MAX_URL, where=where)
    if not text:
        if required:
            raise BadBatch(f"{where}{name} is required")
        return ""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise BadBatch(f"{where}{name} is not a web address") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadBatch(f"{where}{name} must be an http or https address")
    return text


def without_contact_token(url: str) -> str:
    """The address with our signed contact token taken out: it identifies, it is not content."""
    parts = urlsplit(url)
    if identity.LINK_PARAM not in parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != identity.LINK_PARAM]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _utm(value: Any, *, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadBatch(f"{where}utm must be an object")
    unknown = sorted(set(value) - set(UTM_KEYS))
    if unknown:
        raise BadBatch(f"{where}utm has unknown key '{unknown[0]}' (known: {', '.join(UTM_KEYS)})")
    cleaned = {}
    for key in UTM_KEYS:
        text = _text(value.get(key), f"utm.{key}", MAX_UTM, where=where).strip()
        if text:
            cleaned[key] = text
    return cleaned


def _when(value: Any, now: dt.datetime, *, where: str) -> dt.datetime:
    # Milliseconds since 1970 (JavaScript's Date.now()); a boolean is an int in Python, not a time.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadBatch(f"{where}at must be milliseconds since 1970 (Date.now())")
    try:
        when = dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise BadBatch(f"{where}at is not a time") from exc
    if when < now - OLDEST_EVENT:
        raise BadBatch(f"{where}at is more than {OLDEST_EVENT.days} days old")
    if when > now + CLOCK_SKEW:
        raise BadBatch(f"{where}at is in the future")
    return when


# Sites change rarely and every batch names one: each process keeps them for a few seconds (an
# edit made in another process takes effect within SITE_CACHE_SECONDS; `forget_sites` clears this one).
SITE_CACHE_SECONDS = 10.0
_sites: dict[str, tuple[float, TrackedSite | None]] = {}


def active_site(key: str) -> TrackedSite | None:
    now = time.monotonic()
    cached = _sites.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    site = TrackedSite.objects.filter(key=key, active=True, deleted_at__isnull=True).first()
    if len(_sites) > 1000:
        _sites.clear()
    _sites[key] = (now + SITE_CACHE_SECONDS, site)
    return site


def forget_sites() -> None:
    _sites.clear()


def parse_batch(body: bytes, *, origin: str | None, now: dt.datetime | None = None) -> Batch:
    """The judged batch, or BadBatch naming the first thing wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        raise BadBatch(f"the batch is larger than {MAX_BODY_BYTES // 1024} KB; send fewer page views at a time")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBatch("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadBatch("the body must be a JSON object")
    unknown = sorted(set(data) - BATCH_KEYS)
    if unknown:
        raise BadBatch(f"unknown key '{unknown[0]}' (known: {', '.join(sorted(BATCH_KEYS))})")
    key = data.get("site")
    if not isinstance(key, str) or not key or len(key) > 20:
        raise BadBatch("site must be the site key from the tracking snippet")
    site = active_site(key)
    if site is None:
        raise BadBatch("no active tracked site has this key")
    if origin and origin.lower() not in site.origins:
        raise BadBatch(f"this site does not accept page views from {origin}")
    visitor_id = data.get("visitor")
    if not isinstance(visitor_id, str) or not VISITOR_ID.match(visitor_id):
        raise BadBatch("visitor must be the script's anonymous id (16 to 64 letters, digits, - or _)")
    consent = data.get("consent", False)
    if not isinstance(consent, bool):
        raise BadBatch("consent must be true or false")
    if site.consent_mode == ConsentMode.AFTER_CONSENT and not consent:
        raise BadBatch("this site records page views only after the visitor consents")
    token = data.get("contact_token")
    if token is not None and (not isinstance(token, str) or len(token) > 200):
        raise BadBatch("contact_token must be the token from a tracked link")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise BadBatch("events must be a non-empty list of page views")
    if len(events) > MAX_EVENTS:
        raise BadBatch(f"at most {MAX_EVENTS} page views per batch")
    now = now or timezone.now()
    batch = Batch(site=site, visitor_id=visitor_id, consent=consent, contact_token=token or "")
    for index, raw in enumerate(events):
        where = f"events[{index}]."
        if not isinstance(raw, dict):
            raise BadBatch(f"events[{index}] must be an object")
        unknown = sorted(set(raw) - EVENT_KEYS)
        if unknown:
            raise BadBatch(f"{where}{unknown[0]} is not a known key (known: {', '.join(sorted(EVENT_KEYS))})")
        url = _web_url(raw.get("url"), "url", where=where, required=True)
        if origin_of(url) not in site.origins:
            raise BadBatch(f"{where}url is not on this site ({', '.join(site.origins)})")
        batch.views.append(PageView(
            url=without_contact_token(url),
            referrer=without_contact_token(_web_url(raw.get("referrer"), "referrer", where=where, required=False)),
            title=_text(raw.get("title"), "title", MAX_TITLE, where=where).strip(),
            utm=_utm(raw.get("utm"), where=where),
            at=_when(raw.get("at"), now, where=where),
        ))
    return batch


def _summary(view: PageView) -> str:
    parts = urlsplit(view.url)
    return f"Viewed {view.title or parts.path or '/'}"[:300]


def _visitor_row(anonymous_id: str) -> tuple[int, int | None, int | None] | None:
    """(visitor id, contact id, the contact's company id) in one indexed read, no model objects."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.id, v.contact_id, c.company_id FROM {qn(Visitor._meta.db_table)} v "
            f"LEFT JOIN {qn(Contact._meta.db_table)} c ON c.id = v.contact_id WHERE v.anonymous_id = %s",
            [anonymous_id])
        return cursor.fetchone()


def _visitor(batch: Batch) -> tuple[int, int | None, int | None]:
    row = _visitor_row(batch.visitor_id)
    if row is not None:
        return row
    try:
        with transaction.atomic():
            visitor = Visitor.objects.create(anonymous_id=batch.visitor_id, site_id=batch.site.pk)
            return visitor.pk, None, None
    except IntegrityError:  # the same browser's other tab won the race
        return _visitor_row(batch.visitor_id)


def _insert_page_views(batch: Batch, contact_id: int | None, company_id: int | None) -> list[int]:
    """One multi-row INSERT … RETURNING id for the whole batch.

    The ORM's bulk_create compiles every field of every row and cost about as much CPU as the
    rest of the request together; the values here are prepared by the fields themselves, so
    each database gets them in its own format."""
    qn = connection.ops.quote_name
    occurred = Event._meta.get_field("occurred_at")
    payload = Event._meta.get_field("payload")
    params: list = []
    for view in batch.views:
        params += [EventKind.PAGE_VIEW.value, occurred.get_db_prep_value(view.at, connection), contact_id,
                   company_id, _summary(view),
                   payload.get_db_prep_value({"url": view.url, "referrer": view.referrer, "title": view.title,
                                              "utm": view.utm, "site": batch.site.pk}, connection)]
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch.views))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(Event._meta.db_table)} (kind, occurred_at, contact_id, company_id, summary, payload) "
            f"VALUES {rows} RETURNING id", params)
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def record_page_views(batch: Batch) -> int:
    """Store a judged batch as page-view events: the contact's when the visitor is known, else the
    anonymous visitor's (through the join table). A valid signed contact token in the batch
    makes the visitor known first, so its views and all before them land on the contact."""
    visitor_id, contact_id, company_id = _visitor(batch)
    if batch.contact_token:
        contact = identity.contact_from_token(batch.contact_token)
        if contact is not None and contact_id != contact.pk:
            identity.identify_visitor(visitor=Visitor(pk=visitor_id), contact=contact, via="a tracked link")
            contact_id, company_id = contact.pk, contact.company_id
    if connection.features.can_return_rows_from_bulk_insert:
        event_ids = _insert_page_views(batch, contact_id, company_id)
    else:  # a database without INSERT … RETURNING: the ORM's way, slower
        events = [Event(kind=EventKind.PAGE_VIEW, occurred_at=view.at, contact_id=contact_id, company_id=company_id,
                        summary=_summary(view),
                        payload={"url": view.url, "referrer": view.referrer, "title": view.title, "utm": view.utm,
                                 "site": batch.site.pk})
                  for view in batch.views]
        event_ids = [e.pk for e in Event.objects.bulk_create(events)]
    if contact_id is None:
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {qn(VisitorPageView._meta.db_table)} (event_id, visitor_id) VALUES "
                + ", ".join(["(%s, %s)"] * len(event_ids)),
                [value for event_id in event_ids for value in (event_id, visitor_id)])
    return len(event_ids)
