"""/api/v1/ endpoints for meetings, e-mail templates and e-mail to a contact.

Thin: parse, call a selector or service, shape the reply. A meeting or template the caller may
not see answers 404 exactly as a missing one does. Scheduling, changing and cancelling send
calendar e-mail; the reply's `deliveries` says, per attendee, whether the mail server took it.
"""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.schemas import InputSchema, Problem, ValidationProblem, reject_unknown_params
from rapport.core.errors import NotVisible, ValidationFailed
from rapport.people import selectors as people

from ..selectors import meetings as selectors
from ..services import mail as mail_services
from ..services import meetings as services

router = Router(tags=["meetings"])

SOURCE = "api"
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: ValidationProblem}
LIST_ERRORS = {401: Problem, 422: ValidationProblem}


class AttendeeOut(Schema):
    contact: int | None
    user: int | None
    name: str
    email: str
    response: str

    @staticmethod
    def resolve_contact(obj) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_user(obj) -> int | None:
        return obj.user_id


class DeliveryOut(Schema):
    to: str
    kind: str
    status: str = Field(description="sent, or failed (see error); the meeting is saved either way")
    error: str

    @staticmethod
    def resolve_to(obj) -> str:
        return obj.to_address


class MeetingOut(Schema):
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str
    organiser: int
    location: str
    video_url: str
    agenda: str
    contact: int | None
    company: int | None
    deal: int | None
    uid: str = Field(description="The iCalendar UID; stays the same through updates and the cancellation")
    sequence: int = Field(description="Raised by every update and the cancellation")
    status: str
    outcome_note: str
    next_step: str
    outcome_recorded_at: dt.datetime | None
    attendees: list[AttendeeOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_organiser(obj) -> int:
        return obj.organiser_id

    @staticmethod
    def resolve_contact(obj) -> int | None:
        return obj.contact_id

    @staticmethod
    def resolve_company(obj) -> int | None:
        return obj.company_id

    @staticmethod
    def resolve_deal(obj) -> int | None:
        return obj.deal_id

    @staticmethod
    def resolve_attendees(obj) -> list:
        return list(obj.attendees.all())


class MeetingSent(MeetingOut):
    deliveries: list[DeliveryOut] = Field(description="One per e-mail sent by this request")

    @staticmethod
    def resolve_deliveries(obj) -> list:
        return getattr(obj, "deliveries", [])


class MeetingFields(InputSchema):
    starts_at: dt.datetime | None = Field(None, description="ISO 8601; without an offset it is read in time_zone")
    ends_at: dt.datetime | None = Field(None, description="Or send duration_minutes")
    duration_minutes: int | None = None
    time_zone: str | None = Field(None, description="IANA name, e.g. Europe/Paris (default: your profile's)")
    location: str | None = None
    video_url: str | None = None
    agenda: str | None = None
    contact: int | None = Field(None, description="The contact the meeting is about")
    company: int | None = None
    deal: int | None = None
    attendee_contacts: list[int] | None = Field(None, description="Contact ids to invite; each needs an e-mail")
    attendee_users: list[int] | None = Field(None, description="User ids to invite")


class MeetingCreate(MeetingFields):
    title: str


class MeetingUpdate(MeetingFields):
    """Only the fields sent change; a change the attendees see sends them an update."""

    title: str | None = None


class CancelIn(InputSchema):
    reason: str | None = None


class OutcomeIn(InputSchema):
    note: str
    next_step: str | None = None
    follow_up_on: dt.date | None = Field(None, description="Make a follow-up task for the next step on this day")


class MeetingPage(Schema):
    items: list[MeetingOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class MeetingFilters(Schema):
    status: str | None = Field(None, description="scheduled, cancelled or done")
    contact: int | None = None
    company: int | None = None
    deal: int | None = None
    organiser: int | None = None
    starts_after: dt.datetime | None = None
    starts_before: dt.datetime | None = None
    sort: str | None = Field(None, description="start (default) or -start")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


def _body(payload) -> dict:
    data = payload.model_dump(exclude_unset=True)
    for name in ("starts_at", "ends_at"):
        if isinstance(data.get(name), dt.datetime):
            data[name] = data[name].isoformat()
    return data


@router.get("/meetings", response={200: MeetingPage, **LIST_ERRORS}, operation_id="list_meetings")
def list_meetings(request, filters: Query[MeetingFilters]):
    """Meetings you may see (yours, your team's by role, and those you are invited to), soonest first."""
    reject_unknown_params(request, MeetingFilters)
    params = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    page = selectors.list_meetings(actor_of(request), params, cursor=filters.cursor, size=filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/meetings", response={201: MeetingSent, **ERRORS}, operation_id="schedule_meeting")
def schedule_meeting(request, payload: MeetingCreate):
    """Schedule a meeting with you as organiser and e-mail each attendee an iCalendar invitation."""
    actor = actor_of(request)
    meeting = services.schedule_meeting(actor=actor, data=_body(payload), source=SOURCE)
    found = selectors.get_meeting(actor, meeting.pk)
    found.deliveries = meeting.deliveries
    return Status(201, found)


@router.get("/meetings/{meeting_id}", response={200: MeetingOut, **ERRORS}, operation_id="get_meeting")
def get_meeting(request, meeting_id: int):
    return selectors.get_meeting(actor_of(request), meeting_id)


@router.patch("/meetings/{meeting_id}", response={200: MeetingSent, **ERRORS}, operation_id="update_meeting")
def update_meeting(request, meeting_id: int, payload: MeetingUpdate):
    """Change a scheduled meeting (organiser or their manager). Attendees get an update with
    the same UID and a higher sequence; people taken off get a cancellation."""
    actor = actor_of(request)
    meeting = services.update_meeting(actor=actor, meeting=selectors.get_meeting(actor, meeting_id),
                                      data=_body(payload), source=SOURCE)
    found = selectors.get_meeting(actor, meeting_id)
    found.deliveries = meeting.deliveries
    return found


@router.post("/meetings/{meeting_id}/cancel", response={200: MeetingSent, **ERRORS}, operation_id="cancel_meeting")
def cancel_meeting(request, meeting_id: int, payload: CancelIn):
    """Cancel the meeting: every attendee gets METHOD:CANCEL with a higher sequence."""
    actor = actor_of(request)
    meeting = services.cancel_meeting(actor=actor, meeting=selectors.get_meeting(actor, meeting_id),
                                      reason=payload.reason or "", source=SOURCE)
    found = selectors.get_meeting(actor, meeting_id)
    found.deliveries = meeting.deliveries
    return found


@router.post("/meetings/{meeting_id}/outcome", response={200: MeetingOut, **ERRORS},
             operation_id="record_meeting_outcome")
def record_outcome(request, meeting_id: int, payload: OutcomeIn):
    """After the meeting: a short note and the next step; logged on the timeline."""
    actor = actor_of(request)
    services.record_outcome(actor=actor, meeting=selectors.get_meeting(actor, meeting_id), note=payload.note,
                            next_step=payload.next_step or "", follow_up_on=payload.follow_up_on, source=SOURCE)
    return selectors.get_meeting(actor, meeting_id)


# --- e-mail templates and e-mail to a contact -----------------------------------------------

class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    body: str
    owner: int
    sharing: str = Field(description="owner (only its maker) or team (its maker's team)")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner(obj) -> int:
        return obj.owner_id


class TemplateCreate(InputSchema):
    name: str
    subject: str
    body: str = Field(description="Text with merge fields such as {{ first_name }}; unknown fields are refused")
    sharing: str | None = None


class TemplateUpdate(InputSchema):
    name: str | None = None
    subject: str | None = None
    body: str | None = None
    sharing: str | None = None


class TemplatePage(Schema):
    items: list[TemplateOut]
    next_cursor: str | None = None


class PageParams(Schema):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class EmailIn(InputSchema):
    template: int | None = Field(None, description="The template used (for the log); send its text as subject/body")
    subject: str
    body: str


class SentOut(Schema):
    id: int
    to: str
    subject: str
    body: str
    status: str
    message_id: str
    sent_at: dt.datetime

    @staticmethod
    def resolve_to(obj) -> str:
        return obj.to_address


@router.get("/email-templates", response={200: TemplatePage, **LIST_ERRORS}, operation_id="list_email_templates")
def list_templates(request, params: Query[PageParams]):
    """Your templates and those your team shares, by name."""
    reject_unknown_params(request, PageParams)
    page = selectors.list_templates(actor_of(request), cursor=params.cursor, size=params.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/email-templates", response={201: TemplateOut, **ERRORS}, operation_id="create_email_template")
def create_template(request, payload: TemplateCreate):
    template = mail_services.create_template(actor=actor_of(request), data=payload.model_dump(exclude_unset=True),
                                             source=SOURCE)
    return Status(201, template)


@router.get("/email-templates/{template_id}", response={200: TemplateOut, **ERRORS}, operation_id="get_email_template")
def get_template(request, template_id: int):
    return selectors.get_template(actor_of(request), template_id)


@router.patch("/email-templates/{template_id}", response={200: TemplateOut, **ERRORS},
              operation_id="update_email_template")
def update_template(request, template_id: int, payload: TemplateUpdate):
    """Only the template's maker (or an admin) may change it."""
    actor = actor_of(request)
    return mail_services.update_template(actor=actor, template=selectors.get_template(actor, template_id),
                                         data=payload.model_dump(exclude_unset=True), source=SOURCE)


@router.delete("/email-templates/{template_id}", response={204: None, **ERRORS}, operation_id="delete_email_template")
def delete_template(request, template_id: int):
    actor = actor_of(request)
    mail_services.delete_template(actor=actor, template=selectors.get_template(actor, template_id), source=SOURCE)
    return Status(204, None)


@router.post("/contacts/{contact_id}/emails", response={201: SentOut, 502: Problem, **ERRORS},
             operation_id="email_contact")
def email_contact(request, contact_id: int, payload: EmailIn):
    """Send an e-mail to a contact; merge fields are filled in and the message is logged on the
    contact's timeline. 502 when the mail server refuses it (logged as failed, not on the timeline)."""
    actor = actor_of(request)
    contact = people.get_contact(actor, contact_id)
    template = None
    if payload.template is not None:
        try:
            template = selectors.get_template(actor, payload.template)
        except NotVisible:
            raise ValidationFailed({"template": "no such template"}) from None
    try:
        sent = mail_services.send_email_to_contact(actor=actor, contact=contact, template=template,
                                                   subject=payload.subject, body=payload.body, source=SOURCE)
    except mail_services.MailNotSent as exc:
        return Status(502, {"detail": f"The mail server did not accept the message: {exc.sent.error}"})
    return Status(201, sent)
