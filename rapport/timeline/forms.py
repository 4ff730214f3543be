from django import forms

from rapport.core.errors import ValidationFailed

from .models import ACTIVITY_KINDS, CallOutcome, Direction


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=[(k.value, k.label) for k in ACTIVITY_KINDS])
    subject = forms.CharField(label="Subject", required=False, max_length=200)
    body = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    duration_minutes = forms.CharField(label="Minutes", required=False,
                                       widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}))
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "—")] + CallOutcome.choices)
    direction = forms.ChoiceField(label="Direction", required=False, choices=[("", "—")] + Direction.choices)
    occurred_at = forms.CharField(label="When", required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def service_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None)} | {"kind": self.cleaned_data["kind"]}

    def add_service_errors(self, exc: ValidationFailed) -> None:
        for field, reason in exc.errors.items():
            self.add_error(field if field in self.fields else None, reason)
