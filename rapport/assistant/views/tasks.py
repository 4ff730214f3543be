"""The Today page, the team's agenda, the task list and the one-click task actions.

Thin: parse, call a selector or service, render. Actions answer htmx with the changed line (or
nothing, when the line leaves the agenda) and plain posts with a redirect back.
"""

from __future__ import annotations

import html
import json

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed

from ..models import Recurrence, TaskPriority, TaskStatus
from ..selectors import agenda as agenda_selectors
from ..selectors import tasks as selectors
from ..services import tasks as services
from .agenda_html import line_html

SNOOZE_CHOICES = [("1h", "1 hour"), ("3h", "3 hours"), ("tomorrow", "Tomorrow 9:00"), ("next_week", "Next week")]
# The same options on every line of Today: made once, not once per line.
SNOOZE_OPTIONS = format_html_join("", '<option value="{}"{}>{}</option>', (
    (value, mark_safe(" selected") if value == "tomorrow" else "", label) for value, label in SNOOZE_CHOICES))


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _task_or_404(request: HttpRequest, task_id: int, *, for_update: bool = False):
    try:
        if for_update:
            return selectors.task_for_update(request.user, task_id)
        return selectors.get_task(request.user, task_id)
    except NotVisible as exc:
        raise Http404("No such task") from exc


def _errors_text(error: ValidationFailed) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in error.errors.items())


@login_required
def today(request: HttpRequest) -> HttpResponse:
    request.nav_section = "today"
    owner = request.user
    if request.GET.get("user"):
        try:
            owner = get_user_model().objects.get(pk=int(request.GET["user"]), is_active=True)
        except (ValueError, get_user_model().DoesNotExist) as exc:
            raise Http404("No such user") from exc
    try:
        limit = int(request.GET.get("limit") or agenda_selectors.DEFAULT_LIMIT)
    except ValueError:
        limit = agenda_selectors.DEFAULT_LIMIT
    try:
        agenda = agenda_selectors.agenda_for(request.user, owner, limit=limit)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    here = request.get_full_path()
    csrf_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    lines = [line_html(line, csrf_input=csrf_input, here=here, snooze_options=SNOOZE_OPTIONS)
             for line in agenda.lines]
    return render(request, "assistant/today.html", {
        "agenda": agenda, "lines": lines, "own": owner.pk == request.user.pk,
        "priorities": TaskPriority.choices, "recurrences": Recurrence.choices, "more": min(agenda.limit * 2, agenda_selectors.MAX_LIMIT),
        "here": here,
    })


@login_required
def team_agenda(request: HttpRequest) -> HttpResponse:
    request.nav_section = "today"
    try:
        rows = agenda_selectors.team_overview(request.user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    return render(request, "assistant/team_agenda.html", {"rows": rows})


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "today"
    params = {k: v for k, v in request.GET.items() if k in ("status", "priority", "origin", "sort", "overdue")}
    params.setdefault("status", TaskStatus.OPEN)
    params["assignee"] = request.user.pk
    error = None
    try:
        page = selectors.list_tasks(request.user, params, cursor=request.GET.get("cursor"), size=50)
    except ValidationFailed as exc:
        page, error = None, exc.errors
    return render(request, "assistant/task_list.html", {"page": page, "error": error, "params": params,
                                                        "statuses": TaskStatus.choices})


def _quick_add_data(post) -> dict:
    data = {name: post.get(name, "") for name in ("title", "due_date", "due_time", "priority", "notes")
            if post.get(name, "") != ""}
    data.setdefault("title", "")
    for name in ("contact", "company", "deal", "lead", "assignee"):
        if post.get(name):
            data[name] = post[name]
    if post.get("recurrence"):
        data["recurrence"] = post["recurrence"]
        if post.get("recurrence_days"):
            data["recurrence_days"] = post["recurrence_days"]
    return data


@login_required
@require_POST
def task_create(request: HttpRequest) -> HttpResponse:
    """Quick add from Today or a record page."""
    data = _quick_add_data(request.POST)
    default_back = reverse("today")
    try:
        task = services.create_task(actor=request.user, data=data)
    except ValidationFailed as exc:
        if request.htmx:
            return render(request, "assistant/_quick_add.html", {
                "errors": exc.errors, "values": request.POST, "hidden": _hidden(request.POST),
                "next": _back(request, default_back), "priorities": TaskPriority.choices,
                "recurrences": Recurrence.choices}, status=422)
        messages.error(request, f"The task was not added: {_errors_text(exc)}")
        return redirect(_back(request, default_back))
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    messages.success(request, f"Task added: {task.title}")
    return redirect(_back(request, default_back))


def _hidden(post) -> dict:
    return {k: post[k] for k in ("contact", "company", "deal", "lead") if post.get(k)}


def _done(request: HttpRequest, message: str, *, line_gone: bool = True) -> HttpResponse:
    if request.htmx:
        response = HttpResponse("")  # the line's outerHTML is replaced by nothing: it leaves the list
        response["HX-Trigger"] = json.dumps({"rapport:notice": message})
        return response
    messages.success(request, message)
    return redirect(_back(request, reverse("today")))


def _failed(request: HttpRequest, error: Exception) -> HttpResponse:
    text = _errors_text(error) if isinstance(error, ValidationFailed) else str(error)
    if request.htmx:
        response = HttpResponse(f'<p class="message error" role="alert">{html.escape(text)}</p>',
                                status=422 if isinstance(error, ValidationFailed) else 403)
        response["HX-Retarget"] = "#agenda-notice"
        response["HX-Reswap"] = "innerHTML"
        return response
    messages.error(request, text)
    return redirect(_back(request, reverse("today")))


@login_required
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    try:
        task, following = services.complete_task(actor=request.user, task=task)
    except (ValidationFailed, NotAllowed) as exc:
        return _failed(request, exc)
    extra = f"; next on {following.due_at:%d %b}" if following else ""
    return _done(request, f"Done: {task.title}{extra}")


@login_required
@require_POST
def task_snooze(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    try:
        task = services.snooze_task(actor=request.user, task=task, until=request.POST.get("until"))
    except (ValidationFailed, NotAllowed) as exc:
        return _failed(request, exc)
    until = task.snoozed_until.astimezone(services.zone_of(request.user))  # as the seller reads their clock
    return _done(request, f"Snoozed until {until:%d %b %H:%M}: {task.title}")


@login_required
@require_POST
def task_reschedule(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    try:
        task = services.reschedule_task(actor=request.user, task=task, data={
            "due_date": request.POST.get("due_date", ""), "due_time": request.POST.get("due_time", "")})
    except (ValidationFailed, NotAllowed) as exc:
        return _failed(request, exc)
    return _done(request, f"Moved to {task.due_at:%d %b}: {task.title}")


@login_required
@require_POST
def task_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    try:
        task = services.cancel_task(actor=request.user, task=task)
    except (ValidationFailed, NotAllowed) as exc:
        return _failed(request, exc)
    return _done(request, f"Cancelled: {task.title}")


@login_required
@require_POST
def task_log_call(request: HttpRequest, task_id: int) -> HttpResponse:
    """Log the call the task asked for on its contact/deal and complete the task, in one click."""
    from django.db import transaction

    from rapport.timeline.services import log_activity

    task = _task_or_404(request, task_id)
    if task.contact_id is None and task.deal_id is None and task.company_id is None:
        return _failed(request, ValidationFailed({"task": "this task is about no contact, company or deal to log "
                                                          "a call on"}))
    data = {"kind": "call", "subject": task.title, "body": request.POST.get("note", "").strip(),
            "direction": "outbound"}
    if request.POST.get("outcome"):
        data["outcome"] = request.POST["outcome"]
    try:
        with transaction.atomic():
            services.check_may_change(request.user, task)
            if task.deal_id:
                # Through sales, so the deal's last activity (its stalled flag) moves too.
                from rapport.sales.services.deals import log_deal_activity

                log_deal_activity(actor=request.user, deal=task.deal, data=data, contact=task.contact)
            else:
                log_activity(actor=request.user, data=data, contact=task.contact, company=task.company)
            services.complete_task(actor=request.user, task=task)
    except (ValidationFailed, NotAllowed) as exc:
        return _failed(request, exc)
    return _done(request, f"Call logged and done: {task.title}")


@login_required
def record_tasks(request: HttpRequest) -> HttpResponse:
    """The open tasks of a contact, company or deal, with quick add: loaded into record pages."""
    from rapport.people import selectors as people
    from rapport.sales.selectors import deals

    record, hidden = None, {}
    try:
        for name, getter in (("contact", people.get_contact), ("company", people.get_company),
                             ("deal", deals.get_deal)):
            if str(request.GET.get(name, "")).isdigit():
                record = getter(request.user, int(request.GET[name]))
                hidden = {name: record.pk}
                break
    except NotVisible as exc:
        raise Http404("No such record") from exc
    if record is None:
        raise Http404("Say which record")
    tasks = selectors.open_tasks_of(request.user, **{next(iter(hidden)): record})
    return render(request, "assistant/_record_tasks.html", {
        "tasks": tasks, "hidden": hidden, "next": request.GET.get("next") or request.headers.get("HX-Current-URL", ""),
        "priorities": TaskPriority.choices, "recurrences": Recurrence.choices, "snooze_choices": SNOOZE_CHOICES})


urlpatterns = [
    path("today/", today, name="today"),
    path("today/team/", team_agenda, name="team_agenda"),
    path("tasks/", task_list, name="task_list"),
    path("tasks/new/", task_create, name="task_create"),
    path("tasks/of-record/", record_tasks, name="record_tasks"),
    path("tasks/<int:task_id>/complete/", task_complete, name="task_complete"),
    path("tasks/<int:task_id>/snooze/", task_snooze, name="task_snooze"),
    path("tasks/<int:task_id>/reschedule/", task_reschedule, name="task_reschedule"),
    path("tasks/<int:task_id>/cancel/", task_cancel, name="task_cancel"),
    path("tasks/<int:task_id>/log-call/", task_log_call, name="task_log_call"),
]
