"""E-mail pages: the team's templates, and writing to a contact from their page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed

from .. import merge_fields
from ..selectors import meetings as selectors
from ..services import mail as services
from .meeting_forms import ContactEmailForm, TemplateForm


def _template_or_404(request: HttpRequest, template_id: int):
    try:
        return selectors.get_template(request.user, template_id)
    except NotVisible as exc:
        raise Http404("No such template") from exc


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "templates"
    try:
        page = selectors.list_templates(request.user, cursor=request.GET.get("cursor") or None)
    except ValidationFailed as exc:
        raise Http404("No such page") from exc
    return render(request, "assistant/template_list.html", {"page": page, "fields": merge_fields.FIELDS})


def _template_page(request: HttpRequest, form: TemplateForm, template, status: int = 200) -> HttpResponse:
    request.nav_section = "templates"
    return render(request, "assistant/template_form.html", {"form": form, "template": template,
                                                            "fields": merge_fields.FIELDS}, status=status)


@login_required
def template_new(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_template(actor=request.user, data=form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("template_list")
    return _template_page(request, form, None, 422 if request.method == "POST" else 200)


@login_required
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template_or_404(request, template_id)
    form = TemplateForm(request.POST if request.method == "POST" else None, initial={
        "name": template.name, "subject": template.subject, "body": template.body, "sharing": template.sharing})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_template(actor=request.user, template=template, data=form.cleaned_data)
        except NotAllowed as exc:
            form.add_error(None, str(exc))
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Template saved.")
            return redirect("template_list")
    return _template_page(request, form, template, 422 if request.method == "POST" else 200)


@login_required
@require_POST
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template_or_404(request, template_id)
    try:
        services.delete_template(actor=request.user, template=template)
    except NotAllowed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Template “{template.name}” deleted.")
    return redirect("template_list")


@login_required
def contact_email(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Write to a contact. Picking a template (a GET, so it works with the keyboard and without
    JavaScript) fills the subject and text with its merge fields, still editable."""
    from rapport.people import selectors as people

    request.nav_section = "contacts"
    try:
        contact = people.get_contact(request.user, contact_id)
    except NotVisible as exc:
        raise Http404("No such contact") from exc
    templates = list(selectors.template_queryset(request.user).order_by("name")[:200])
    chosen = None
    initial = {}
    if request.method == "GET" and str(request.GET.get("template", "")).isdigit():
        chosen = next((t for t in templates if t.pk == int(request.GET["template"])), None)
        if chosen is not None:
            initial = {"template": chosen.pk, "subject": chosen.subject, "body": chosen.body}
    form = ContactEmailForm(request.POST if request.method == "POST" else None, initial=initial, templates=templates)
    if request.method == "POST" and form.is_valid():
        template = next((t for t in templates if t.pk == form.cleaned_data.get("template")), None)
        try:
            services.send_email_to_contact(actor=request.user, contact=contact, template=template,
                                           subject=form.cleaned_data["subject"], body=form.cleaned_data["body"])
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except services.MailNotSent as exc:
            form.add_error(None, f"The mail server did not accept the message ({exc.sent.error}). Nothing was "
                                 "logged on the timeline; your text is kept below, try again.")
        else:
            messages.success(request, f"E-mail sent to {contact.email} and logged on the timeline.")
            return redirect("contact_detail", contact_id=contact.pk)
    return render(request, "assistant/contact_email.html", {
        "contact": contact, "form": form, "fields": merge_fields.FIELDS,
        "recent": selectors.contact_emails(request.user, contact, limit=5)},
        status=422 if request.method == "POST" else 200)


urlpatterns = [
    path("email-templates/", template_list, name="template_list"),
    path("email-templates/new/", template_new, name="template_new"),
    path("email-templates/<int:template_id>/", template_edit, name="template_edit"),
    path("email-templates/<int:template_id>/delete/", template_delete, name="template_delete"),
    path("contacts/<int:contact_id>/email/", contact_email, name="contact_email"),
]
