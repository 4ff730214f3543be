"""Meeting pages: schedule one from a contact or a deal, see it, change or cancel it, and record
its outcome afterwards. `urlpatterns` also gathers the e-mail and calendar pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.selectors import visible_users
from rapport.core.visibility import profile_of

from .. import ical
from ..models import MailStatus, MeetingStatus
from ..selectors import meetings as selectors
from ..services import meetings as services
from . import calendar, mail
from .meeting_forms import CancelForm, MeetingForm, OutcomeForm


def _meeting_or_404(request: HttpRequest, meeting_id: int):
    try:
        return selectors.get_meeting(request.user, meeting_id)
    except NotVisible as exc:
        raise Http404("No such meeting") from exc


def _related(request: HttpRequest, source) -> dict:
    """The contact or deal a new meeting is about, from ?contact= or ?deal= (404 if hidden)."""
    from rapport.people import selectors as people
    from rapport.sales.selectors import deals

    found = {"contact": None, "deal": None, "company": None}
    try:
        if str(source.get("deal", "")).isdigit():
            found["deal"] = deals.get_deal(request.user, int(source["deal"]))
            found["company"] = found["deal"].company
        elif str(source.get("contact", "")).isdigit():
            found["contact"] = people.get_contact(request.user, int(source["contact"]))
            found["company"] = found["contact"].company
    except NotVisible as exc:
        raise Http404("No such record") from exc
    return found


def _candidate_contacts(request: HttpRequest, related: dict, meeting=None) -> list:
    """Whom the form offers to invite: the record's people and their company's, and anyone
    already invited."""
    from rapport.people import selectors as people
    from rapport.sales.selectors import deals

    found: dict[int, object] = {}
    if meeting is not None:
        for attendee in meeting.attendees.all():
            if attendee.contact is not None:
                found[attendee.contact_id] = attendee.contact
    if related.get("contact") is not None:
        found.setdefault(related["contact"].pk, related["contact"])
    if related.get("deal") is not None:
        for link in deals.deal_contacts(related["deal"]):
            found.setdefault(link.contact_id, link.contact)
    if related.get("company") is not None:
        for contact in people.company_contacts(request.user, related["company"], limit=20):
            found.setdefault(contact.pk, contact)
    return list(found.values())


def _form(request: HttpRequest, related: dict, *, meeting=None, data=None) -> MeetingForm:
    users = [u for u in visible_users(request.user) if u.pk != request.user.pk]
    if meeting is not None:
        zone = ical.zone_of(meeting.time_zone)
        start = meeting.starts_at.astimezone(zone)
        initial = {"title": meeting.title, "date": start.date().isoformat(), "start_time": f"{start:%H:%M}",
                   "duration_minutes": meeting.duration_minutes, "time_zone": meeting.time_zone,
                   "location": meeting.location, "video_url": meeting.video_url, "agenda": meeting.agenda,
                   "attendee_contacts": [str(a.contact_id) for a in meeting.attendees.all() if a.contact_id],
                   "attendee_users": [str(a.user_id) for a in meeting.attendees.all() if a.user_id]}
    else:
        about = related.get("deal") or related.get("contact")
        candidates = _candidate_contacts(request, related)
        if related.get("contact") is not None:
            ticked = [related["contact"]]
        elif related.get("deal") is not None:
            # The deal's own people (not their whole company), those who can receive an invitation.
            from rapport.sales.selectors import deals

            ticked = [link.contact for link in deals.deal_contacts(related["deal"]) if link.contact.email]
        else:
            ticked = []
        initial = {"title": f"Meeting with {about}" if about else "", "time_zone": profile_of(request.user).time_zone,
                   "duration_minutes": 30, "attendee_contacts": [str(c.pk) for c in ticked]}
        return MeetingForm(data, initial=initial, contacts=candidates, users=users)
    return MeetingForm(data, initial=initial, contacts=_candidate_contacts(request, related, meeting), users=users)


def _report_deliveries(request: HttpRequest, meeting, verb: str) -> None:
    sent = [d for d in meeting.deliveries if d.status == MailStatus.SENT]
    failed = [d for d in meeting.deliveries if d.status != MailStatus.SENT]
    if sent:
        messages.success(request, f"{verb} sent to {len(sent)} attendee{'s' if len(sent) != 1 else ''}.")
    for delivery in failed:
        messages.error(request, f"Could not send to {delivery.to_address}: {delivery.error}. "
                                "The meeting is saved; check the address or the mail server and save again.")


@login_required
def meeting_new(request: HttpRequest) -> HttpResponse:
    request.nav_section = "meetings"
    related = _related(request, request.POST if request.method == "POST" else request.GET)
    form = _form(request, related, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        for name, value in related.items():
            if value is not None:
                data[name] = value.pk
        try:
            meeting = services.schedule_meeting(actor=request.user, data=data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Meeting “{meeting.title}” scheduled.")
            _report_deliveries(request, meeting, "Invitation")
            return redirect("meeting_detail", meeting_id=meeting.pk)
    return render(request, "assistant/meeting_form.html", {"form": form, "related": related, "meeting": None},
                  status=422 if request.method == "POST" else 200)


@login_required
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    request.nav_section = "meetings"
    meeting = _meeting_or_404(request, meeting_id)
    return render(request, "assistant/meeting_detail.html", {
        "meeting": meeting, "attendees": list(meeting.attendees.all()), "emails": selectors.emails_of(meeting),
        "outcome_form": OutcomeForm(), "cancel_form": CancelForm(), "local_time": services.local_time(meeting),
        "may_change": _may_change(request.user, meeting), "now": timezone.now(),
        "open": meeting.status == MeetingStatus.SCHEDULED})


def _may_change(user, meeting) -> bool:
    try:
        services.check_may_change(user, meeting)
    except NotAllowed:
        return False
    return True


@login_required
def meeting_edit(request: HttpRequest, meeting_id: int) -> HttpResponse:
    request.nav_section = "meetings"
    meeting = _meeting_or_404(request, meeting_id)
    related = {"contact": meeting.contact, "deal": meeting.deal, "company": meeting.company}
    form = _form(request, related, meeting=meeting, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.update_meeting(actor=request.user, meeting=meeting, data=form.service_data())
        except NotAllowed as exc:
            messages.error(request, str(exc))
            return redirect("meeting_detail", meeting_id=meeting.pk)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            if meeting.deliveries:
                _report_deliveries(request, meeting, "Update")
            else:
                messages.info(request, "Nothing the attendees see changed; no update was sent.")
            return redirect("meeting_detail", meeting_id=meeting.pk)
    return render(request, "assistant/meeting_form.html", {"form": form, "related": related, "meeting": meeting},
                  status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def meeting_cancel(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = _meeting_or_404(request, meeting_id)
    form = CancelForm(request.POST)
    form.is_valid()
    try:
        meeting = services.cancel_meeting(actor=request.user, meeting=meeting,
                                          reason=form.cleaned_data.get("reason", ""))
    except (NotAllowed, ValidationFailed) as exc:
        messages.error(request, "; ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else str(exc))
    else:
        messages.success(request, f"Meeting “{meeting.title}” cancelled.")
        _report_deliveries(request, meeting, "Cancellation")
    return redirect("meeting_detail", meeting_id=meeting.pk)


@login_required
def meeting_outcome(request: HttpRequest, meeting_id: int) -> HttpResponse:
    """The after-meeting prompt: a short note and the next step."""
    request.nav_section = "meetings"
    meeting = _meeting_or_404(request, meeting_id)
    form = OutcomeForm(request.POST if request.method == "POST" else None, initial={
        "note": meeting.outcome_note, "next_step": meeting.next_step})
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.record_outcome(actor=request.user, meeting=meeting, **form.cleaned_data)
        except NotAllowed as exc:
            messages.error(request, str(exc))
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Outcome recorded on the timeline."
                             + (" A follow-up task was added." if getattr(meeting, "follow_up", None) else ""))
            return redirect("meeting_detail", meeting_id=meeting.pk)
    return render(request, "assistant/meeting_outcome.html", {
        "meeting": meeting, "form": form, "local_time": services.local_time(meeting)},
        status=422 if request.method == "POST" else 200)


@login_required
def meeting_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "meetings"
    params = {"status": request.GET.get("status", ""), "sort": request.GET.get("sort", "")}
    try:
        page = selectors.list_meetings(request.user, params, cursor=request.GET.get("cursor") or None, size=50)
    except ValidationFailed as exc:
        raise Http404("No such page") from exc
    return render(request, "assistant/meeting_list.html", {
        "page": page, "params": params, "awaiting": selectors.awaiting_outcome(request.user),
        "statuses": MeetingStatus.choices})


urlpatterns = [
    path("meetings/", meeting_list, name="meeting_list"),
    path("meetings/new/", meeting_new, name="meeting_new"),
    path("meetings/<int:meeting_id>/", meeting_detail, name="meeting_detail"),
    path("meetings/<int:meeting_id>/edit/", meeting_edit, name="meeting_edit"),
    path("meetings/<int:meeting_id>/cancel/", meeting_cancel, name="meeting_cancel"),
    path("meetings/<int:meeting_id>/outcome/", meeting_outcome, name="meeting_outcome"),
    *mail.urlpatterns,
    *calendar.urlpatterns,
]
