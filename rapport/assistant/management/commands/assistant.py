"""`rapport assistant rules [--enqueue] [--rule KIND ...]`: run the follow-up rules now.

Each subcommand is one entry of ACTIONS (name -> (help, add_arguments, handler)), so other
parts of the assistant add theirs (reminders, digest) beside `rules` without touching it.
Running the rules again is safe: a rule never makes the same task twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rapport.assistant import mail_jobs
from rapport.core.errors import ValidationFailed


def _rules_arguments(parser) -> None:
    parser.add_argument("--rule", dest="rules", action="append", metavar="KIND",
                        help="Run only this rule (repeatable): after_meeting, stalled_deal, new_customer, "
                             "purchase_interval, lead_sla")
    parser.add_argument("--enqueue", action="store_true", help="Hand the run to the background worker")


def _rules(command: BaseCommand, *, rules=None, enqueue=False, verbosity=1, **options) -> None:
    from rapport.assistant.services.rules import run_follow_up_rules

    if enqueue:
        from rapport.assistant.follow_up_jobs import run_follow_up_rules_task

        result = run_follow_up_rules_task.enqueue()
        command.stdout.write(f"Follow-up rules queued for the background worker (task {result.id}).")
        return

    def report(kind: str, result) -> None:
        if verbosity:
            skipped = f", {result.skipped_no_owner:,} skipped (no owner)" if result.skipped_no_owner else ""
            command.stdout.write(f"{kind:<18} {result.candidates:>9,} found {result.created:>9,} new task(s)"
                                 f"{skipped}  {result.seconds:.1f} s")

    try:
        summary = run_follow_up_rules(kinds=rules, progress=report)
    except ValidationFailed as error:
        raise CommandError("; ".join(f"--{k}: {v}" for k, v in error.errors.items())) from None
    if verbosity:
        command.stdout.write(f"Cadences: {summary.cadence_tasks:,} step task(s), {summary.cadences_stopped:,} "
                             "enrolment(s) stopped.")
        command.stdout.write(f"{summary.created:,} task(s) made in {summary.seconds:.1f} s.")


ACTIONS = {
    "rules": ("Run the follow-up rules and advance cadences", _rules_arguments, _rules),
    "reminders": ("E-mail reminders of tasks whose reminder time has come", mail_jobs.reminders_arguments,
                  mail_jobs.run_reminders),
    "digest": ("E-mail each user their daily digest", mail_jobs.digest_arguments, mail_jobs.run_digest),
}


class Command(BaseCommand):
    help = "The assistant's background work, run now: " + ", ".join(ACTIONS)

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{" + ",".join(ACTIONS) + "}")
        for name, (help_text, add, _) in ACTIONS.items():
            add(actions.add_parser(name, help=help_text))

    def handle(self, *args, action, **options):
        if action not in ACTIONS:
            raise CommandError(f"unknown action {action}")
        ACTIONS[action][2](self, **options)
