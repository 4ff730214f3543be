"""Background work of the assistant's e-mail: task reminders and the daily digest.

Run from cron/systemd timers (`rapport assistant reminders` every few minutes, `rapport
assistant digest` each morning) or queued for the worker with `--enqueue`. Both are safe to run
again: nothing already sent is sent twice.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django_tasks import task


@task()
def send_task_reminders_task() -> dict:
    from .services.reminders import send_task_reminders

    report = send_task_reminders()
    return {"sent": report.sent, "failed": report.failed, "skipped": report.skipped}


@task()
def send_daily_digests_task(day: str | None = None) -> dict:
    from .services.reminders import send_daily_digests

    report = send_daily_digests(day=dt.date.fromisoformat(day) if day else None)
    return {"sent": report.sent, "failed": report.failed, "skipped": report.skipped}


def _print(command: BaseCommand, what: str, report, verbosity: int) -> None:
    if verbosity:
        command.stdout.write(f"{what}: {report.sent} sent, {report.failed} failed, {report.skipped} skipped.")
    for failure in report.failures:
        command.stderr.write(f"not sent: {failure}")
    if report.failed:
        # A non-zero exit lets cron or the timer report the failure; the next run tries again.
        raise CommandError(f"{report.failed} message(s) were not accepted by the mail server")


def reminders_arguments(parser) -> None:
    parser.add_argument("--enqueue", action="store_true", help="Hand the run to the background worker")


def run_reminders(command: BaseCommand, *, enqueue: bool = False, verbosity: int = 1, **options) -> None:
    if enqueue:
        result = send_task_reminders_task.enqueue()
        command.stdout.write(f"Task reminders queued for the background worker (task {result.id}).")
        return
    from .services.reminders import send_task_reminders

    _print(command, "Task reminders", send_task_reminders(), verbosity)


def digest_arguments(parser) -> None:
    parser.add_argument("--day", metavar="YYYY-MM-DD", help="The day to summarise (default: today in each user's zone)")
    parser.add_argument("--enqueue", action="store_true", help="Hand the run to the background worker")


def run_digest(command: BaseCommand, *, day: str | None = None, enqueue: bool = False, verbosity: int = 1,
               **options) -> None:
    if day:
        try:
            dt.date.fromisoformat(day.strip())
        except ValueError:
            raise CommandError(f"--day: '{day}' is not a date; write it as YYYY-MM-DD, e.g. 2026-11-24") from None
    if enqueue:
        result = send_daily_digests_task.enqueue(day=day)
        command.stdout.write(f"Daily digests queued for the background worker (task {result.id}).")
        return
    from .services.reminders import send_daily_digests

    _print(command, "Daily digests", send_daily_digests(day=dt.date.fromisoformat(day.strip()) if day else None),
           verbosity)
