"""The lead import page: upload a CSV, see what was created and download the refused rows.

Files are imported while the page waits (lead files are small; the command line takes larger
ones). The rejects file is offered only to the person who ran the import, in their session.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from rapport.core.errors import ValidationFailed
from rapport.people.imports.reading import count_data_lines

from .command import default_rejects_path
from .engine import COLUMNS, import_leads

# The web page imports while the request waits; past this, `rapport import leads` is the way.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_WEB_ROWS = 5000
SESSION_KEY = "lead_import_rejects"


@login_required
@require_http_methods(["GET", "POST"])
def lead_import(request: HttpRequest) -> HttpResponse:
    request.nav_section = "leads"
    errors: dict[str, str] = {}
    summary = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors["file"] = "Choose a CSV file to import."
        elif upload.size > MAX_UPLOAD_BYTES:
            errors["file"] = (f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; import it with "
                              "`rapport import leads FILE.csv` or split it.")
        else:
            with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
                handle.flush()
                rejects = default_rejects_path()
                try:
                    if count_data_lines(handle.name) > MAX_WEB_ROWS:
                        raise ValidationFailed({"file": f"The page imports up to {MAX_WEB_ROWS:,} rows; import "
                                                        "bigger files with `rapport import leads FILE.csv`."})
                    summary = import_leads(actor=request.user, path=Path(handle.name),
                                           dry_run=request.POST.get("dry_run") == "1", rejects_path=rejects)
                except ValidationFailed as exc:
                    errors = exc.errors
            if summary is not None and summary.rejects_path:
                mine = request.session.get(SESSION_KEY, [])[-9:]
                request.session[SESSION_KEY] = [*mine, Path(summary.rejects_path).name]
    return render(request, "leads/import.html", {
        "errors": errors, "summary": summary, "columns": sorted(COLUMNS), "max_rows": MAX_WEB_ROWS,
        "rejects_name": Path(summary.rejects_path).name if summary and summary.rejects_path else "",
    }, status=422 if errors else 200)


@login_required
def lead_import_rejects(request: HttpRequest, name: str) -> HttpResponse:
    if name not in request.session.get(SESSION_KEY, []):
        raise Http404("No such file")
    path = Path(settings.MEDIA_ROOT) / "imports" / "rejects" / Path(name).name
    if not path.is_file():
        raise Http404("No such file")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"lead-import-{name}",
                        content_type="text/csv; charset=utf-8")
