"""HTTP API for the timeline: log activities (note, call, meeting, e-mail) and read events.

Events are append-only history, so they are read-only here; activities are the editable side.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params
from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.pagination import keyset_page
from rapport.people import selectors as people

from . import selectors, services
from .models import ACTIVITY_KINDS

router = Router()

SOURCE = "api"
ERRORS = {401: Problem, 404: Problem, 422: ValidationProblem}
CHANGE_ERRORS = {**ERRORS, 403: Problem}

ActivityKind = Enum("ActivityKind", {k.value.upper(): k.value for k in ACTIVITY_KINDS}, type=str)


class ActivityFields(InputSchema):
    occurred_at: dt.datetime | None = Field(None, description="When it happened (ISO 8601); default now")
    subject: str | None = None
    body: str | None = None
    duration_minutes: int | None = Field(None, description="Minutes spent with the customer")
    outcome: str | None = Field(None, description="Calls: connected, voicemail, no_answer, wrong_number")
    direction: str | None = Field(None, description="E-mails: inbound or outbound")
    attendees: list[str] | None = Field(None, description="Meetings: who attended")


class ActivityCreate(ActivityFields):
    """Log against a contact (its company is added) or a company. Notes need a body, e-mails a subject."""

    kind: ActivityKind
    contact: int | None = Field(None, description="Contact id")
    company: int | None = Field(None, description="Company id")


class ActivityUpdate(ActivityFields):
    """Only the fields sent change; the kind and the record it is logged against do not."""


class ActivityOut(Schema):
    id: int
    kind: str
    occurred_at: dt.datetime
    contact: int | None
    company: int | None
    owner: int | None
    subject: str
    body: str
    duration_minutes: int | None
    outcome: str
    direction: str
    attendees: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_contact(obj) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_owner(obj) -> int | None:
        return obj.owner_id


def _record(actor, model_selector, record_id: int | None, field: str):
    """The contact/company named in a body, as a field error when the caller cannot see it.

    A missing and a hidden record get the same answer, so ids cannot be probed.
    """
    if record_id is None:
        return None
    try:
        return model_selector(actor, record_id)
    except NotVisible as exc:
        raise ValidationFailed({field: f"no such {field}"}) from exc


@router.post("/activities", response={201: ActivityOut, **ERRORS}, tags=["activities"],
             operation_id="log_activity")
def log_activity(request, payload: ActivityCreate):
    actor = actor_of(request)
    data = payload.model_dump(mode="json", exclude_unset=True)
    contact = _record(actor, people.get_contact, data.pop("contact", None), "contact")
    company = _record(actor, people.get_company, data.pop("company", None), "company")
    activity = services.log_activity(actor=actor, data=data, contact=contact, company=company, source=SOURCE)
    return Status(201, activity)


@router.get("/activities/{activity_id}", response={200: ActivityOut, **ERRORS}, tags=["activities"],
            operation_id="get_activity")
def get_activity(request, activity_id: int):
    return selectors.get_activity(actor_of(request), activity_id)


@router.patch("/activities/{activity_id}", response={200: ActivityOut, **CHANGE_ERRORS}, tags=["activities"],
              operation_id="update_activity")
def update_activity(request, activity_id: int, payload: ActivityUpdate):
    actor = actor_of(request)
    activity = selectors.get_activity(actor, activity_id)
    return services.update_activity(actor=actor, activity=activity,
                                    data=payload.model_dump(mode="json", exclude_unset=True), source=SOURCE)


@router.delete("/activities/{activity_id}", response={204: None, **CHANGE_ERRORS}, tags=["activities"],
               operation_id="delete_activity")
def delete_activity(request, activity_id: int):
    """Removes the activity (and its event) from the timeline."""
    actor = actor_of(request)
    services.delete_activity(actor=actor, activity=selectors.get_activity(actor, activity_id), source=SOURCE)
    return Status(204, None)


# --- events -----------------------------------------------------------------------------------

class EventOut(Schema):
    id: int
    kind: str
    occurred_at: dt.datetime
    actor: int | None
    contact: int | None
    company: int | None
    activity: int | None
    summary: str
    payload: dict[str, Any]

    @staticmethod
    def resolve_actor(obj) -> int | None:
        return obj.actor_id

    @staticmethod
    def resolve_contact(obj) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_activity(obj) -> int | None:
        return obj.activity_id


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class EventFilters(Schema):
    contact: int | None = Field(None, description="One contact's timeline")
    company: int | None = Field(None, description="One company's timeline (its contacts' events included)")
    kind: str | None = Field(None, description="call, meeting, note, email, stage_change, ...")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.get("/events", response={200: EventPage, 401: Problem, 404: Problem, 422: ValidationProblem},
            tags=["events"], operation_id="list_events")
def list_events(request, filters: Query[EventFilters]):
    """The timeline, newest first: one contact's, one company's, or everything you may see.

    Filtering by a contact or company you may not see answers 404.
    """
    reject_unknown_params(request, EventFilters)
    actor = actor_of(request)
    if filters.contact is not None:
        page = selectors.contact_timeline(actor, filters.contact, kind=filters.kind, cursor=filters.cursor,
                                          size=filters.limit)
    elif filters.company is not None:
        page = selectors.company_timeline(actor, filters.company, kind=filters.kind, cursor=filters.cursor,
                                          size=filters.limit)
    else:
        events = selectors._live(selectors._kind_filter(selectors.visible_events(actor), filters.kind))
        page = keyset_page(events, order="-occurred_at", cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}
