"""Forms of the deal pages. They parse and render; the deal services decide what is valid."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy

from rapport.web.forms import ServiceErrors

from ...models import DealRole


class DealErrors(ServiceErrors):
    def field_for_error(self, name: str) -> str | None:
        # A deal contact's error (contacts.3.role) belongs next to that contact's field.
        return name.split(".")[-1] if name.startswith("contacts.") else name


def _date_input() -> forms.DateInput:
    # Browsers send ISO dates (2026-12-31); anything typed by hand is judged by the service.
    return forms.DateInput(attrs={"type": "date"})


class DealForm(DealErrors, forms.Form):
    name = forms.CharField(label="Deal name", required=False, max_length=200)
    company_name = forms.CharField(
        label="Company", required=False, max_length=200,
        help_text="Type a company's name; a new name creates the company.",
        widget=forms.TextInput(attrs={
            "list": "company-options", "autocomplete": "off", "hx-get": reverse_lazy("company_options"),
            "hx-trigger": "input changed delay:250ms", "hx-target": "#company-options",
        }),
    )
    pipeline = forms.ChoiceField(label="Pipeline", required=False)
    stage = forms.ChoiceField(label="Stage", required=False, help_text="Blank: the pipeline's first stage.")
    owner = forms.TypedChoiceField(label="Owner", coerce=int, required=False)
    amount = forms.CharField(label="Amount", required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    currency = forms.CharField(label="Currency", required=False, max_length=10,
                               widget=forms.TextInput(attrs={"list": "currency-options", "size": 4,
                                                             "autocomplete": "off"}))
    expected_close_date = forms.CharField(label="Expected close date", required=False, widget=_date_input())
    probability = forms.CharField(label="Win probability (%)", required=False,
                                  help_text="Blank: the stage's default.",
                                  widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}))
    source = forms.CharField(label="Source", required=False, max_length=100)
    next_step = forms.CharField(label="Next step", required=False, max_length=200)
    next_step_date = forms.CharField(label="Next step date", required=False, widget=_date_input())

    def __init__(self, *args, pipelines=(), owners=(), amount_locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].choices = [(str(p.pk), p.name) for p in pipelines]
        self.fields["stage"].choices = [("", "—")] + [
            (p.name, [(str(s.pk), s.name) for s in p.stage_list]) for p in pipelines]
        self.fields["owner"].choices = [(u.pk, u.get_full_name() or u.username) for u in owners]
        if amount_locked:
            self.fields["amount"].disabled = True
            self.fields["amount"].help_text = "The sum of the line items; change those instead."
        self.amount_locked = amount_locked

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("company_name", None)
        if data.get("owner") in (None, ""):
            data.pop("owner", None)
        if self.amount_locked:
            data.pop("amount", None)
        if not data.get("currency"):
            data.pop("currency", None)
        return data


class LineItemForm(DealErrors, forms.Form):
    product = forms.ChoiceField(label="Product", required=False)
    description = forms.CharField(label="Description", required=False, max_length=300,
                                  help_text="Blank with a product: the product's name.")
    quantity = forms.CharField(label="Quantity", required=False, initial="1",
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}))
    unit_price = forms.CharField(label="Unit price", required=False,
                                 help_text="Blank with a product: the price book's price.",
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}))
    discount_percent = forms.CharField(label="Discount (%)", required=False,
                                       widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 4}))

    def __init__(self, *args, products=(), currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— a custom item —")]
        for product in products:
            price = next((p.unit_price for p in product.prices.all() if p.currency == currency), None)
            label = f"{product.sku} {product.name}" + (f" ({price.normalize():f} {currency})" if price is not None
                                                       else "")
            choices.append((str(product.pk), label))
        self.fields["product"].choices = choices

    def service_data(self) -> dict:
        # Blank means "not given": the service then prices from the book or keeps what is there.
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None)}


class LineEditForm(DealErrors, forms.Form):
    description = forms.CharField(label="Description", required=False, max_length=300)
    quantity = forms.CharField(label="Quantity", required=False,
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}))
    unit_price = forms.CharField(label="Unit price", required=False,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}))
    discount_percent = forms.CharField(label="Discount (%)", required=False,
                                       widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 4}))

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("unit_price") in ("", None):
            data.pop("unit_price")
        return data


class CloseForm(DealErrors, forms.Form):
    reason = forms.ChoiceField(label="Reason", required=False)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "— choose —")] + [(str(r.pk), r.label) for r in reasons]
        outcome = "won" if self.prefix == "win" else "lost"
        self.fields["reason"].label = f"Why it was {outcome}"
        self.fields["note"].label = f"Note on the {'win' if outcome == 'won' else 'loss'}"


ROLE_CHOICES = DealRole.choices
