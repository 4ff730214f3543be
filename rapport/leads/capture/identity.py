"""Anonymous to known: a visitor's page views join a contact's timeline, and signed contact links.

A visitor becomes known when they send a web form, or when they arrive through a link from one
of our e-mails that carries a signed contact token (`tracked_link`). From then on their earlier
anonymous page views sit on the contact's timeline, and later ones go straight there.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core import signing
from django.db import transaction
from django.utils import timezone

from rapport.people.models import Contact
from rapport.timeline.models import Event
from rapport.timeline.services import record_event

from ..models import Visitor, VisitorPageView

LINK_PARAM = "rapport_ct"
LINK_SALT = "rapport.leads.contact-link"
# An e-mail is often opened weeks after it was sent; half a year covers a campaign's life.
LINK_MAX_AGE = 180 * 24 * 3600


def contact_link_token(contact: Contact) -> str:
    """A token naming the contact that only this server can make (for links in our e-mails)."""
    return signing.dumps(contact.pk, salt=LINK_SALT, compress=False)


def tracked_link(url: str, contact: Contact) -> str:
    """`url` with the contact's signed token added, for an e-mail to that contact."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LINK_PARAM]
    query.append((LINK_PARAM, contact_link_token(contact)))
    return urlunsplit(parts._replace(query=urlencode(query)))


# A web address in a plain-text e-mail: up to white space or a closing bracket or quote, and not
# ending in the punctuation of the sentence around it.
_LINK = re.compile(r"""https?://[^\s<>"'()\[\]]+[^\s<>"'()\[\].,;:!?]""")


def tracked_links_in(text: str, contact: Contact) -> str:
    """`text` with the signed contact token added to every link to one of our tracked sites,
    so a contact who follows a link from our e-mail is known on arrival. Links elsewhere are
    left alone: the token is for our own pages only."""
    from ..models import TrackedSite

    def origin_of(url: str) -> str:  # as the collector compares them (tracking imports this module)
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    origins = {origin.lower() for site in TrackedSite.objects.filter(active=True, deleted_at__isnull=True)
               for origin in site.origins}
    if not origins:
        return text
    return _LINK.sub(lambda m: tracked_link(m.group(0), contact) if origin_of(m.group(0)) in origins
                     else m.group(0), text)


def contact_from_token(token: str) -> Contact | None:
    """The live contact a token names; None for a forged, altered or expired token."""
    try:
        contact_id = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(contact_id, int):
        return None
    return Contact.objects.filter(pk=contact_id, deleted_at__isnull=True).select_related("company").first()


def earliest_page_view(visitor: Visitor):
    """When the visitor's first still-anonymous page view happened (None if they have none)."""
    first = (Event.objects.filter(pk__in=VisitorPageView.objects.filter(visitor=visitor).values("event_id"))
             .order_by("occurred_at").values_list("occurred_at", flat=True).first())
    return first


@transaction.atomic
def identify_visitor(*, visitor: Visitor, contact: Contact, via: str) -> int:
    """Give the visitor's anonymous page views to `contact`; later views go to the contact directly.

    Returns how many page views joined. A browser that was someone else's before (a shared
    computer) keeps its earlier history with that person; only what is still anonymous moves.
    """
    visitor = Visitor.objects.select_for_update().get(pk=visitor.pk)
    anonymous = VisitorPageView.objects.filter(visitor=visitor)
    joined = Event.objects.filter(pk__in=anonymous.values("event_id")).update(
        contact=contact, company=contact.company_id)
    anonymous.delete()
    visitor.contact = contact
    visitor.identified_at = timezone.now()
    visitor.save(update_fields=["contact", "identified_at"])
    if joined:
        record_event(kind="record", contact=contact, company=contact.company,
                     summary=f"{joined} earlier page view{'s' if joined != 1 else ''} joined the timeline (via {via})",
                     payload={"visitor": visitor.pk, "page_views": joined, "via": via})
    return joined


def visitor_for_submission(anonymous_id: str) -> Visitor | None:
    """The visitor a form submission names, created if its page views have not arrived yet (so they
    go to the contact when they do); None when the id is missing or malformed."""
    from .tracking import VISITOR_ID

    if not anonymous_id or not VISITOR_ID.match(anonymous_id):
        return None
    visitor, _ = Visitor.objects.get_or_create(anonymous_id=anonymous_id)
    return visitor
