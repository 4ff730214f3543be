"""Import jobs: accepting an upload, mapping its columns, running it inline or in the background.

The web pages, the `rapport import` command and the background task all go through here, and
all run the same engine.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils import timezone

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.core.visibility import is_admin, may_assign_owner
from rapport.people.custom_fields import definitions
from rapport.people.models import ImportJob, ImportStatus

from .engine import ImportRun, ImportSummary
from .mapping import CONTACT, ENTITIES, check_mapping, suggest_mapping
from .reading import CsvFormat, ImportFileError, count_data_lines, iter_rows, sniff

logger = logging.getLogger(__name__)
ENTITY_WORDS = {"contacts": "contact", "contact": "contact", "companies": "company", "company": "company"}
PREVIEW_ROWS = 5


def jobs_for(user) -> QuerySet[ImportJob]:
    """The user's own imports; admins see everyone's."""
    qs = ImportJob.objects.select_related("created_by")
    return qs if is_admin(user) else qs.filter(created_by=user)


def get_job(user, job_id: int) -> ImportJob:
    job = jobs_for(user).filter(pk=job_id).first()
    if job is None:
        raise NotVisible(f"import {job_id}")
    return job


def job_path(job: ImportJob) -> Path:
    return Path(job.file.path)


def rejects_path_for(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / "rejects" / f"import-{job.pk}-rejects.csv"


def check_file(path: Path) -> CsvFormat:
    """The file's format, or ImportFileError when it has nothing to import."""
    fmt = sniff(path)
    if next(iter_rows(path, fmt), None) is None:
        raise ImportFileError("The file has a header row but no data rows below it.")
    return fmt


def check_required_column(entity: str, fmt: CsvFormat, mapping: dict[str, str]) -> None:
    errors = check_mapping(entity, fmt.headers, mapping, definitions(entity))
    if "mapping" in errors:
        wanted = "an e-mail column (e.g. Email)" if entity == CONTACT else "a company name column (e.g. Name)"
        raise ImportFileError(f"The file has no column we can read as {wanted}. Its columns are: "
                              f"{', '.join(fmt.headers)}.")


def upload_file(*, actor, entity: str, upload: UploadedFile | None) -> ImportJob:
    """Store an uploaded CSV under MEDIA_ROOT/imports/ and work out its format and a mapping.

    Raises ValidationFailed (field "file" or "entity") when there is nothing importable.
    """
    entity = ENTITY_WORDS.get(entity or "", "")
    if entity not in ENTITIES:
        raise ValidationFailed({"entity": "choose contacts or companies"})
    if upload is None:
        raise ValidationFailed({"file": "choose a CSV file to upload"})
    job = ImportJob(created_by=actor, owner=actor, entity=entity, file_name=Path(upload.name).name[:255])
    job.file.save(Path(upload.name).name[-100:] or "upload.csv", upload, save=False)
    try:
        fmt = check_file(job_path(job))
        mapping = suggest_mapping(entity, fmt.headers, definitions(entity))
        check_required_column(entity, fmt, mapping)
    except ImportFileError as exc:
        job.file.delete(save=False)
        raise ValidationFailed({"file": str(exc)}) from exc
    job.encoding, job.delimiter, job.headers, job.mapping = fmt.encoding, fmt.delimiter, fmt.headers, mapping
    job.rows_total = count_data_lines(job_path(job))
    job.save()
    return job


def preview(job: ImportJob) -> list[list[str]]:
    fmt = CsvFormat(encoding=job.encoding, delimiter=job.delimiter, headers=job.headers)
    rows = []
    for _line, cells in iter_rows(job_path(job), fmt):
        rows.append((cells + [""] * len(job.headers))[: len(job.headers)])
        if len(rows) >= PREVIEW_ROWS:
            break
    return rows


def set_mapping(*, actor, job: ImportJob, mapping: dict[str, str]) -> ImportJob:
    """Keep the user's mapping, or ValidationFailed keyed by column header."""
    if job.status != ImportStatus.PENDING:
        raise ValidationFailed({"mapping": "this import has already started"})
    errors = check_mapping(job.entity, job.headers, mapping, definitions(job.entity))
    if errors:
        raise ValidationFailed(errors)
    job.mapping = {h: mapping.get(h, "") for h in job.headers}
    job.save(update_fields=["mapping"])
    return job


def start(*, actor, job: ImportJob) -> ImportJob:
    """Small files import now; big ones go to the background worker and show progress."""
    if job.rows_total <= settings.RAPPORT_IMPORT_INLINE_ROWS:
        try:
            run_job(job.pk)
        except Exception:  # noqa: BLE001 - run_job stored the error on the job; its page shows it
            pass
    else:
        from .tasks import run_import_job

        run_import_job.enqueue(job.pk)
    job.refresh_from_db()
    return job


def run_job(job_id: int, *, path: Path | None = None, progress=None, workers: int | None = None) -> ImportSummary:
    """Run one job to the end, keeping its counts and progress up to date for the progress page."""
    job = ImportJob.objects.select_related("created_by", "owner").get(pk=job_id)
    if job.finished:
        return ImportSummary(read=job.read_count, created=job.created_count, updated=job.updated_count,
                             rejected=job.rejected_count, rejects_path=job.rejects_file)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now(),
                                               error="")
    source = Path(path) if path else job_path(job)
    rejects = rejects_path_for(job)

    def report(summary: ImportSummary) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=summary.rows_done, rows_total=summary.rows_total, read_count=summary.read,
            created_count=summary.created, updated_count=summary.updated, rejected_count=summary.rejected)
        if progress:
            progress(summary)

    fmt = CsvFormat(encoding=job.encoding, delimiter=job.delimiter, headers=job.headers) if job.headers else None
    run = ImportRun(path=source, entity=job.entity, mapping=job.mapping, actor=job.created_by,
                    owner=job.owner or job.created_by, fmt=fmt, dry_run=job.dry_run, rejects_path=rejects,
                    progress=report, label=job.file_name, job_id=job.pk, workers=workers)
    try:
        summary = run.run()
    except Exception as exc:  # the job page must say what happened, whatever it was
        logger.exception("import %s failed", job.pk)
        summary = run.summary
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000] or exc.__class__.__name__,
            read_count=summary.read, created_count=summary.created, updated_count=summary.updated,
            rejected_count=summary.rejected)
        raise
    rejects_name = str(rejects.relative_to(settings.MEDIA_ROOT)) if summary.rejects_path else ""
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, finished_at=timezone.now(), rows_done=summary.rows_done,
        rows_total=summary.rows_done, read_count=summary.read, created_count=summary.created,
        updated_count=summary.updated, rejected_count=summary.rejected, rejects_file=rejects_name)
    return summary


def import_path(*, actor, entity: str, path: Path, owner=None, dry_run: bool = False,
                mapping_overrides: dict[str, str] | None = None, progress=None,
                workers: int | None = None) -> tuple[ImportJob, ImportSummary]:
    """Import a file from disk (the `rapport import` command and the benchmark)."""
    entity = ENTITY_WORDS.get(entity, "")
    if entity not in ENTITIES:
        raise ValidationFailed({"entity": "choose contacts or companies"})
    owner = owner or actor
    if not may_assign_owner(actor, owner):
        raise ValidationFailed({"owner": "you may not give records to this user"})
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed({"file": f"{path} is not a file"})
    try:
        fmt = check_file(path)
    except ImportFileError as exc:
        raise ValidationFailed({"file": str(exc)}) from exc
    mapping = suggest_mapping(entity, fmt.headers, definitions(entity))
    for header, target in (mapping_overrides or {}).items():
        if header not in fmt.headers:
            raise ValidationFailed({header: f"the file has no column '{header}' (it has: {', '.join(fmt.headers)})"})
        mapping[header] = target
    errors = check_mapping(entity, fmt.headers, mapping, definitions(entity))
    if errors:
        if "mapping" in errors:
            try:
                check_required_column(entity, fmt, mapping)
            except ImportFileError as exc:
                raise ValidationFailed({"file": str(exc)}) from exc
        raise ValidationFailed(errors)
    job = ImportJob.objects.create(
        created_by=actor, owner=owner, entity=entity, file_name=path.name[:255], encoding=fmt.encoding,
        delimiter=fmt.delimiter, headers=fmt.headers, mapping=mapping, dry_run=dry_run,
        rows_total=count_data_lines(path))
    summary = run_job(job.pk, path=path, progress=progress, workers=workers)
    job.refresh_from_db()
    return job, summary


def user_named(username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed({"user": f"no active user called '{username}'"})
    return user
