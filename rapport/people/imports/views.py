"""Import pages: upload, map columns with a preview, then the result (with progress for big files)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from rapport.core.errors import NotVisible, ValidationFailed
from rapport.people.custom_fields import definitions
from rapport.people.models import ImportStatus

from . import jobs
from .mapping import ENTITIES, targets

RECENT_JOBS = 20


def _job_or_404(request: HttpRequest, job_id: int):
    try:
        return jobs.get_job(request.user, job_id)
    except NotVisible as exc:
        raise Http404("No such import") from exc


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    request.nav_section = "import"
    errors: dict[str, str] = {}
    entity = request.POST.get("entity") or request.GET.get("entity") or "contact"
    if request.method == "POST":
        try:
            job = jobs.upload_file(actor=request.user, entity=entity, upload=request.FILES.get("file"))
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return redirect("import_map", job_id=job.pk)
    recent = list(jobs.jobs_for(request.user)[:RECENT_JOBS])
    return render(request, "people/import_start.html", {
        "entities": ENTITIES.items(), "entity": entity, "errors": errors, "recent": recent,
        "inline_rows": settings.RAPPORT_IMPORT_INLINE_ROWS,
    }, status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, job_id: int) -> HttpResponse:
    request.nav_section = "import"
    job = _job_or_404(request, job_id)
    if job.status != ImportStatus.PENDING:
        return redirect("import_job", job_id=job.pk)
    errors: dict[str, str] = {}
    mapping = dict(job.mapping)
    if request.method == "POST":
        mapping = {header: request.POST.get(f"col-{index}", "") for index, header in enumerate(job.headers)}
        try:
            jobs.set_mapping(actor=request.user, job=job, mapping=mapping)
            job = jobs.start(actor=request.user, job=job)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return redirect("import_job", job_id=job.pk)
    columns = [{"index": i, "header": h, "target": mapping.get(h, ""), "error": errors.get(h, "")}
               for i, h in enumerate(job.headers)]
    return render(request, "people/import_map.html", {
        "job": job, "columns": columns, "choices": targets(job.entity, definitions(job.entity)),
        "preview": jobs.preview(job), "errors": errors, "mapping_error": errors.get("mapping", ""),
    }, status=422 if errors else 200)


@login_required
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    request.nav_section = "import"
    job = _job_or_404(request, job_id)
    return render(request, "people/import_job.html", {"job": job})


@login_required
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    return render(request, "people/import_progress.html", {"job": job})


@login_required
def import_rejects(request: HttpRequest, job_id: int) -> FileResponse:
    job = _job_or_404(request, job_id)
    if not job.rejects_file:
        raise Http404("This import rejected no rows")
    path = (Path(settings.MEDIA_ROOT) / job.rejects_file).resolve()
    if not path.is_relative_to(Path(settings.MEDIA_ROOT).resolve()) or not path.is_file():
        raise Http404("The rejected rows are no longer stored")
    name = f"{Path(job.file_name).stem}-rejected-rows.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8")
