"""`rapport import leads FILE.csv`: the part of the import command that is about leads."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.core.errors import ValidationFailed

from .engine import import_leads, suggest_mapping


def default_rejects_path() -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(settings.MEDIA_ROOT) / "imports" / "rejects" / f"leads-{stamp}-rejects.csv"


def _mapping(path: Path, overrides: list[str]) -> dict[str, str] | None:
    if not overrides:
        return None
    from rapport.people.imports.reading import ImportFileError, sniff

    try:
        headers = sniff(path).headers
    except ImportFileError as exc:
        raise CommandError(str(exc)) from exc
    mapping = suggest_mapping(headers)
    for item in overrides:
        header, sep, target = item.partition("=")
        if not sep:
            raise CommandError(f"--map wants HEADER=FIELD, not '{item}'")
        header, target = header.strip(), target.strip()
        if header not in headers:
            raise CommandError(f"the file has no column '{header}' (it has: {', '.join(headers)})")
        if target:
            mapping[header] = target
        else:
            mapping.pop(header, None)
    return mapping


def run_leads_import(command, actor, options) -> None:
    """Run from `rapport import leads`: `command` is the import command (its stdout), `options` its options."""
    if options.get("owner"):
        raise CommandError("--owner does not apply to leads: put an Owner column in the file, or let routing decide.")
    path = options["file"]
    console = Console(stderr=False, highlight=False)
    try:
        with Progress(TextColumn("[bold]Importing leads[/bold] {task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                      disable=options["verbosity"] == 0) as bar:
            task_id = bar.add_task(path.name, total=None)

            def progress(summary):
                bar.update(task_id, completed=summary.read, total=summary.rows_total)

            summary = import_leads(actor=actor, path=path, dry_run=options["dry_run"],
                                   mapping=_mapping(path, options.get("map") or []),
                                   rejects_path=options.get("rejects") or default_rejects_path(), progress=progress)
    except ValidationFailed as exc:
        raise CommandError("; ".join(exc.errors.values())) from exc
    out = command.stdout
    verb = "Would import" if options["dry_run"] else "Imported"
    out.write(f"{verb} {path.name} as leads.")
    out.write(f"Read {summary.read} · Created {summary.created} · Rejected {summary.rejected}")
    if summary.ignored_columns:
        out.write(f"Columns ignored: {', '.join(summary.ignored_columns)}")
    if summary.rejects_path:
        out.write(f"Rejected rows (with line, column and reason): {summary.rejects_path}")
