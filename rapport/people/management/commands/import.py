"""`rapport import contacts|companies|orders|leads FILE`: the importer from a terminal."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.core.errors import ValidationFailed
from rapport.people.imports import jobs


class Command(BaseCommand):
    help = ("Import contacts, companies, orders or leads from a CSV file. Contacts are upserted by e-mail, companies by "
            "web domain, orders (one row per order line) by their external id, leads (one per row) on the "
            "contact with the row's e-mail; rejected rows are written to a CSV with their line, column and reason.")

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=["contacts", "companies", "orders", "leads"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="Import as this user (default: the first admin)")
        parser.add_argument("--owner", help="Give the imported records to this user (admins and managers)")
        parser.add_argument("--dry-run", action="store_true", help="Check every row, change nothing")
        parser.add_argument("--rejects", type=Path, help="Also copy the rejected rows to this CSV file")
        parser.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD",
                            help="Map a column by hand, e.g. --map 'E-mail 2=' to skip it or "
                                 "--map 'Work Email=email'")
        parser.add_argument("--workers", type=int, default=None,
                            help="Processes that check rows in parallel (default: automatic)")

    def handle(self, *args, **options):
        if options["entity"] == "orders":
            from rapport.sales.order_imports.command import run_orders_import

            try:
                actor = self._actor(options["user"])
            except ValidationFailed as exc:
                raise CommandError("; ".join(exc.errors.values())) from exc
            return run_orders_import(self, actor, options)
        if options["entity"] == "leads":
            from rapport.leads.imports.command import run_leads_import

            try:
                actor = self._actor(options["user"])
            except ValidationFailed as exc:
                raise CommandError("; ".join(exc.errors.values())) from exc
            return run_leads_import(self, actor, options)
        console = Console(stderr=False, highlight=False)
        try:
            actor = self._actor(options["user"])
            owner = jobs.user_named(options["owner"]) if options["owner"] else None
            overrides = {}
            for item in options["map"]:
                header, sep, target = item.partition("=")
                if not sep:
                    raise CommandError(f"--map wants HEADER=FIELD, not '{item}'")
                overrides[header.strip()] = target.strip()
            with Progress(TextColumn("[bold]Importing[/bold] {task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                          disable=options["verbosity"] == 0) as bar:
                task_id = bar.add_task(options["file"].name, total=None)

                def progress(summary):
                    bar.update(task_id, completed=summary.rows_done, total=summary.rows_total)

                job, summary = jobs.import_path(
                    actor=actor, entity=options["entity"], path=options["file"], owner=owner,
                    dry_run=options["dry_run"], mapping_overrides=overrides, progress=progress,
                    workers=options["workers"])
        except ValidationFailed as exc:
            raise CommandError("; ".join(f"{k}: {v}" if k not in ("file",) else v
                                         for k, v in exc.errors.items())) from exc
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(f"{verb} {options['file'].name} as {options['entity']} (import #{job.pk}).")
        self.stdout.write(f"Read {summary.read} · Created {summary.created} · Updated {summary.updated} · "
                          f"Rejected {summary.rejected}")
        if summary.rejects_path:
            target = summary.rejects_path
            if options["rejects"]:
                options["rejects"].write_bytes(Path(summary.rejects_path).read_bytes())
                target = str(options["rejects"])
            self.stdout.write(f"Rejected rows (with line, column and reason): {target}")

    def _actor(self, username):
        if username:
            return jobs.user_named(username)
        actor = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if actor is None:
            raise CommandError("No admin account exists; create one (rapport createsuperuser) or pass --user.")
        return actor
