"""Background work of lead routing: the escalation sweep, off the web request.

Queue it from cron (`rapport leads escalate --enqueue`) for `rapport db_worker`, or run the sweep
directly with `rapport leads escalate`; both are safe to repeat (each lead escalates once).
"""

from __future__ import annotations

from django_tasks import task


@task()
def escalate_overdue_leads_task() -> dict:
    """Flag the leads past their first-response deadline and tell their managers."""
    from .escalation import escalate_overdue_leads

    return escalate_overdue_leads()
