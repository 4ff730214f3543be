"""Contact and company pages. Thin: parse the request, call a selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.pagination import capped_count
from rapport.core.selectors import assignable_users, audit_history, visible_users
from rapport.reports.selectors import scores as score_selectors
from rapport.sales.selectors import orders as order_selectors
from rapport.timeline import selectors as timeline_selectors
from rapport.timeline.forms import ActivityForm
from rapport.timeline.models import EventKind

from . import selectors, services
from .forms import BulkActionForm, CompanyForm, ContactForm
from .models import LifecycleStage

LIST_PARAMS = ("q", "stage", "owner", "tag", "company", "health", "alive", "sort")


def _params(request: HttpRequest) -> dict:
    params = {k: request.GET.get(k, "") for k in LIST_PARAMS}
    params.update({k: v for k, v in request.GET.items() if k.startswith("cf_")})
    return params


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "contacts"
    params = _params(request)
    error = None
    try:
        page = selectors.list_contacts(request.user, params, cursor=request.GET.get("cursor"),
                                       size=request_page_size(request))
        # A searched list counts no further than 200 matches: a common prefix ("mar") matches
        # tens of thousands of a million contacts, and counting them all would cost more than
        # the page itself. A list narrowed by score bands counts to 1,000 (each match is checked
        # against its score: 300 ms to reach 10,000 for a seller on a million customers).
        # Other lists count to 10,000.
        cap = 200 if params.get("q") else 1_000 if params.get("health") or params.get("alive") else 10_000
        total, more = capped_count(selectors.filter_contacts(request.user, params), cap=cap)
    except ValidationFailed as exc:
        page, total, more, error = None, 0, False, exc.errors
    tag_ids = {}
    if page:
        tag_ids = selectors.tags_for_contacts([c.pk for c in page.items])
    context = {
        "page": page, "rows": [(c, tag_ids.get(c.pk, [])) for c in page.items] if page else [],
        "params": params, "error": error, "total": total, "more": more,
        "stages": LifecycleStage.choices, "owners": visible_users(request.user),
        "assignable": assignable_users(request.user), "custom_fields": [(cf, params.get(f"cf_{cf.key}", ""))
                          for cf in selectors.custom_field_definitions("contact")],
        "filtered": any(v for k, v in params.items() if k != "sort" and v),
        "base_query": _query_without(request, "cursor"), "bulk_actions": BulkActionForm.ACTIONS,
        "health_bands": score_selectors.HEALTH_LABELS.items(), "alive_bands": score_selectors.ALIVE_LABELS.items(),
        "base_currency": score_selectors.base_currency(),
    }
    template = "people/_contact_rows.html" if request.htmx and request.htmx.target == "contact-rows" else \
        "people/contact_list.html"
    return render(request, template, context)


def request_page_size(request: HttpRequest) -> int:
    try:
        return max(10, min(200, int(request.GET.get("size", 50))))
    except ValueError:
        return 50


@login_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    form = BulkActionForm(request.POST)
    back = reverse("contact_list") + ("?" + request.POST["query"] if request.POST.get("query") else "")
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(back)
    try:
        n = services.bulk_update_contacts(
            actor=request.user, contact_ids=form.cleaned_data["ids"], action=form.cleaned_data["action"],
            owner_id=form.cleaned_data.get("owner"), tag=form.cleaned_data.get("tag") or "",
        )
    except ValidationFailed as exc:
        messages.error(request, "; ".join(exc.errors.values()))
        return redirect(back)
    verb = dict(BulkActionForm.ACTIONS)[form.cleaned_data["action"]].lower()
    messages.success(request, f"Done: {verb} on {n} contact{'s' if n != 1 else ''}.")
    return redirect(back)


def _contact_form(request, *, instance=None, data=None):
    initial = None
    if instance is not None:
        initial = {
            **{f: getattr(instance, f) for f in ("first_name", "last_name", "email", "phone", "job_title",
                                                 "lifecycle_stage", "owner_id", "source", "street", "city",
                                                 "region", "postal_code", "country", "time_zone")},
            "owner": instance.owner_id, "company_name": instance.company.name if instance.company else "",
            "tags": ", ".join(selectors.contact_tags(instance)),
            **{f"cf_{k}": ("yes" if v is True else "no" if v is False else v) for k, v in instance.custom.items()},
        }
    else:
        initial = {"owner": request.user.pk, "lifecycle_stage": LifecycleStage.LEAD}
    owners = list(assignable_users(request.user))
    if instance is not None and instance.owner and instance.owner not in owners:
        owners.append(instance.owner)
    return ContactForm(data, initial=initial, owners=owners,
                       custom_fields=selectors.custom_field_definitions("contact"))


def _save_contact(request, form, contact=None):
    data = form.service_data()
    company_name = data.pop("company_name", "")
    try:
        data["company"] = services.company_named(actor=request.user, name=company_name)
        if contact is None:
            return services.create_contact(actor=request.user, data=data)
        if contact.owner_id == data.get("owner"):
            data.pop("owner")
        return services.update_contact(actor=request.user, contact=contact, data=data)
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return None


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    request.nav_section = "contacts"
    form = _contact_form(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        contact = _save_contact(request, form)
        if contact:
            messages.success(request, f"Contact {contact} created.")
            return redirect("contact_detail", contact_id=contact.pk)
    return render(request, "people/contact_form.html", {"form": form, "contact": None}, status=_status(request, form))


def _status(request, form) -> int:
    return 422 if request.method == "POST" and form.errors else 200


def _get_contact(request, contact_id):
    try:
        return selectors.get_contact(request.user, contact_id)
    except NotVisible as exc:
        raise Http404("No such contact") from exc


@login_required
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    request.nav_section = "contacts"
    contact = _get_contact(request, contact_id)
    form = _contact_form(request, instance=contact, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = _save_contact(request, form, contact)
        if saved:
            messages.success(request, "Changes saved.")
            return redirect("contact_detail", contact_id=contact.pk)
    return render(request, "people/contact_form.html", {"form": form, "contact": contact},
                  status=_status(request, form))


def _timeline_page(request: HttpRequest, timeline_selector, record_id: int):
    """One page of a record's timeline, filtered by ?kind= and paged by ?cursor=."""
    kind = request.GET.get("kind") or None
    try:
        page = timeline_selector(request.user, record_id, kind=kind, cursor=request.GET.get("cursor"))
    except ValidationFailed:
        raise Http404("No such timeline page") from None
    return page, kind or ""


def _render_record_page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """The whole page, or only the timeline when htmx asks for a kind filter or older events."""
    if request.htmx and request.htmx.target == "timeline-panel":
        return render(request, "timeline/_timeline.html", context)
    if request.htmx and request.htmx.target == "timeline-more":
        return render(request, "timeline/_events.html", context)
    return render(request, template, context)


@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    request.nav_section = "contacts"
    contact = _get_contact(request, contact_id)
    timeline, kind = _timeline_page(request, timeline_selectors.contact_timeline, contact.pk)
    context = {
        "contact": contact, "timeline": timeline, "kind": kind, "kinds": EventKind.choices,
        "tags": selectors.contact_tags(contact), "minutes": selectors.minutes_with_contact(contact),
        "custom": _custom_rows("contact", contact.custom), "audit": audit_history(contact),
        "activity_form": ActivityForm(), "log_url": reverse("contact_log_activity", args=[contact.pk]),
        "timeline_url": reverse("contact_detail", args=[contact.pk]),
        "purchases": order_selectors.contact_purchases(request.user, contact),
        "relationship": score_selectors.contact_relationship(request.user, contact),
    }
    return _render_record_page(request, "people/contact_detail.html", context)


def _custom_rows(entity: str, values: dict) -> list[tuple[str, object]]:
    rows = []
    for field in selectors.custom_field_definitions(entity):
        if field.key in values:
            value = values[field.key]
            rows.append((field.label, "Yes" if value is True else "No" if value is False else value))
    return rows


@login_required
@require_POST
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _get_contact(request, contact_id)
    services.delete_contact(actor=request.user, contact=contact)
    messages.success(request, f"{contact} moved to the trash. You can restore it from the Trash page.")
    return redirect("contact_list")


@login_required
@require_POST
def contact_restore(request: HttpRequest, contact_id: int) -> HttpResponse:
    try:
        contact = services.restore_contact(actor=request.user, contact_id=contact_id)
    except NotAllowed as exc:
        raise Http404("No such contact in the trash") from exc
    except ValidationFailed as exc:
        messages.error(request, "Could not restore: " + "; ".join(exc.errors.values()))
        return redirect("trash")
    messages.success(request, f"{contact} restored.")
    return redirect("contact_detail", contact_id=contact.pk)


# --- companies --------------------------------------------------------------------------------

@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "companies"
    params = {k: request.GET.get(k, "") for k in ("q", "owner", "industry", "country", "size_band", "sort")}
    params.update({k: v for k, v in request.GET.items() if k.startswith("cf_")})
    error = None
    try:
        page = selectors.list_companies(request.user, params, cursor=request.GET.get("cursor"),
                                        size=request_page_size(request))
        total, more = capped_count(selectors.filter_companies(request.user, params))
    except ValidationFailed as exc:
        page, total, more, error = None, 0, False, exc.errors
    return render(request, "people/company_list.html", {
        "page": page, "params": params, "error": error, "total": total, "more": more,
        "owners": visible_users(request.user), "base_query": _query_without(request, "cursor"),
        "filtered": any(v for k, v in params.items() if k != "sort" and v),
        "custom_fields": [(cf, params.get(f"cf_{cf.key}", ""))
                          for cf in selectors.custom_field_definitions("company")],
    })


def _get_company(request, company_id):
    try:
        return selectors.get_company(request.user, company_id)
    except NotVisible as exc:
        raise Http404("No such company") from exc


def _company_form(request, *, instance=None, data=None):
    if instance is not None:
        initial = {f: getattr(instance, f) for f in ("name", "domain", "industry", "size_band", "country", "notes")}
        initial["owner"] = instance.owner_id
        initial.update({f"cf_{k}": ("yes" if v is True else "no" if v is False else v)
                        for k, v in instance.custom.items()})
    else:
        initial = {"owner": request.user.pk}
    owners = list(assignable_users(request.user))
    if instance is not None and instance.owner and instance.owner not in owners:
        owners.append(instance.owner)
    return CompanyForm(data, initial=initial, owners=owners,
                       custom_fields=selectors.custom_field_definitions("company"))


@login_required
def company_create(request: HttpRequest) -> HttpResponse:
    request.nav_section = "companies"
    form = _company_form(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            company = services.create_company(actor=request.user, data=form.service_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Company {company} created.")
            return redirect("company_detail", company_id=company.pk)
    return render(request, "people/company_form.html", {"form": form, "company": None},
                  status=_status(request, form))


@login_required
def company_edit(request: HttpRequest, company_id: int) -> HttpResponse:
    request.nav_section = "companies"
    company = _get_company(request, company_id)
    form = _company_form(request, instance=company, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        if data.get("owner") == company.owner_id:
            data.pop("owner")
        try:
            services.update_company(actor=request.user, company=company, data=data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Changes saved.")
            return redirect("company_detail", company_id=company.pk)
    return render(request, "people/company_form.html", {"form": form, "company": company},
                  status=_status(request, form))


@login_required
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    request.nav_section = "companies"
    company = _get_company(request, company_id)
    timeline, kind = _timeline_page(request, timeline_selectors.company_timeline, company.pk)
    context = {
        "company": company, "timeline": timeline, "kind": kind, "kinds": EventKind.choices,
        "contacts": selectors.company_contacts(request.user, company), "audit": audit_history(company),
        "custom": _custom_rows("company", company.custom), "activity_form": ActivityForm(),
        "log_url": reverse("company_log_activity", args=[company.pk]),
        "timeline_url": reverse("company_detail", args=[company.pk]), "show_contact": True,
        "purchases": order_selectors.company_purchases(request.user, company),
        "relationship": score_selectors.company_relationship(request.user, company),
    }
    return _render_record_page(request, "people/company_detail.html", context)


@login_required
@require_POST
def company_delete(request: HttpRequest, company_id: int) -> HttpResponse:
    company = _get_company(request, company_id)
    services.delete_company(actor=request.user, company=company)
    messages.success(request, f"{company} moved to the trash.")
    return redirect("company_list")


@login_required
@require_POST
def company_restore(request: HttpRequest, company_id: int) -> HttpResponse:
    try:
        company = services.restore_company(actor=request.user, company_id=company_id)
    except NotAllowed as exc:
        raise Http404("No such company in the trash") from exc
    messages.success(request, f"{company} restored.")
    return redirect("company_detail", company_id=company.pk)


@login_required
def company_options(request: HttpRequest) -> HttpResponse:
    """<option>s for the company name box on contact forms (htmx autocomplete)."""
    q = request.GET.get("company_name", "")
    companies = selectors.search_companies(request.user, q) if len(q.strip()) >= 1 else []
    return render(request, "people/_company_options.html", {"companies": companies})
