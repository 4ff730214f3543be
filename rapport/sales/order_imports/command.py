"""`rapport import orders FILE.csv`: the part of the import command that is about orders."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.core.errors import ValidationFailed

from .engine import import_orders


def default_rejects_path() -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(settings.MEDIA_ROOT) / "imports" / "rejects" / f"orders-{stamp}-rejects.csv"


def run_orders_import(command, actor, options) -> None:
    """Run from `rapport import orders`: `command` is the import command (its stdout), `options` its options."""
    for option, reason in (("owner", "an order belongs to its customer's owner"),
                           ("map", "name the columns as the orders format does")):
        if options.get(option):
            raise CommandError(f"--{option} does not apply to orders: {reason}.")
    path = options["file"]
    console = Console(stderr=False, highlight=False)
    try:
        with Progress(TextColumn("[bold]Importing orders[/bold] {task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                      disable=options["verbosity"] == 0) as bar:
            task_id = bar.add_task(path.name, total=None)

            def progress(summary):
                bar.update(task_id, completed=summary.lines_done, total=summary.lines_total)

            summary = import_orders(actor=actor, path=path, dry_run=options["dry_run"], workers=options.get("workers"),
                                    rejects_path=options.get("rejects") or default_rejects_path(), progress=progress)
    except ValidationFailed as exc:
        raise CommandError("; ".join(exc.errors.values())) from exc
    out = command.stdout
    verb = "Would import" if options["dry_run"] else "Imported"
    out.write(f"{verb} {path.name} as orders.")
    out.write(f"Lines read {summary.lines_read} · Rejected {summary.lines_rejected} · Orders created "
              f"{summary.orders_created} · Updated {summary.orders_updated} · Unchanged {summary.orders_unchanged} "
              f"· Rejected {summary.orders_rejected}")
    if summary.ignored_columns:
        out.write(f"Columns ignored: {', '.join(summary.ignored_columns)}")
    if summary.rejects_path:
        out.write(f"Rejected lines (with line, column and reason): {summary.rejects_path}")
