"""The page of one task: what it is, why it exists, its history, and a form to change it or
give it to a colleague. Done, snooze and cancel post to the one-click endpoints Today uses."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.selectors import audit_history
from rapport.web.forms import ServiceErrors

from ..models import Recurrence, TaskPriority, TaskStatus
from ..selectors import tasks as selectors
from ..services import tasks as services
from .tasks import SNOOZE_CHOICES

# Service field -> the form field where its error belongs (None: above the form).
ERROR_FIELDS = {"due_at": "due_date", "status": None, "contact": None, "company": None, "deal": None, "lead": None}


class TaskForm(ServiceErrors, forms.Form):
    """Collects text only: the task services judge every value (and who may be given the task)."""

    error_fields = ERROR_FIELDS

    title = forms.CharField(required=False, widget=forms.TextInput(attrs={"maxlength": 200}))
    due_date = forms.CharField(label="Due on", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.CharField(label="at", required=False, widget=forms.TimeInput(attrs={"type": "time"}),
                               help_text="Leave the time empty for an all-day task")
    priority = forms.CharField(required=False, widget=forms.Select(choices=TaskPriority.choices))
    assignee = forms.CharField(label="Assigned to", required=False, widget=forms.Select())
    recurrence = forms.CharField(label="Repeats", required=False, widget=forms.Select(choices=Recurrence.choices))
    recurrence_days = forms.CharField(label="Every N days", required=False,
                                      widget=forms.NumberInput(attrs={"min": 1, "max": 365}),
                                      help_text="Only for “Every N days”")
    remind_at = forms.CharField(label="Remind me", required=False,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                help_text="An e-mail at this time; empty for none")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].widget.choices = [(str(u.pk), u.get_full_name() or u.username) for u in assignees]

    def changes(self, task) -> dict:
        """What the person changed, as the service's data: only changed fields are sent, so
        saving a new title neither clears a snooze (a new due time would) nor re-judges an
        assignee chosen by someone else."""
        data = {name: (value or "").strip() for name, value in self.cleaned_data.items()}
        before = {name: str(self.initial.get(name, "")) for name in self.fields}
        changed = {name for name in self.fields if data[name] != before[name]}
        out = {name: data[name] for name in ("title", "notes", "priority", "assignee", "remind_at") if name in changed}
        if {"due_date", "due_time"} & changed:
            out["due_date"], out["due_time"] = data["due_date"], data["due_time"]
        if {"recurrence", "recurrence_days"} & changed:
            out["recurrence"], out["recurrence_days"] = data["recurrence"], data["recurrence_days"]
            if data["recurrence"] != Recurrence.EVERY_N_DAYS and "recurrence_days" not in changed:
                # The old N of an "every N days" task left in its box: it goes with the old rhythm.
                out["recurrence_days"] = ""
        return out


def zone_for(task, viewer):
    """Times on the page are the assignee's: theirs is the day an all-day task belongs to."""
    return services.zone_of(task.assignee if task.assignee_id else viewer)


def initial_of(task, zone) -> dict:
    due = task.due_at.astimezone(zone) if task.due_at else None
    remind = task.remind_at.astimezone(zone) if task.remind_at else None
    return {"title": task.title, "notes": task.notes, "priority": task.priority,
            "assignee": str(task.assignee_id or ""), "due_date": due.date().isoformat() if due else "",
            "due_time": f"{due:%H:%M}" if due and not task.all_day else "", "recurrence": task.recurrence,
            "recurrence_days": str(task.recurrence_days or ""),
            "remind_at": f"{remind:%Y-%m-%dT%H:%M}" if remind else ""}


def pin_to_zone(changes: dict, zone) -> dict:
    """A due time typed while reassigning was typed in the zone the page showed (the current
    assignee's); the service would read a bare time in the new assignee's. Send it with its
    offset. A bare date stays a date: an all-day task's day is its assignee's day."""
    if "assignee" not in changes or not changes.get("due_date") or not changes.get("due_time"):
        return changes
    try:
        moment = dt.datetime.combine(dt.date.fromisoformat(changes["due_date"]),
                                     dt.time.fromisoformat(changes["due_time"]), tzinfo=zone)
    except ValueError:
        return changes  # the service names the field that is wrong
    pinned = {k: v for k, v in changes.items() if k not in ("due_date", "due_time")}
    pinned["due_at"] = moment.isoformat()
    return pinned


def _assignees(request: HttpRequest, task) -> list:
    users = list(selectors.task_assignees(request.user))
    if task.assignee is not None and all(u.pk != task.assignee_id for u in users):
        users.insert(0, task.assignee)  # shown as it is, even if the viewer could not choose them
    return users


def _may_change(user, task) -> bool:
    try:
        services.check_may_change(user, task)
    except NotAllowed:
        return False
    return True


def _get(request: HttpRequest, task_id: int):
    try:
        return selectors.get_task(request.user, task_id)
    except NotVisible as exc:
        raise Http404("No such task") from exc


def _page(request: HttpRequest, task, form: TaskForm, *, status: int = 200) -> HttpResponse:
    request.nav_section = "today"
    zone = zone_for(task, request.user)
    return render(request, "assistant/task_detail.html", {
        "task": task, "form": form, "may_change": _may_change(request.user, task), "zone": zone.key,
        "overdue": task.is_overdue(), "audit": audit_history(task), "snooze_choices": SNOOZE_CHOICES,
        "here": request.path, "open": task.status == TaskStatus.OPEN,
        "due_local": task.due_at.astimezone(zone) if task.due_at else None,
    }, status=status)


@login_required
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _get(request, task_id)
    initial = initial_of(task, zone_for(task, request.user))
    if request.method != "POST":
        return _page(request, task, TaskForm(initial=initial, assignees=_assignees(request, task)))
    form = TaskForm(request.POST, initial=initial, assignees=_assignees(request, task))
    if not form.is_valid():  # pragma: no cover - every field is optional text
        return _page(request, task, form, status=422)
    changes = pin_to_zone(form.changes(task), zone_for(task, request.user))
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect("task_detail", task_id=task.pk)
    try:
        with transaction.atomic():
            locked = selectors.task_for_update(request.user, task.pk)
            saved = services.update_task(actor=request.user, task=locked, data=changes)
    except NotAllowed as exc:
        form.add_error(None, str(exc))
        return _page(request, task, form, status=403)
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _page(request, task, form, status=422)
    if "assignee" in changes and saved.assignee_id != task.assignee_id:
        messages.success(request, f"Task saved and given to {saved.assignee.get_full_name() or saved.assignee}.")
    else:
        messages.success(request, "Task saved.")
    try:
        selectors.get_task(request.user, saved.pk)
    except NotVisible:
        # Given to someone whose tasks the actor does not see: the page would now be a 404.
        return redirect("task_list")
    return redirect("task_detail", task_id=saved.pk)


@login_required
@require_POST
def task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _get(request, task_id)
    try:
        with transaction.atomic():
            services.reopen_task(actor=request.user, task=selectors.task_for_update(request.user, task.pk))
    except NotAllowed as exc:
        messages.error(request, str(exc))
    except ValidationFailed as exc:
        messages.error(request, "; ".join(exc.errors.values()))
    else:
        messages.success(request, f"Reopened: {task.title}")
    return redirect(reverse("task_detail", args=[task.pk]))


urlpatterns = [
    path("tasks/<int:task_id>/", task_detail, name="task_detail"),
    path("tasks/<int:task_id>/reopen/", task_reopen, name="task_reopen"),
]
