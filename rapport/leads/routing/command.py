"""`rapport leads escalate`: the routing part's action of the `rapport leads` command."""

from __future__ import annotations


def escalate_arguments(parser) -> None:
    parser.add_argument("--enqueue", action="store_true",
                        help="Hand the sweep to the background worker instead of running it here")


def escalate(command, *, enqueue: bool = False, verbosity: int = 1, **options) -> None:
    """Flag leads past their first-response deadline and tell their managers (each lead once)."""
    if enqueue:
        from .tasks import escalate_overdue_leads_task

        result = escalate_overdue_leads_task.enqueue()
        command.stdout.write(f"Escalation queued for the background worker (task {result.id}).")
        return
    from .escalation import escalate_overdue_leads

    counts = escalate_overdue_leads()
    if verbosity:
        command.stdout.write(f"Escalated {counts['escalated']:,} overdue lead(s); {counts['notified']:,} notice(s) sent.")
