"""Forms of the meeting pages. They only collect text; the services judge it and their
errors are shown next to the field they concern."""

from __future__ import annotations

from django import forms

from rapport.web.forms import ServiceErrors

DURATIONS = [(15, "15 minutes"), (30, "30 minutes"), (45, "45 minutes"), (60, "1 hour"), (90, "1 hour 30"),
             (120, "2 hours"), (180, "3 hours"), (240, "4 hours")]
# Service field -> the form field where its error belongs.
ERROR_FIELDS = {"starts_at": "date", "ends_at": "duration_minutes", "organiser": None, "contact": None,
                "deal": None, "company": None, "status": None, "subject": "subject", "body": "body"}


class MeetingErrors(ServiceErrors):
    error_fields = ERROR_FIELDS


class MeetingForm(MeetingErrors, forms.Form):
    title = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs={"autofocus": True}))
    date = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.CharField(label="Starts at", required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.TypedChoiceField(label="Duration", choices=DURATIONS, coerce=int, initial=30)
    time_zone = forms.CharField(label="Time zone", max_length=64, required=False,
                                help_text="Invitations keep this zone, e.g. Europe/Paris")
    location = forms.CharField(max_length=300, required=False)
    video_url = forms.CharField(label="Video link", max_length=500, required=False,
                                widget=forms.URLInput(attrs={"placeholder": "https://"}))
    agenda = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attendee_contacts = forms.MultipleChoiceField(label="Contacts to invite", required=False,
                                                  widget=forms.CheckboxSelectMultiple)
    attendee_users = forms.MultipleChoiceField(label="Colleagues to invite", required=False,
                                               widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, contacts=(), users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendee_contacts"].choices = [
            (str(c.pk), f"{c} <{c.email}>" if c.email else f"{c} (no e-mail address)") for c in contacts]
        self.fields["attendee_users"].choices = [
            (str(u.pk), u.get_full_name() or u.username) for u in users]

    def service_data(self) -> dict:
        data = self.cleaned_data
        date, time = (data.get("date") or "").strip(), (data.get("start_time") or "").strip()
        starts = f"{date}T{time}" if date and time else (date or time)
        return {
            "title": data.get("title", ""), "starts_at": starts, "duration_minutes": data.get("duration_minutes"),
            "time_zone": data.get("time_zone", ""), "location": data.get("location", ""),
            "video_url": data.get("video_url", ""), "agenda": data.get("agenda", ""),
            "attendee_contacts": [int(v) for v in data.get("attendee_contacts", [])],
            "attendee_users": [int(v) for v in data.get("attendee_users", [])],
        }


class OutcomeForm(MeetingErrors, forms.Form):
    note = forms.CharField(label="How did it go?", required=False,
                           widget=forms.Textarea(attrs={"rows": 4, "autofocus": True}))
    next_step = forms.CharField(label="Next step", max_length=300, required=False)
    follow_up_on = forms.CharField(label="Follow up on", required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}),
                                   help_text="Give a date to get a task for the next step on that day")


class CancelForm(MeetingErrors, forms.Form):
    reason = forms.CharField(label="Reason (sent to no one; kept on the timeline)", max_length=300, required=False)


class TemplateForm(MeetingErrors, forms.Form):
    name = forms.CharField(max_length=120, required=False, widget=forms.TextInput(attrs={"autofocus": True}))
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 10}))
    sharing = forms.ChoiceField(label="Who may use it", choices=[("team", "My team"), ("owner", "Only me")])


class ContactEmailForm(MeetingErrors, forms.Form):
    template = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 12}))

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "— no template —")] + [(t.pk, t.name) for t in templates]
