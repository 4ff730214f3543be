"""`rapport insights refresh [--as-of DATE]`: score every customer and company from their orders;
`rapport insights fit --transactions FILE.csv ...`: fit the purchase models on an analyst's own export.

Prints a progress bar per stage, then what was scored, the model chosen and why. Safe to run
again at any time: each run replaces the previous scores in one transaction. Schedule it daily
(docs/deployment.md) or press "Refresh now" on the Scores page.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from rapport.core.errors import ValidationFailed


def parse_as_of(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        raise CommandError(f"--as-of: '{text}' is not a date; write it as YYYY-MM-DD, e.g. 2026-01-31") from None


class Command(BaseCommand):
    help = ("Insights: `refresh` scores every customer and company (value, chance still a customer, health); "
            "`fit` fits the purchase models on a transactions CSV and prints JSON.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{refresh,fit}")
        refresh = actions.add_parser("refresh", help="Score every customer and company from their orders")
        refresh.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                             help="Score as of the end of this day (default: today, UTC); orders after it are ignored")
        refresh.add_argument("--enqueue", action="store_true",
                             help="Hand the refresh to the background worker instead of running it here")
        refresh.add_argument("--quiet", action="store_true", help="No progress bar")
        fit = actions.add_parser("fit", help="Fit both purchase models on your own transactions export (CSV); prints JSON")
        fit.add_argument("--transactions", required=True, metavar="FILE.csv", help="One line per purchase, with a header")
        fit.add_argument("--customer-col", required=True, metavar="C", help="The column naming the customer")
        fit.add_argument("--date-col", required=True, metavar="D", help="The column with the purchase date")
        fit.add_argument("--value-col", metavar="V", help="The column with the purchase value (optional)")
        fit.add_argument("--date-format", metavar="F",
                         help="strptime format of the dates, e.g. %%d/%%m/%%Y (default: ISO 8601, YYYY-MM-DD)")
        fit.add_argument("--period", default="W", choices=["D", "W", "M"],
                         help="The time unit of the models: D days, W weeks (default), M months")
        fit.add_argument("--whole-periods", action="store_true",
                         help="Count time in whole calendar periods (default: days divided by the period's length, "
                              "as in the published CDNOW analyses)")
        fit.add_argument("--calibration-end", required=True, metavar="YYYY-MM-DD",
                         help="The models learn from purchases up to and including this day")
        fit.add_argument("--holdout-end", metavar="YYYY-MM-DD",
                         help="Score both models on the purchases after the calibration end up to this day, "
                              "and choose the one that predicts them better")

    def handle(self, *args, action, **options):
        if action == "refresh":
            return self.refresh(**options)
        if action == "fit":
            return self.fit(**options)
        raise CommandError(f"unknown action {action}")  # argparse refuses it first; kept for call_command

    def refresh(self, *, as_of=None, enqueue=False, quiet=False, verbosity=1, **options):
        from rapport.reports.refresh import check_as_of, refresh_scores

        day = parse_as_of(as_of) if as_of is not None else None
        try:
            if day is not None:
                check_as_of(day)
            if enqueue:
                return self._enqueue(day)
        except ValidationFailed as error:
            raise CommandError("; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in error.errors.items())) from None
        console = Console(file=self.stdout, stderr=False, highlight=False)
        bar = Progress(TextColumn("{task.description:<28}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                       console=console, disable=quiet or verbosity == 0)
        current = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in current:
                for other in current.values():
                    bar.update(other, completed=bar.tasks[other].total or 1, total=bar.tasks[other].total or 1)
                current[stage] = bar.add_task(stage, total=total or None)
            bar.update(current[stage], completed=done, total=total or None)

        try:
            with bar:
                run = refresh_scores(as_of=day, progress=progress)
        except ValidationFailed as error:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in error.errors.items())) from None
        except Exception as error:
            raise CommandError(f"the refresh failed: {error}") from error
        if verbosity:
            self._report(run)

    def fit(self, *, transactions, customer_col, date_col, value_col=None, date_format=None, period="W",
            whole_periods=False, calibration_end, holdout_end=None, **options):
        import json

        from rapport.insights.fit_report import fit_report
        from rapport.insights.fitting import FitFailed
        from rapport.insights.transactions_file import read_transactions

        try:
            table = read_transactions(transactions, customer_col=customer_col, date_col=date_col,
                                      value_col=value_col, date_format=date_format)
            document = fit_report(table, calibration_end=calibration_end, holdout_end=holdout_end, period=period,
                                  fractional=not whole_periods, with_values=value_col is not None)
        except FitFailed as error:
            raise CommandError(f"the models cannot be fitted on this file: {error}") from None
        except ValueError as error:  # includes TransactionsFileError
            message = str(error)
            for name in ("calibration_end", "holdout_end"):
                if message.startswith(name + ":"):
                    message = "--" + name.replace("_", "-") + message[len(name):]
            raise CommandError(message) from None
        self.stdout.write(json.dumps(document, indent=2))

    def _enqueue(self, day):
        from rapport.reports.tasks import refresh_scores_task

        if day is not None:
            raise CommandError("--as-of: the background refresh always scores as of today; run without --enqueue")
        result = refresh_scores_task.enqueue()
        self.stdout.write(f"Refresh queued for the background worker (task {result.id}).")

    def _report(self, run):
        self.stdout.write(
            f"Scored {run.customers:,} customer(s) and {run.companies:,} company(ies) from {run.orders:,} order(s) "
            f"as of {run.as_of.isoformat()} in {run.seconds:.1f} s (run #{run.pk}).")
        if run.contractual:
            self.stdout.write(f"{run.contractual:,} customer(s) with contracts scored by their renewals (sBG).")
        if run.orders_without_rate:
            self.stdout.write(f"{run.orders_without_rate:,} order(s) have no exchange rate on their date: counted "
                              "as purchases, their value left out (add rates under Products → Exchange rates).")
        if run.chosen_model:
            self.stdout.write(f"Model: {run.chosen_model}. Why: {run.why}")
        elif run.why:
            self.stdout.write(f"No purchase model: {run.why}")
