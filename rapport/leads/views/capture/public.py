"""What visitors of our customers' web sites reach: the page-view collector and the public forms.

These are the only views that accept a POST from another site, so they are CSRF-exempt one by
one (never by turning CSRF off anywhere else). The collector trusts nothing: it takes no
cookies, and every batch is judged before anything is stored. The form endpoint replaces
CSRF's protection with its own (signed start time, honeypot, rate limit, size limits): a
forged cross-site submission could only do what any visitor may do anyway, send the form.
"""

from __future__ import annotations

import logging

from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from rapport.core.errors import ValidationFailed

from ...capture import protection, tracking
from ...capture.forms import HONEYPOT, STARTED, SubmissionMeta, all_targets, submit_form, utm_from
from ...models import TrackedSite, WebForm

log = logging.getLogger(__name__)


def _allowed_origin(origin: str) -> bool:
    if not origin:
        return False
    origin = origin.lower()
    return any(origin in origins for origins in
               TrackedSite.objects.filter(active=True, deleted_at__isnull=True).values_list("origins", flat=True))


def _cors(response: HttpResponse, origin: str, *, methods: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    response["Vary"] = "Origin"
    return response


def _refuse(reason: str, status: int, origin: str) -> HttpResponse:
    response = JsonResponse({"error": reason}, status=status)
    if origin and status != 403 and _allowed_origin(origin):
        # Let a tracked site's script read why its batch was refused.
        response = _cors(response, origin, methods="POST, OPTIONS")
    return response


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def collect(request: HttpRequest) -> HttpResponse:
    """Page views from the tracking script: 202 with the count stored, or 4xx with the reason."""
    origin = request.headers.get("Origin", "")
    if request.method == "OPTIONS":
        if not _allowed_origin(origin):
            return JsonResponse({"error": "this origin is not a tracked site"}, status=403)
        return _cors(HttpResponse(status=204), origin, methods="POST, OPTIONS")
    # Browsers saying "do not track me" are not tracked, whatever the page's script does.
    if request.headers.get("Sec-GPC") == "1" or request.headers.get("DNT") == "1":
        response = JsonResponse({"accepted": 0, "reason": "the browser asks not to be tracked"}, status=202)
        return _cors(response, origin, methods="POST, OPTIONS") if _allowed_origin(origin) else response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse("Content-Length is not a number", 400, "")
    if length > tracking.MAX_BODY_BYTES:
        return _refuse(f"the batch is larger than {tracking.MAX_BODY_BYTES // 1024} KB", 413, origin)
    try:
        batch = tracking.parse_batch(request.body, origin=origin or None)
    except tracking.BadBatch as exc:
        status = 403 if "does not accept page views from" in str(exc) else 400
        return _refuse(str(exc), status, origin)
    try:
        stored = tracking.record_page_views(batch)
    except OperationalError:
        # SQLite's writer lock held past the timeout: the script keeps the batch and tries later.
        log.warning("page views not stored: database busy", exc_info=True)
        response = JsonResponse({"error": "busy, try again shortly"}, status=503)
        response["Retry-After"] = "5"
        return _cors(response, origin, methods="POST, OPTIONS") if origin else response
    response = JsonResponse({"accepted": stored}, status=202)
    return _cors(response, origin, methods="POST, OPTIONS") if origin else response


def _live_form(slug: str) -> WebForm:
    form = WebForm.objects.filter(slug=slug, active=True, deleted_at__isnull=True).select_related("owner").first()
    if form is None:
        raise Http404("no such form")
    return form


@require_GET
def form_start(request: HttpRequest, slug: str) -> HttpResponse:
    """A fresh signed start time for a form embedded on another site (fetched by form.js)."""
    form = _live_form(slug)
    response = JsonResponse({"token": protection.start_token(form.slug)})
    response["Access-Control-Allow-Origin"] = "*"  # the token is no secret: it only dates the form
    response["Cache-Control"] = "no-store"
    return response


def form_fields(form: WebForm, values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> list:
    """(field, target, value, error) for the template, in the form's order."""
    targets = all_targets()
    rows = []
    for form_field in form.fields.all():
        target = targets.get(form_field.target)
        if target is None:
            continue
        rows.append({"field": form_field, "target": target, "name": form_field.target,
                     "id": "f-" + form_field.target.replace(".", "-"),
                     "value": (values or {}).get(form_field.target, ""),
                     "error": (errors or {}).get(form_field.target, "")})
    return rows


def _render_form(request, form: WebForm, *, values=None, errors=None, notice: str = "", status: int = 200,
                 meta: dict | None = None) -> HttpResponse:
    unknown = {k: v for k, v in (errors or {}).items() if k not in {f.target for f in form.fields.all()}}
    context = {
        "form": form, "rows": form_fields(form, values, errors), "notice": notice, "other_errors": unknown,
        "started": protection.start_token(form.slug), "honeypot": HONEYPOT,
        "meta": meta or {"page": request.build_absolute_uri(), "referrer": request.headers.get("Referer", "")[:2000]},
        "consent_checked": bool((values or {}).get("rapport_consent")),
    }
    return render(request, "leads/capture/public_form.html", context, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, slug: str) -> HttpResponse:
    form = _live_form(slug)
    if request.method == "GET":
        return _render_form(request, form)
    if protection.too_large(request):
        return render(request, "leads/capture/public_refused.html",
                      {"form": form, "reason": f"This form sent more than {protection.max_bytes() // 1024} KB. "
                                               "Please shorten your message and send it again."}, status=413)
    if protection.over_rate_limit(protection.client_address(request)):
        response = render(request, "leads/capture/public_refused.html",
                          {"form": form, "reason": "Too many forms were sent from your address just now. "
                                                   "Please wait a few minutes and try again."}, status=429)
        response["Retry-After"] = "600"
        return response
    posted = {name: request.POST.getlist(name) for name in request.POST}
    if len(posted) > protection.MAX_FIELDS:
        return render(request, "leads/capture/public_refused.html",
                      {"form": form, "reason": "This form sent too many fields."}, status=400)
    values = {name: (vals[-1] if vals else "")[:10_000] for name, vals in posted.items()}
    meta = {"page": values.get("rapport_page", "")[:2000], "referrer": values.get("rapport_referrer", "")[:2000],
            "visitor": values.get("rapport_visitor", "")[:64]}
    if values.get(HONEYPOT):
        # A robot: it is told all went well, and nothing is stored.
        log.info("web form %s: honeypot filled, submission dropped", form.slug)
        return _see_thanks(form)
    reason = protection.check_start(values.get(STARTED, ""), form.slug)
    if reason:
        return _render_form(request, form, values=values, notice=reason, status=400, meta=meta)
    submission_meta = SubmissionMeta(page_url=meta["page"], referrer=meta["referrer"],
                                     visitor_id=values.get("rapport_visitor", "")[:64],
                                     consent_given=bool(values.get("rapport_consent")))
    if not submission_meta.page_url:
        submission_meta.extra_utm = utm_from(request.get_full_path())
    try:
        submit_form(form=form, posted=posted, meta=submission_meta)
    except ValidationFailed as exc:
        return _render_form(request, form, values=values, errors=exc.errors, status=400, meta=meta,
                            notice="Please correct the fields marked below.")
    return _see_thanks(form)


def _see_thanks(form: WebForm) -> HttpResponse:
    # 303: the browser fetches the thank-you page with GET, so a reload never sends the form again.
    return HttpResponseRedirect(reverse("capture_form_thanks", args=[form.slug]), status=303)


@require_GET
def form_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    return render(request, "leads/capture/public_thanks.html", {"form": _live_form(slug)})
