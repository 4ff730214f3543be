"""Forms of the lead pages. They parse and render; the lead services decide what is valid."""

from __future__ import annotations

from django import forms

from rapport.sales.models import ProductCategory
from rapport.web.forms import ServiceErrors

from ..models import Authority, BudgetBand, LeadSource, PurchaseTimeline


class LeadErrors(ServiceErrors):
    """A contact's error on the lead form (`contact.email`) belongs next to its field (`email`)."""

    aliases: dict[str, str] = {}

    def field_for_error(self, name: str) -> str | None:
        return self.aliases.get(name, name)


def _choices(enum) -> list[tuple[str, str]]:
    return [(value, "—" if not value else label) for value, label in enum.choices]


class LeadFactsForm(LeadErrors, forms.Form):
    title = forms.CharField(label="What they asked about", required=False, max_length=200)
    source = forms.ChoiceField(label="Source", choices=LeadSource.choices, initial=LeadSource.MANUAL)
    campaign = forms.CharField(label="Campaign", required=False, max_length=200)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, required=False, empty_value=None,
                                   help_text="Blank: the routing rules choose.")
    budget_amount = forms.CharField(label="Budget", required=False,
                                    widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    budget_currency = forms.CharField(label="Currency", required=False, max_length=10,
                                      widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off"}),
                                      help_text="ISO code such as EUR; blank: the base currency.")
    budget_band = forms.ChoiceField(label="…or a budget band", required=False, choices=_choices(BudgetBand))
    authority = forms.ChoiceField(label="Authority (their part in the decision)", required=False,
                                  choices=_choices(Authority))
    need_categories = forms.MultipleChoiceField(label="Need: product categories", required=False)
    need = forms.CharField(label="Need in their words", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    timeline = forms.ChoiceField(label="Timeline (when they mean to buy)", required=False,
                                 choices=_choices(PurchaseTimeline))

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "— routing decides —")] + [
            (u.pk, u.get_full_name() or u.username) for u in owners]
        self.fields["need_categories"].choices = [(str(c.pk), c.name) for c in ProductCategory.objects.all()]

    def service_data(self) -> dict:
        """Only what the person filled in (blank optional fields are left to their defaults)."""
        data = {k: v for k, v in self.cleaned_data.items() if k in LEAD_DATA_FIELDS}
        if data.get("owner") is None:
            data.pop("owner", None)
        return data


LEAD_DATA_FIELDS = ("title", "source", "campaign", "owner", "budget_amount", "budget_currency", "budget_band",
                    "authority", "need_categories", "need", "timeline")


class NewLeadForm(LeadFactsForm):
    """The lead, and the person it is about: a contact picked beforehand, or an e-mail and names."""

    aliases = {"contact.email": "email", "contact.first_name": "first_name", "contact.last_name": "last_name",
               "company.name": "company_name", "contact": "email"}
    contact_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    email = forms.CharField(label="Contact's e-mail", required=False, max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}),
                            help_text="An existing contact with this e-mail gets the lead; otherwise one is created.")
    first_name = forms.CharField(label="First name", required=False, max_length=100)
    last_name = forms.CharField(label="Last name", required=False, max_length=100)
    company_name = forms.CharField(label="Company", required=False, max_length=200)

    field_order = ["contact_id", "email", "first_name", "last_name", "company_name", "title"]


class ConvertForm(LeadErrors, forms.Form):
    pipeline = forms.ChoiceField(label="Pipeline")
    name = forms.CharField(label="Deal name", required=False, max_length=200)
    amount = forms.CharField(label="Amount", required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                             help_text="Prefilled from the budget.")
    currency = forms.CharField(label="Currency", required=False, max_length=10,
                               widget=forms.TextInput(attrs={"size": 4}))
    expected_close_date = forms.CharField(label="Expected close date", required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, pipelines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = [(str(p.pk), p.name) for p in pipelines]


class DisqualifyForm(LeadErrors, forms.Form):
    reason = forms.ChoiceField(label="Reason", required=False)  # the service names a missing one
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Choose a reason…")] + [(str(r.pk), r.label) for r in reasons]
