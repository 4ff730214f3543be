"""Forms for contacts and companies. They parse and render; the services decide what is valid."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy

from rapport.core.errors import ValidationFailed

from .models import CustomField, CustomFieldType, LifecycleStage, SizeBand


def custom_form_field(field: CustomField) -> forms.Field:
    common = {"label": field.label, "required": False}
    if field.field_type == CustomFieldType.NUMBER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if field.field_type == CustomFieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.field_type == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in field.choices], **common)
    if field.field_type == CustomFieldType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("yes", "Yes"), ("no", "No")], **common)
    return forms.CharField(**common)


class ServiceForm(forms.Form):
    """A form whose cleaned data feeds a service; service errors land next to their fields."""

    custom_entity = ""

    def __init__(self, *args, custom_fields: list[CustomField] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_keys = []
        for field in custom_fields:
            name = f"cf_{field.key}"
            self.fields[name] = custom_form_field(field)
            self.custom_keys.append(field.key)

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("cf_")}
        if self.custom_keys:
            data["custom"] = {key: self.cleaned_data.get(f"cf_{key}") for key in self.custom_keys}
        return data

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, reason in exc.errors.items():
            name = f"cf_{field[7:]}" if field.startswith("custom.") else field
            self.add_error(name if name in self.fields else None, reason if name in self.fields else f"{field}: {reason}")


class ContactForm(ServiceForm):
    first_name = forms.CharField(label="First name", required=False, max_length=100)
    last_name = forms.CharField(label="Last name", required=False, max_length=100)
    email = forms.CharField(label="E-mail", required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(label="Phone", required=False, widget=forms.TextInput(attrs={"type": "tel"}))
    job_title = forms.CharField(label="Job title", required=False, max_length=150)
    company_name = forms.CharField(
        label="Company", required=False, max_length=200,
        help_text="Type a company's name; a new name creates the company.",
        widget=forms.TextInput(attrs={
            "list": "company-options", "autocomplete": "off", "hx-get": reverse_lazy("company_options"),
            "hx-trigger": "input changed delay:250ms", "hx-target": "#company-options",
        }),
    )
    lifecycle_stage = forms.ChoiceField(label="Lifecycle stage", choices=LifecycleStage.choices,
                                        initial=LifecycleStage.LEAD)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, required=False)
    source = forms.CharField(label="Source", required=False, max_length=100)
    tags = forms.CharField(label="Tags", required=False, help_text="Separate interests with commas")
    street = forms.CharField(label="Street", required=False, max_length=200)
    city = forms.CharField(label="City", required=False, max_length=100)
    region = forms.CharField(label="Region", required=False, max_length=100)
    postal_code = forms.CharField(label="Postal code", required=False, max_length=20)
    country = forms.CharField(label="Country (ISO code)", required=False, max_length=2)
    time_zone = forms.CharField(label="Time zone", required=False, max_length=64)

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(u.pk, u.get_full_name() or u.username) for u in owners]

    def service_data(self) -> dict:
        data = super().service_data()
        data["tags"] = [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()]
        if data.get("owner") in (None, ""):
            data.pop("owner", None)
        return data


class CompanyForm(ServiceForm):
    name = forms.CharField(label="Name", max_length=200, required=False)
    domain = forms.CharField(label="Domain", required=False, help_text="e.g. example.com")
    industry = forms.CharField(label="Industry", required=False, max_length=100)
    size_band = forms.ChoiceField(label="Size", required=False, choices=[("", "—")] + SizeBand.choices)
    country = forms.CharField(label="Country (ISO code)", required=False, max_length=2)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, required=False)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(u.pk, u.get_full_name() or u.username) for u in owners]

    def service_data(self) -> dict:
        data = super().service_data()
        if data.get("owner") in (None, ""):
            data.pop("owner", None)
        return data


class BulkActionForm(forms.Form):
    ACTIONS = [("assign_owner", "Assign owner"), ("add_tag", "Add tag"), ("delete", "Delete")]
    ids = forms.TypedMultipleChoiceField(coerce=int, required=True, error_messages={
        "required": "Select at least one contact."})
    action = forms.ChoiceField(choices=ACTIONS)
    owner = forms.IntegerField(required=False)
    tag = forms.CharField(required=False, max_length=60)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be posted; the service narrows them to what the user may see.
        self.fields["ids"].valid_value = lambda value: True
