"""`rapport demo`: load deterministic demo data (teams, users of every role, companies, contacts
and 6 to 24 months of timeline) with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rapport.demo.generator import DEMO_PASSWORD, DemoAlreadyLoaded, has_demo, load_demo, reset_demo


class Command(BaseCommand):
    help = "Load demo data: teams, users of every role, companies, contacts and their timelines."

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=2000, help="How many contacts (default 2,000)")
        parser.add_argument("--seed", type=int, default=42, help="The same seed gives the same data")
        parser.add_argument("--events-per-contact", type=float, default=10.0,
                            help="Average timeline events per contact (default 10; a few have 1,000+)")
        parser.add_argument("--reset", action="store_true", help="Remove previously loaded demo data first")
        parser.add_argument("--quiet", action="store_true", help="No progress bar")

    def handle(self, *args, contacts, seed, events_per_contact, reset, quiet, **options):
        if contacts < 1:
            raise CommandError("--contacts must be at least 1")
        if events_per_contact < 1:
            raise CommandError("--events-per-contact must be at least 1")
        if has_demo():
            if not reset:
                raise CommandError("Demo data is already loaded. Run with --reset to remove it and load it again.")
            removed = reset_demo()
            self.stdout.write(f"Removed {removed} previous demo load(s).")
        console = Console(file=self.stdout, stderr=False)
        progress = Progress(TextColumn("Demo data"), BarColumn(), MofNCompleteColumn(), TextColumn("contacts"),
                            TimeElapsedColumn(), console=console, disable=quiet or options.get("verbosity", 1) == 0)
        with progress:
            task = progress.add_task("contacts", total=contacts)
            try:
                summary = load_demo(contacts=contacts, seed=seed, events_per_contact=events_per_contact,
                                    progress=lambda done, total: progress.update(task, completed=done))
            except DemoAlreadyLoaded as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Loaded {summary.contacts:,} contacts, {summary.companies:,} companies, {summary.activities:,} "
            f"activities and {summary.events:,} events in {summary.seconds:.1f} s.")
        if summary.sales:
            sales = summary.sales
            self.stdout.write(
                f"Sales: {sales.get('deals', 0):,} deals ({sales.get('open_deals', 0):,} open), "
                f"{sales.get('products', 0):,} products, {sales.get('proposals', 0):,} proposals, "
                f"{sales.get('orders', 0):,} orders from {sales.get('customers', 0):,} customers, "
                f"{sales.get('targets', 0):,} targets.")
        if summary.leads:
            leads = summary.leads
            model = (f"lead model {leads['model']} (ROC AUC {leads['roc_auc']} on its holdout)" if leads.get("model")
                     not in (None, "rules") else "rule scores (too few closed leads to train a model)")
            self.stdout.write(
                f"Leads: {leads.get('leads', 0):,} ({leads.get('converted', 0):,} converted, "
                f"{leads.get('disqualified', 0) + leads.get('nurture', 0):,} dropped, {leads.get('open', 0):,} open), "
                f"scored with the {model}.")
        self.stdout.write(f"Demo users (password: {DEMO_PASSWORD}): {', '.join(summary.users)}")
        self.stdout.write(f"Teams: {', '.join(summary.teams)}")
