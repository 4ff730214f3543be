"""The HTML of one line of Today.

Written with format_html rather than as a template include: Django's template engine spent
about 0.35 ms on each line (some forty variable lookups and escapes), a fifth of the page for a
seller whose agenda fills its fifty lines. The markup is the same as a template would give,
escaped the same way; `today.html` places the lines.
"""

from __future__ import annotations

from functools import cache

from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

KIND_LABELS = {"task": "Task", "meeting": "Meeting", "meeting_outcome": "Outcome", "lead": "Lead",
               "deal": "Stalled deal", "customer": "Customer"}

_TASK_ACTIONS = (
    # One form for the one-click actions: each button posts it to its own address (formaction
    # without script, hx-post with htmx), so a line carries one token and one return address.
    '<form method="post" action="{complete}" hx-target="closest li" hx-swap="outerHTML" class="inline">{csrf}'
    '<input type="hidden" name="next" value="{here}">'
    '<button type="submit" hx-post="{complete}" data-action="complete" class="primary">Done</button>'
    '{log_call}'
    '<span class="snooze-form"><label class="visually-hidden" for="snooze-{pk}">Snooze for</label>'
    '<select name="until" id="snooze-{pk}">{snooze_options}</select>'
    '<button type="submit" formaction="{snooze}" hx-post="{snooze}" data-action="snooze">Snooze</button></span></form>'
    '<form method="post" action="{reschedule}" hx-post="{reschedule}" hx-target="closest li" hx-swap="outerHTML" '
    'class="inline reschedule-form">{csrf}<input type="hidden" name="next" value="{here}">'
    '<label class="visually-hidden" for="due-{pk}">New due date</label>'
    '<input type="date" name="due_date" id="due-{pk}" required>'
    '<button type="submit" data-action="reschedule">Reschedule</button></form>'
)
_LOG_CALL = ('<button type="submit" formaction="{0}" hx-post="{0}" data-action="log-call">Log call</button>')


@cache
def _task_url_pattern() -> str:
    # reverse() once, not once per line (see the module's note on what a line may cost).
    return reverse("task_detail", args=[987654321]).replace("987654321", "{}")


def _title(line) -> SafeString | str:
    """A task's title links to its page; without a record link it is also what `o` opens."""
    if not line.task_id:
        return line.title
    return format_html('<a href="{}" class="line-link"{}>{}</a>', _task_url_pattern().format(line.task_id),
                       "" if line.record_url else mark_safe(" data-open"), line.title)


def _when(line) -> str:
    if not line.at:
        return ""
    return date_filter(line.at, "j M" if line.all_day else "j M H:i") + " · "


def _actions(line, *, csrf_input: SafeString, here: str, snooze_options: SafeString) -> SafeString:
    if line.task_id:
        log_call = format_html(_LOG_CALL, line.urls["log_call"]) if (line.contact_id or line.deal_id) else ""
        return format_html(_TASK_ACTIONS, complete=line.urls["complete"], snooze=line.urls["snooze"],
                           reschedule=line.urls["reschedule"], pk=line.task_id, csrf=csrf_input, here=here,
                           log_call=log_call, snooze_options=snooze_options)
    if line.actions:
        return mark_safe("".join(format_html('<a class="button" href="{}">{}</a>', url, label)
                                 for label, url in line.actions))
    if line.url:
        return format_html('<a class="button" href="{}">Open</a>', line.url)
    return mark_safe("")


def line_html(line, *, csrf_input: SafeString, here: str, snooze_options: SafeString) -> SafeString:
    record = (format_html('<a href="{}" data-open>{}</a> · ', line.record_url, line.record_label)
              if line.record_url else "")
    return format_html(
        '<li class="agenda-line kind-{kind}{overdue_class}" id="line-{key}" tabindex="0" data-line="{key}">'
        '<div class="line-main"><div class="line-title">{overdue_badge}<span class="badge kind">{kind_label}</span>'
        '{high}<strong>{title}</strong></div>'
        '<div class="line-reason small">{reason}</div>'
        '<div class="line-meta small muted">{when}{record}at risk {value}</div></div>'
        '<div class="line-actions">{actions}</div></li>',
        kind=line.kind, key=line.key, overdue_class=" overdue" if line.overdue else "",
        overdue_badge=mark_safe('<span class="badge overdue-badge">Overdue</span>') if line.overdue else "",
        kind_label=KIND_LABELS.get(line.kind, "Customer"),
        high=mark_safe('<span class="badge high">High</span>') if line.priority == "high" else "",
        title=_title(line), reason=line.reason, when=_when(line), record=record,
        value=floatformat(line.value, "0g"),
        actions=_actions(line, csrf_input=csrf_input, here=here, snooze_options=snooze_options))
