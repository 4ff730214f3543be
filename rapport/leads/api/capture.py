"""Capture in the API: the consents a contact gave (the collector and public forms are plain views)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from rapport.api.auth import actor_of
from rapport.api.schemas import Problem, ValidationProblem, reject_unknown_params

from ..capture.selectors import contact_consents

router = Router(tags=["consent"])
ERRORS = {401: Problem, 404: Problem, 422: ValidationProblem}


class ConsentOut(Schema):
    id: int
    wording: str
    given_at: dt.datetime
    source: str
    form: int | None


@router.get("/contacts/{contact_id}/consents", response={200: list[ConsentOut], **ERRORS},
            operation_id="list_contact_consents")
def list_contact_consents(request, contact_id: int):
    """The consents the contact gave: the exact wording they agreed to, when, and through what."""
    reject_unknown_params(request)
    return [{"id": c.pk, "wording": c.wording, "given_at": c.given_at, "source": c.source, "form": c.form_id}
            for c in contact_consents(actor_of(request), contact_id)]
