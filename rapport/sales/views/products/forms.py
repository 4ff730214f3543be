"""Forms of the product pages. They parse and render; the services decide what is valid.

The product form carries its price book as rows of (currency, unit price) inputs: plain text
boxes in tab order, so a price book is typed without touching the mouse. Service errors about
a price (`prices.<code>`) land on the row that typed that code.
"""

from __future__ import annotations

import re

from django import forms

from rapport.core.errors import ValidationFailed
from rapport.core.models import Role
from rapport.web.forms import ServiceErrors

BLANK_PRICE_ROWS = 3
MAX_PRICE_ROWS = 60
PRICE_ROW = re.compile(r"^price_currency_(\d+)$")
# How currencies.clean_currency's reasons begin: those belong on the currency box of a row.
CURRENCY_REASONS = ("unknown currency", "choose a currency", "a currency is")


def _currency_input() -> forms.TextInput:
    return forms.TextInput(attrs={"list": "currency-options", "autocomplete": "off", "size": 5,
                                  "autocapitalize": "characters", "spellcheck": "false"})


def _amount_input() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


class ProductForm(ServiceErrors, forms.Form):
    sku = forms.CharField(label="SKU", required=False, max_length=64,
                          widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    name = forms.CharField(label="Name", required=False, max_length=200)
    category = forms.TypedChoiceField(label="Category", required=False, coerce=int, empty_value=None)
    active = forms.BooleanField(label="Active (offered on new deals and orders)", required=False, initial=True)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, categories=(), prices: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + [(c.pk, c.name) for c in categories]
        if self.is_bound:
            indexes = [int(m.group(1)) for key in self.data if (m := PRICE_ROW.match(key))]
            # One empty row more than was posted, so a form sent back with errors has room.
            rows = min(max(indexes, default=-1) + 2, MAX_PRICE_ROWS)
        else:
            rows = len(prices or {}) + BLANK_PRICE_ROWS
            for i, (code, amount) in enumerate((prices or {}).items()):
                self.initial[f"price_currency_{i}"] = code
                self.initial[f"price_amount_{i}"] = amount
        self.price_row_count = rows
        for i in range(rows):
            self.fields[f"price_currency_{i}"] = forms.CharField(
                label=f"Currency, price {i + 1}", required=False, max_length=10, widget=_currency_input())
            self.fields[f"price_amount_{i}"] = forms.CharField(
                label=f"Unit price, price {i + 1}", required=False, max_length=40, widget=_amount_input())

    def main_fields(self):
        return [self[name] for name in ("sku", "name", "category", "active", "description")]

    def price_rows(self):
        return [(self[f"price_currency_{i}"], self[f"price_amount_{i}"]) for i in range(self.price_row_count)]

    def clean(self):
        cleaned = super().clean()
        self.prices: dict[str, str] = {}
        self._row_of: dict[str, int] = {}
        seen: dict[str, int] = {}
        for i in range(self.price_row_count):
            code = (cleaned.get(f"price_currency_{i}") or "").strip()
            amount = (cleaned.get(f"price_amount_{i}") or "").strip()
            if not code and not amount:
                continue  # a cleared row: that currency is no longer offered
            if not code:
                self.add_error(f"price_currency_{i}", "choose a currency for this price")
                continue
            if not amount:
                self.add_error(f"price_amount_{i}", f"enter the {code.upper()} price, or clear the currency")
                continue
            if code.upper() in seen:
                self.add_error(f"price_currency_{i}", f"{code.upper()} is already priced above")
                continue
            seen[code.upper()] = i
            self.prices[code] = amount
            self._row_of[code[:10]] = i
        return cleaned

    def service_data(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in ("sku", "name", "category", "active", "description")}
        data["prices"] = dict(self.prices)
        return data

    def add_service_errors(self, exc: ValidationFailed) -> None:
        other = {}
        for field, reason in exc.errors.items():
            if field.startswith("prices.") and field[7:] in self._row_of:
                i = self._row_of[field[7:]]
                is_currency = reason.startswith(CURRENCY_REASONS)
                self.add_error(f"price_currency_{i}" if is_currency else f"price_amount_{i}", reason)
            else:
                other[field] = reason
        super().add_service_errors(ValidationFailed(other))


class CategoryForm(ServiceErrors, forms.Form):
    name = forms.CharField(label="Category name", required=False, max_length=100)


class ExchangeRateForm(ServiceErrors, forms.Form):
    currency = forms.CharField(label="Currency", required=False, max_length=10, widget=_currency_input())
    rate = forms.CharField(label="Rate", required=False, max_length=40,
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    valid_from = forms.CharField(label="Valid from", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, base: str = "EUR", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rate"].help_text = f"How many {base} one unit of the currency is worth"


class CostRateForm(ServiceErrors, forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    cost_per_hour = forms.CharField(label="Cost per hour", required=False, max_length=40, widget=_amount_input())
    currency = forms.CharField(label="Currency", required=False, max_length=10, widget=_currency_input())
