"""Lead capture set-up pages for admins and marketers: forms, their snippets and submissions, sites."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse

from rapport.core.errors import ValidationFailed
from rapport.core.pagination import keyset_page

from ...capture import building
from ...capture.forms import all_targets
from ...models import ConsentMode, FormSubmission, TrackedSite, WebForm
from .public import form_fields


def _builder(request: HttpRequest) -> None:
    if not building.may_build(request.user):
        raise PermissionDenied("only admins and marketers set up lead capture")
    request.nav_section = "capture"


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@login_required
def capture_home(request: HttpRequest) -> HttpResponse:
    _builder(request)
    forms = (WebForm.objects.filter(deleted_at__isnull=True).select_related("owner")
             .annotate(submission_count=Count("submissions")).order_by("name", "id"))
    sites = TrackedSite.objects.filter(deleted_at__isnull=True).order_by("name", "id")
    return render(request, "leads/capture/home.html", {"forms": forms, "sites": sites})


def _field_rows(request: HttpRequest, form: WebForm | None) -> list[dict]:
    """Every target a field may fill, with the form's current choice (or what was just posted)."""
    current = {f.target: f for f in form.fields.all()} if form else {}
    rows = []
    for key, target in all_targets().items():
        if request.method == "POST":
            included = key == "contact.email" or bool(request.POST.get(f"use:{key}"))
            label = request.POST.get(f"label:{key}", "")
            required = key == "contact.email" or bool(request.POST.get(f"required:{key}"))
            position = request.POST.get(f"position:{key}", "")
        else:
            existing = current.get(key)
            included = existing is not None or (form is None and key in ("contact.email", "contact.first_name",
                                                                        "contact.last_name", "company.name"))
            label = existing.label if existing else target.label
            required = key == "contact.email" or bool(existing and existing.required)
            position = str(existing.position + 1) if existing else ""
        rows.append({"key": key, "target": target, "included": included, "label": label, "required": required,
                     "position": position, "id": key.replace(".", "-")})
    return rows


def _posted_fields(rows: list[dict]) -> list[dict]:
    def order(row):
        try:
            return (int(row["position"]), 0)
        except ValueError:
            return (10_000, 0)
    chosen = [r for r in rows if r["included"]]
    chosen.sort(key=order)  # stable: unnumbered fields keep the catalogue's order, after numbered ones
    return [{"target": r["key"], "label": r["label"], "required": r["required"]} for r in chosen]


FORM_POST_FIELDS = ("name", "title", "intro", "submit_label", "thank_you", "consent_wording", "lead_title",
                    "campaign", "owner")
FORM_FLAGS = ("consent_required", "route_leads", "active")


@login_required
def form_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _builder(request)
    form = None
    if pk is not None:
        form = WebForm.objects.filter(pk=pk, deleted_at__isnull=True).first()
        if form is None:
            raise Http404("no such form")
    rows = _field_rows(request, form)
    errors: dict[str, str] = {}
    values = {name: getattr(form, name) for name in (*FORM_POST_FIELDS[:-1], *FORM_FLAGS)} if form else \
        {"submit_label": "Send", "thank_you": "Thank you! We will be in touch soon.", "route_leads": True,
         "active": True}
    values["owner"] = form.owner_id if form else request.user.pk
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in FORM_POST_FIELDS}
        data.update({name: bool(request.POST.get(name)) for name in FORM_FLAGS})
        values = dict(data)
        try:
            saved = building.save_form(actor=request.user, data=data, fields=_posted_fields(rows), form=form)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Form “{saved.name}” saved.")
            return redirect("capture_form_detail", saved.pk)
    return render(request, "leads/capture/form_edit.html", {
        "form_obj": form, "rows": rows, "errors": errors, "values": values,
        "owners": _active_users(),
    }, status=400 if errors else 200)


def _active_users():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")


@login_required
def form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _builder(request)
    form = WebForm.objects.filter(pk=pk, deleted_at__isnull=True).select_related("owner").first()
    if form is None:
        raise Http404("no such form")
    base = _base(request)
    snippet = render_to_string("leads/capture/embed_snippet.html",
                               {"form": form, "rows": form_fields(form), "base": base}).strip()
    submissions = keyset_page(
        FormSubmission.objects.filter(form=form).select_related("contact", "lead"),
        order="-submitted_at", cursor=request.GET.get("cursor"), size=50)
    return render(request, "leads/capture/form_detail.html", {
        "form_obj": form, "public_url": base + reverse("capture_public_form", args=[form.slug]),
        "snippet": snippet, "page": submissions, "fields": form_fields(form),
    })


@login_required
def site_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _builder(request)
    site = None
    if pk is not None:
        site = TrackedSite.objects.filter(pk=pk, deleted_at__isnull=True).first()
        if site is None:
            raise Http404("no such site")
    errors: dict[str, str] = {}
    values = {"name": site.name, "origins": "\n".join(site.origins), "consent_mode": site.consent_mode,
              "active": site.active} if site else {"consent_mode": ConsentMode.AFTER_CONSENT, "active": True}
    if request.method == "POST":
        data = {"name": request.POST.get("name", ""), "origins": request.POST.get("origins", ""),
                "consent_mode": request.POST.get("consent_mode", ""), "active": bool(request.POST.get("active"))}
        values = dict(data)
        try:
            saved = building.save_site(actor=request.user, data=data, site=site)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Site “{saved.name}” saved. Put the line below on every page.")
            return redirect("capture_site_edit", saved.pk)
    snippet = ""
    if site is not None:
        snippet = (f'<script src="{_base(request)}{static("leads/track.js")}" data-site="{site.key}" '
                   f'data-consent="{site.consent_mode}" async></script>')
    return render(request, "leads/capture/site_edit.html", {
        "site": site, "values": values, "errors": errors, "modes": ConsentMode.choices, "snippet": snippet,
    }, status=400 if errors else 200)
