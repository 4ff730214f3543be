"""Cadence pages: the list, a cadence with its enrolments, the form that defines its steps, and
the contact page's card to enrol the contact or stop their cadence.

The step form works without script: "Add a step" and the move buttons post the form back and
it comes back rearranged, unsaved; only "Save cadence" saves.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.selectors import audit_history
from rapport.core.visibility import is_admin

from ..models import CadenceStepKind, EnrolmentStatus
from ..selectors import cadences as selectors
from ..selectors.meetings import template_queryset
from ..services import cadences as services
from .tasks import _back

STEP_FIELDS = ("kind", "wait_days", "title", "template_name")
# Blank rows offered on a new cadence, so a short series needs no "Add a step".
NEW_ROWS = 3


def _cadence_or_404(request: HttpRequest, cadence_id: int):
    try:
        return selectors.get_cadence(request.user, cadence_id)
    except NotVisible as exc:
        raise Http404("No such cadence") from exc


def progress(enrolment, step_count: int) -> str:
    """Where an enrolment is, in words: the next step and when, or how it ended."""
    made = enrolment.next_position
    if enrolment.status == EnrolmentStatus.ACTIVE:
        if made >= step_count:
            return f"All {step_count} steps made; finishing"
        when = f" on {enrolment.next_step_at:%d %b %Y}" if enrolment.next_step_at else ""
        return f"Step {made + 1} of {step_count} due{when}"
    if enrolment.status == EnrolmentStatus.FINISHED:
        return f"All {made} step{'s' if made != 1 else ''} made"
    return f"Stopped after {made} of {step_count} step{'s' if step_count != 1 else ''}"


# --- list and page ------------------------------------------------------------------------

@login_required
def cadence_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "cadences"
    try:
        page = selectors.list_cadences(request.user, cursor=request.GET.get("cursor") or None)
    except ValidationFailed as exc:
        raise Http404("No such page") from exc
    return render(request, "assistant/cadence_list.html", {
        "page": page, "may_define": services.may_define_cadences(request.user),
        "may_edit_rules": is_admin(request.user)})


@login_required
def cadence_detail(request: HttpRequest, cadence_id: int) -> HttpResponse:
    request.nav_section = "cadences"
    cadence = _cadence_or_404(request, cadence_id)
    status = request.GET.get("status", "")
    try:
        page = selectors.cadence_enrolments(request.user, cadence, status=status,
                                            cursor=request.GET.get("cursor") or None)
    except ValidationFailed as exc:
        raise Http404("No such page") from exc
    steps = selectors.steps_of(cadence)
    rows = [{"enrolment": e, "progress": progress(e, len(steps)),
             "may_stop": e.status == EnrolmentStatus.ACTIVE and services.may_stop_enrolment(request.user, e)}
            for e in page.items]
    return render(request, "assistant/cadence_detail.html", {
        "cadence": cadence, "steps": [(step, services.describe_step(step)) for step in steps], "rows": rows,
        "page": page, "status": status, "statuses": EnrolmentStatus.choices,
        "may_change": services.may_change_cadence(request.user, cadence), "audit": audit_history(cadence),
        "here": request.get_full_path()})


# --- the step form ------------------------------------------------------------------------

def _blank_row() -> dict:
    return {"kind": "", "wait_days": "0", "title": "", "template_name": "", "remove": False, "errors": {}}


def _is_blank(row: dict) -> bool:
    return not (row["kind"] or row["title"] or row["template_name"]) and row["wait_days"] in ("", "0")


def _rows_from_post(post) -> list[dict]:
    try:
        count = int(post.get("step_count", 0))
    except ValueError:
        count = 0
    rows = []
    for i in range(max(0, min(count, services.MAX_STEPS + NEW_ROWS))):
        row = {name: post.get(f"step-{i}-{name}", "").strip() for name in STEP_FIELDS}
        row.update(remove=post.get(f"step-{i}-remove") == "on", errors={})
        rows.append(row)
    return rows


def _rows_of(cadence) -> list[dict]:
    return [{"kind": s.kind, "wait_days": str(s.wait_days), "title": s.title, "template_name": s.template_name,
             "remove": False, "errors": {}} for s in selectors.steps_of(cadence)]


def _rearrange(rows: list[dict], action: str) -> bool:
    """Apply "add", "up-N" or "down-N"; False when the action is something else (save)."""
    if action == "add":
        rows.append(_blank_row())
        return True
    verb, _, index = action.partition("-")
    if verb in ("up", "down") and index.isdigit():
        i = int(index)
        j = i - 1 if verb == "up" else i + 1
        if 0 <= i < len(rows) and 0 <= j < len(rows):
            rows[i], rows[j] = rows[j], rows[i]
        return True
    return False


def _form_page(request: HttpRequest, *, cadence, values: dict, rows: list[dict], errors: dict | None = None,
               status: int = 200) -> HttpResponse:
    request.nav_section = "cadences"
    errors = errors or {}
    names = list(template_queryset(request.user).order_by("name").values_list("name", flat=True).distinct()[:200])
    return render(request, "assistant/cadence_form.html", {
        "cadence": cadence, "values": values, "rows": rows, "errors": errors, "kinds": CadenceStepKind.choices,
        "template_names": names, "max_steps": services.MAX_STEPS,
        "general": [f"{k.replace('_', ' ')}: {v}" for k, v in errors.items()
                    if k not in ("name", "description", "active", "steps")]}, status=status)


def _save(request: HttpRequest, *, cadence, values: dict, rows: list[dict]) -> HttpResponse:
    sent = [i for i, row in enumerate(rows) if not row["remove"] and not _is_blank(row)]
    steps = [{"kind": rows[i]["kind"], "wait_days": rows[i]["wait_days"] or "0", "title": rows[i]["title"],
              "template_name": rows[i]["template_name"]} for i in sent]
    try:
        if cadence is None:
            saved = services.create_cadence(actor=request.user, name=values["name"], steps=steps,
                                            description=values["description"])
        else:
            saved = services.update_cadence(actor=request.user, cadence=cadence, data={
                "name": values["name"], "description": values["description"], "active": values["active"],
                "steps": steps})
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        errors: dict[str, str] = {}
        for key, reason in exc.errors.items():
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "steps" and parts[1].isdigit() and int(parts[1]) < len(sent):
                rows[sent[int(parts[1])]]["errors"][parts[2]] = reason
            else:
                errors[key] = reason
        # Removed and blank rows are left out of what was judged; they stay as the person left them.
        return _form_page(request, cadence=cadence, values=values, rows=rows, errors=errors, status=422)
    messages.success(request, f"Cadence “{saved.name}” saved with {len(steps)} step{'s' if len(steps) != 1 else ''}.")
    return redirect("cadence_detail", cadence_id=saved.pk)


def _values_from_post(post) -> dict:
    return {"name": post.get("name", "").strip(), "description": post.get("description", "").strip(),
            "active": post.get("active") == "on"}


@login_required
def cadence_new(request: HttpRequest) -> HttpResponse:
    if not services.may_define_cadences(request.user):
        raise PermissionDenied("only admins and managers define cadences")
    if request.method != "POST":
        return _form_page(request, cadence=None, values={"name": "", "description": "", "active": True},
                          rows=[_blank_row() for _ in range(NEW_ROWS)])
    values, rows = _values_from_post(request.POST), _rows_from_post(request.POST)
    if _rearrange(rows, request.POST.get("do", "save")):
        return _form_page(request, cadence=None, values=values, rows=rows)
    return _save(request, cadence=None, values=values, rows=rows)


@login_required
def cadence_edit(request: HttpRequest, cadence_id: int) -> HttpResponse:
    cadence = _cadence_or_404(request, cadence_id)
    if not services.may_change_cadence(request.user, cadence):
        raise PermissionDenied("only admins and the manager who made this cadence may change it")
    if request.method != "POST":
        return _form_page(request, cadence=cadence, values={
            "name": cadence.name, "description": cadence.description, "active": cadence.active},
            rows=[*_rows_of(cadence), _blank_row()])
    values, rows = _values_from_post(request.POST), _rows_from_post(request.POST)
    if _rearrange(rows, request.POST.get("do", "save")):
        return _form_page(request, cadence=cadence, values=values, rows=rows)
    return _save(request, cadence=cadence, values=values, rows=rows)


# --- enrolments ---------------------------------------------------------------------------

@login_required
@require_POST
def enrolment_stop(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    try:
        enrolment = selectors.get_enrolment(request.user, enrolment_id)
    except NotVisible as exc:
        raise Http404("No such enrolment") from exc
    try:
        services.stop_enrolment(actor=request.user, enrolment=enrolment,
                                reason=request.POST.get("reason", ""))
    except NotAllowed as exc:
        messages.error(request, str(exc))
    except ValidationFailed as exc:
        messages.error(request, "Not stopped: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
    else:
        messages.success(request, f"Stopped “{enrolment.cadence.name}” for {enrolment.contact}.")
    return redirect(_back(request, reverse("cadence_detail", args=[enrolment.cadence_id])))


def _contact_or_404(request: HttpRequest, value):
    from rapport.people import selectors as people

    if not str(value or "").isdigit():
        raise Http404("Say which contact")
    try:
        return people.get_contact(request.user, int(value))
    except NotVisible as exc:
        raise Http404("No such contact") from exc


@login_required
def contact_cadences(request: HttpRequest) -> HttpResponse:
    """The contact page's cadence card: their enrolments and a form to enrol them."""
    contact = _contact_or_404(request, request.GET.get("contact"))
    enrolments = selectors.contact_enrolments(contact)
    rows = [{"enrolment": e, "progress": progress(e, e.step_count),
             "may_stop": e.status == EnrolmentStatus.ACTIVE and services.may_stop_enrolment(request.user, e)}
            for e in enrolments]
    active = {e.cadence_id for e in enrolments if e.status == EnrolmentStatus.ACTIVE}
    return render(request, "assistant/_contact_cadences.html", {
        "contact": contact, "rows": rows,
        "cadences": [c for c in selectors.enrollable_cadences(request.user) if c.pk not in active],
        "next": request.GET.get("next") or reverse("contact_detail", args=[contact.pk])})


@login_required
@require_POST
def cadence_enrol(request: HttpRequest) -> HttpResponse:
    contact = _contact_or_404(request, request.POST.get("contact"))
    back = _back(request, reverse("contact_detail", args=[contact.pk]))
    if not str(request.POST.get("cadence", "")).isdigit():
        messages.error(request, "Not enrolled: choose a cadence.")
        return redirect(back)
    cadence = _cadence_or_404(request, int(request.POST["cadence"]))
    try:
        enrolment = services.enrol_contact(actor=request.user, cadence=cadence, contact=contact)
    except NotAllowed as exc:
        messages.error(request, f"Not enrolled: {exc}")
    except ValidationFailed as exc:
        messages.error(request, "Not enrolled: " + "; ".join(exc.errors.values()))
    else:
        messages.success(request, f"{contact} enrolled in “{cadence.name}”; the first step is due "
                                  f"{enrolment.next_step_at:%d %b %Y}. It stops by itself when they reply, "
                                  "book a meeting or are disqualified.")
    return redirect(back)


urlpatterns = [
    path("cadences/", cadence_list, name="cadence_list"),
    path("cadences/new/", cadence_new, name="cadence_new"),
    path("cadences/<int:cadence_id>/", cadence_detail, name="cadence_detail"),
    path("cadences/<int:cadence_id>/edit/", cadence_edit, name="cadence_edit"),
    path("cadences/enrol/", cadence_enrol, name="cadence_enrol"),
    path("cadences/of-contact/", contact_cadences, name="contact_cadences"),
    path("cadences/enrolments/<int:enrolment_id>/stop/", enrolment_stop, name="enrolment_stop"),
]
