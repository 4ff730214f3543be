"""Reads of what capture stored, narrowed to contacts the user may see."""

from __future__ import annotations

from rapport.people import selectors as people

from ..models import ConsentRecord


def contact_consents(user, contact_id: int) -> list[ConsentRecord]:
    """Every consent the contact gave, newest first; NotVisible if the user may not see the contact."""
    contact = people.get_contact(user, contact_id)
    return list(ConsentRecord.objects.filter(contact=contact).select_related("form").order_by("-given_at", "-id"))
