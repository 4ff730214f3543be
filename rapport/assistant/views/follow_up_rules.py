"""The follow-up rules page (admins): one card per rule with what it does, its switch, N days,
priority and its own settings; "Run now" for one rule or all, queued for the background worker,
and a status fragment the page polls while a run is queued or running.

The form turns text into numbers and says which text is not one; the rules service judges
every value (ranges, lists) and saves through `update_rule`, which audits. A rejected form comes
back with every reason next to its field and everything as typed.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed

from ..models import RuleKind, RuleRunStatus, TaskPriority
from ..selectors import follow_up_rules as selectors
from ..services import rule_runs
from ..services import rules as services
from ..services.tasks import zone_of

WHOLE = re.compile(r"^[+-]?\d+$")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
# Text boxes with a numeric keyboard, not number inputs: a browser sends a number input's
# unreadable text as empty, and what was typed would be lost instead of named in the error.
WHOLE_INPUT = forms.TextInput(attrs={"inputmode": "numeric", "size": 6})
DECIMAL_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "size": 6})

# N days means something different in each rule: the label says what.
DAYS_FIELD = {
    RuleKind.AFTER_MEETING: ("Follow up after (days)", "0 to 3650; 0 makes the task due the day of the meeting."),
    RuleKind.STALLED_DEAL: ("Days without activity", "0 to 3650."),
    RuleKind.NEW_CUSTOMER: ("Make a missed check-in up to (days late)",
                            "0 to 3650; how late a check-in is still made when the rules did not run on its day."),
    RuleKind.PURCHASE_INTERVAL: ("Days overdue before a task", "0 to 3650; the grace after the usual interval."),
}


def _whole(text: str, reason: str) -> int:
    if not WHOLE.match(text):
        raise forms.ValidationError(reason)
    return int(text)


def _number(text: str, reason: str) -> int | float:
    if not NUMBER.match(text):
        raise forms.ValidationError(reason)
    value = float(text)
    return int(value) if value.is_integer() else value


class RuleForm(forms.Form):
    """One rule's card. Only the fields the rule's kind uses are on it."""

    enabled = forms.BooleanField(label="Rule is on", required=False,
                                 help_text="When off, runs (scheduled or Run now) make no tasks for this rule.")
    days = forms.CharField(required=False, widget=WHOLE_INPUT)
    priority = forms.CharField(label="Priority of its tasks", required=False,
                               widget=forms.Select(choices=TaskPriority.choices))
    look_back_days = forms.CharField(label="Look back (days)", required=False,
                                     widget=WHOLE_INPUT,
                                     help_text="1 to 365: meetings older than this get no follow-up.")
    check_in_days = forms.CharField(label="Check-in days", required=False,
                                    help_text="Whole days after the first purchase, separated by commas, "
                                              "such as 7, 30, 90 (1 to 3650).")
    hours_before = forms.CharField(label="Hours before the deadline", required=False,
                                   widget=DECIMAL_INPUT,
                                   help_text="0 to 336 (two weeks); 0 means at the deadline. Halves are fine: 1.5.")
    min_orders = forms.CharField(label="Minimum orders", required=False,
                                 widget=WHOLE_INPUT,
                                 help_text="2 to 1000: a usual interval needs at least two purchases.")
    give_up_after_intervals = forms.CharField(label="Give up after (intervals)", required=False,
                                              widget=DECIMAL_INPUT,
                                              help_text="1 to 100 usual intervals without a purchase.")

    def __init__(self, *args, rule, **kwargs):
        kwargs.setdefault("prefix", f"rule-{rule.pk}")
        kwargs.setdefault("initial", initial_of(rule))
        super().__init__(*args, **kwargs)
        self.rule = rule
        keep = {"enabled", *services.KIND_SETTINGS.get(rule.kind, ())}
        if rule.kind in services.USES_DAYS:
            keep.add("days")
            self.fields["days"].label, self.fields["days"].help_text = DAYS_FIELD[rule.kind]
        if rule.kind not in services.FIXED_PRIORITY:
            keep.add("priority")
        for name in set(self.fields) - keep:
            del self.fields[name]

    def clean_days(self):
        return _whole(self.cleaned_data["days"], "Enter a whole number of days, such as 7.")

    def clean_look_back_days(self):
        return _whole(self.cleaned_data["look_back_days"], "Enter a whole number of days, such as 14.")

    def clean_min_orders(self):
        return _whole(self.cleaned_data["min_orders"], "Enter a whole number of orders, such as 2.")

    def clean_hours_before(self):
        return _number(self.cleaned_data["hours_before"], "Enter a number of hours, such as 4 or 1.5.")

    def clean_give_up_after_intervals(self):
        return _number(self.cleaned_data["give_up_after_intervals"], "Enter a number, such as 3 or 2.5.")

    def clean_check_in_days(self):
        days = []
        for part in self.cleaned_data["check_in_days"].split(","):
            part = part.strip()
            if part:
                days.append(_whole(part, f"“{part}” is not a whole number of days: write whole days separated "
                                         "by commas, such as 7, 30, 90."))
        return sorted(set(days))

    def rule_data(self) -> dict:
        """What the service is asked to save: the fields that read as values. Settings the page
        does not show (set through the API) are kept as they are."""
        clean = self.cleaned_data
        data: dict = {"enabled": bool(clean.get("enabled"))}
        for name in ("days", "priority"):
            if name in clean:
                data[name] = clean[name]
        own = {name: clean[name] for name in services.KIND_SETTINGS.get(self.rule.kind, ()) if name in clean}
        data["settings"] = {**(self.rule.settings or {}), **own}
        return data

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, reason in errors.items():
            name = field.removeprefix("settings.")
            if name in self.fields and name not in self.errors:
                self.add_error(name, reason)
            elif name not in self.fields:
                self.add_error(None, f"{name.replace('_', ' ')}: {reason}")

    def focus_first_error(self) -> None:
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return


def initial_of(rule) -> dict:
    initial = {"enabled": rule.enabled, "days": str(rule.days), "priority": rule.priority}
    for name in services.KIND_SETTINGS.get(rule.kind, ()):
        value = services.setting_of(rule, name)
        initial[name] = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return initial


def _cards(rules, bound: RuleForm | None = None) -> list[dict]:
    return [{"rule": rule, "description": selectors.describe_rule(rule),
             "form": bound if bound is not None and bound.rule.pk == rule.pk else RuleForm(rule=rule),
             "fixed_priority": services.FIXED_PRIORITY.get(rule.kind)} for rule in rules]


def _context(request: HttpRequest, rules) -> dict:
    return {"rules": rules, "zone": zone_of(request.user).key, **selectors.run_status(request.user)}


def _page(request: HttpRequest, *, bound: RuleForm | None = None, status: int = 200) -> HttpResponse:
    request.nav_section = "follow_up_rules"
    try:
        rules = selectors.rules_for(request.user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    context = _context(request, rules)
    context["cards"] = _cards(rules, bound)
    return render(request, "assistant/follow_up_rules.html", context, status=status)


@login_required
@require_GET
def follow_up_rules(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def follow_up_rule_save(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        rule = selectors.rule_for(request.user, rule_id)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except NotVisible as exc:
        raise Http404("No such follow-up rule") from exc
    form = RuleForm(request.POST, rule=rule)
    form.is_valid()
    form.add_service_errors(services.rule_update_errors(rule, form.rule_data()))
    if not form.errors:
        try:
            services.update_rule(actor=request.user, rule=rule, data=form.rule_data(), source="web")
        except ValidationFailed as exc:  # pragma: no cover - the same checks as just above
            form.add_service_errors(exc.errors)
    if form.errors:
        form.focus_first_error()
        return _page(request, bound=form, status=422)
    state = "on" if rule.enabled else "off"
    messages.success(request, f"Saved “{rule.name}” ({state}). The next run uses it.")
    return redirect(f"{reverse('follow_up_rules')}#rule-{rule.pk}")


@login_required
@require_POST
def follow_up_rules_run(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "").strip()
    anchor = "runs"
    try:
        if kind:
            rule = next((r for r in selectors.rules_for(request.user) if r.kind == kind), None)
            anchor = f"rule-{rule.pk}" if rule else anchor
        run = rule_runs.request_rule_run(actor=request.user, kind=kind)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, "Not run: " + "; ".join(exc.errors.values()))
        return redirect(f"{reverse('follow_up_rules')}#{anchor}")
    what = (f"the rule “{dict(RuleKind.choices).get(kind, kind)}”" if kind
            else "every rule that is on, then the cadences")
    run.refresh_from_db()  # a backend that runs tasks at once (tests, small set-ups) has finished it
    if run.status == RuleRunStatus.QUEUED:
        messages.success(request, f"Run #{run.pk} queued: the background worker runs {what} shortly. "
                                  "This page shows when it is done.")
    elif run.status == RuleRunStatus.DONE:
        messages.success(request, f"Run #{run.pk} done: it ran {what} and made {run.created} task(s).")
    else:
        messages.info(request, f"Run #{run.pk} is {run.get_status_display().lower()}: see below.")
    return redirect(f"{reverse('follow_up_rules')}#{anchor}")


@login_required
@require_GET
def follow_up_rules_status(request: HttpRequest) -> HttpResponse:
    """The runs card, and each rule's last-run line swapped in beside it (htmx out-of-band)."""
    try:
        rules = selectors.rules_for(request.user)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    context = _context(request, rules)
    context["oob"] = True
    return render(request, "assistant/_follow_up_run_status.html", context)


urlpatterns = [
    path("follow-up-rules/", follow_up_rules, name="follow_up_rules"),
    path("follow-up-rules/<int:rule_id>/", follow_up_rule_save, name="follow_up_rule_save"),
    path("follow-up-rules/run/", follow_up_rules_run, name="follow_up_rules_run"),
    path("follow-up-rules/status/", follow_up_rules_status, name="follow_up_rules_status"),
]
