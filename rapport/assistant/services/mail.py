"""E-mail: handing messages to the configured SMTP server and logging each one, calendar
messages (invitation, update, cancellation), e-mail to a contact from a template, and the
templates themselves.

Sending is never inside the database transaction that made the change: an SMTP server that is
slow or down must not hold locks or roll back a scheduled meeting. Every attempt leaves a
`SentEmail` row, failed or not, so nothing is lost silently.
"""

from __future__ import annotations

import smtplib
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core import audit
from rapport.core.errors import NotAllowed, ValidationFailed
from rapport.core.models import AuditAction
from rapport.core.visibility import is_admin, team_id_for_owner

from .. import merge_fields
from ..models import EmailTemplate, MailKind, MailStatus, SentEmail, TemplateSharing

TEMPLATE_FIELDS = ["name", "subject", "body", "owner", "team", "sharing"]
LIMITS = {"name": 120, "subject": 200, "body": 20000}


class MailNotSent(Exception):
    """The mail server refused the message or could not be reached; `sent` is the logged attempt."""

    def __init__(self, sent: SentEmail):
        self.sent = sent
        super().__init__(f"the message to {sent.to_address} was not sent: {sent.error}")


def display_name(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def from_address(sender=None) -> str:
    """Rapport's sending address, shown with the person it sends for ("Sam Seller via Rapport")."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if sender is not None:
        name = f"{display_name(sender)} via {name or 'Rapport'}"
    return formataddr((name, address))


def reply_to(sender) -> list[str]:
    return [formataddr((display_name(sender), sender.email))] if sender is not None and sender.email else []


class CalendarMessage(EmailMultiAlternatives):
    """A text body with the iCalendar document as an alternative part
    (text/calendar; method=REQUEST or CANCEL), which calendar clients act on, and the same
    document attached as invite.ics for clients that only look at attachments."""

    def __init__(self, *, method: str, ics: bytes, **kwargs: Any):
        super().__init__(**kwargs)
        self.calendar_method = method
        self.attach_alternative(ics.decode("utf-8"), "text/calendar")
        self.attach("invite.ics", ics, "application/ics")

    def message(self, *args: Any, **kwargs: Any):
        msg = super().message(*args, **kwargs)
        # Django writes "text/calendar; charset=utf-8"; iTIP clients also need the method here.
        for part in msg.walk():
            if part.get_content_type() == "text/calendar" and part.get_filename() is None:
                part.set_param("method", self.calendar_method)
        return msg


def open_connection():
    """One SMTP connection for a batch (an invitation to eight people is one conversation)."""
    return get_connection(fail_silently=False)


def deliver(message: EmailMessage, *, kind: str, body: str = "", sender=None, recipient_user=None, contact=None,
            meeting=None, template=None, dedupe_key: str = "") -> SentEmail | None:
    """Send one message and log the attempt. Returns the log row; its status says what happened.

    With a `dedupe_key` (background sends: reminders, digests) the log row is written first, as
    sent, and the database's unique key on sent rows lets only one worker through: two workers
    running the same job at once send the message once, and the other gets None. Should the
    mail server refuse it, the row becomes a failure and gives its key back, so the next run
    tries again. (A process that dies between the two steps leaves the message unsent: at most
    once, which for a reminder is better than twice.)
    """
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or None
    message.extra_headers.setdefault("Message-ID", make_msgid(domain=domain))
    row = SentEmail(
        kind=kind, status=MailStatus.SENT, sender=sender, recipient_user=recipient_user, contact=contact,
        meeting=meeting, template=template, to_address=", ".join(message.to)[:254],
        subject=str(message.subject)[:300], body=body or str(message.body),
        message_id=message.extra_headers["Message-ID"], dedupe_key=dedupe_key,
    )
    if dedupe_key:
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            return None  # another worker holds this key: it sends the message
    error = ""
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
    if error:
        row.status, row.error, row.dedupe_key = MailStatus.FAILED, error, ""
    row.save()
    return row


def already_sent(dedupe_key: str) -> bool:
    return SentEmail.objects.filter(dedupe_key=dedupe_key, status=MailStatus.SENT).exists()


# --- templates ------------------------------------------------------------------------------

def _clean_template(data: dict[str, Any], *, instance: EmailTemplate | None) -> dict[str, Any]:
    allowed = {"name", "subject", "body", "sharing"}
    errors = {name: "unknown field" for name in set(data) - allowed}
    cleaned: dict[str, Any] = {}
    for name, limit in LIMITS.items():
        if name in data or instance is None:
            value = str(data.get(name) or "").strip()
            if not value:
                errors[name] = {"name": "give the template a name", "subject": "a template needs a subject",
                                "body": "write the template's text"}[name]
            elif len(value) > limit:
                errors[name] = f"at most {limit} characters"
            cleaned[name] = value
    if "sharing" in data:
        if data["sharing"] not in TemplateSharing.values:
            errors["sharing"] = "choose owner (only you) or team (your team)"
        cleaned["sharing"] = data["sharing"]
    for name in ("subject", "body"):
        if name in cleaned and name not in errors:
            found = merge_fields.problems(cleaned[name])
            if found:
                errors[name] = "; ".join(dict.fromkeys(found))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def check_may_change_template(actor, template: EmailTemplate) -> None:
    """Teammates use a shared template; only its owner (or an admin) changes or deletes it."""
    if template.owner_id != actor.pk and not is_admin(actor):
        raise NotAllowed("only the person who made this template may change it; make a copy instead")


@transaction.atomic
def create_template(*, actor, data: dict[str, Any], source: str = "web") -> EmailTemplate:
    """A template owned by the actor, shared with their team unless they choose otherwise."""
    cleaned = _clean_template(data, instance=None)
    template = EmailTemplate.objects.create(created_by=actor, owner=actor, team_id=team_id_for_owner(actor),
                                            **cleaned)
    audit.audit_created(actor=actor, instance=template, fields=TEMPLATE_FIELDS, source=source)
    return template


@transaction.atomic
def update_template(*, actor, template: EmailTemplate, data: dict[str, Any], source: str = "web") -> EmailTemplate:
    check_may_change_template(actor, template)
    audit.save_changes(actor=actor, instance=template, values=_clean_template(data, instance=template),
                       fields=TEMPLATE_FIELDS, source=source)
    return template


@transaction.atomic
def delete_template(*, actor, template: EmailTemplate, source: str = "web") -> EmailTemplate:
    check_may_change_template(actor, template)
    template.deleted_at = timezone.now()
    template.save(update_fields=["deleted_at"])
    audit.audit(actor=actor, action=AuditAction.DELETE, instance=template, source=source)
    return template


# --- e-mail to a contact --------------------------------------------------------------------

def merge_values_for(actor, contact) -> merge_fields.MergeValues:
    """What each merge field says for this contact (the last purchase read as the actor sees it)."""
    from rapport.sales.selectors import orders

    last = orders.contact_purchases(actor, contact, limit=0).last_purchased
    owner = contact.owner
    return merge_fields.MergeValues(
        first_name=contact.first_name, last_name=contact.last_name,
        name=" ".join(p for p in (contact.first_name, contact.last_name) if p),
        company=contact.company.name if contact.company_id else "",
        last_purchase=f"{last.day} {last:%B %Y}" if last else "",
        owner=display_name(owner) if owner else "", sender=display_name(actor),
    )


def _empty_fields(texts: dict[str, str], values: merge_fields.MergeValues, contact) -> dict[str, str]:
    """A merge field this contact has no value for would leave a hole ("Dear ,"): refuse it."""
    errors = {}
    for field_name, text in texts.items():
        empty = [m.group(0) for m in merge_fields.PLACEHOLDER.finditer(text)
                 if m.group(1) in merge_fields.FIELDS and not getattr(values, m.group(1))]
        if empty:
            errors[field_name] = (f"{', '.join(dict.fromkeys(empty))} would be empty for {contact}; "
                                  "fill it in on the contact or write the text without it")
    return errors


def compose_for_contact(*, actor, contact, subject: str, body: str) -> tuple[str, str]:
    """The subject and body with the contact's merge fields filled in, or ValidationFailed."""
    errors = {}
    if not (subject or "").strip():
        errors["subject"] = "an e-mail needs a subject"
    elif len(subject) > LIMITS["subject"]:
        errors["subject"] = f"at most {LIMITS['subject']} characters"
    if not (body or "").strip():
        errors["body"] = "write the message"
    elif len(body) > LIMITS["body"]:
        errors["body"] = f"at most {LIMITS['body']} characters"
    if not contact.email:
        errors["contact"] = f"{contact} has no e-mail address; add one on their page first"
    if errors:
        raise ValidationFailed(errors)
    merge_fields.check({"subject": subject, "body": body})
    values = merge_values_for(actor, contact)
    empty = _empty_fields({"subject": subject, "body": body}, values, contact)
    if empty:
        raise ValidationFailed(empty)
    return merge_fields.fill(subject.strip(), values), merge_fields.fill(body, values)


def send_email_to_contact(*, actor, contact, subject: str, body: str, template: EmailTemplate | None = None,
                          source: str = "web") -> SentEmail:
    """Fill in the merge fields, send through SMTP and log the message (with its body) on the
    contact's timeline. The caller fetched `contact` (and `template`) through selectors taking
    the actor. A refused message raises MailNotSent and is logged as failed, not on the timeline."""
    from rapport.leads.capture.identity import tracked_links_in
    from rapport.timeline import services as timeline

    final_subject, final_body = compose_for_contact(actor=actor, contact=contact, subject=subject, body=body)
    # Links to our tracked sites carry the contact's signed token: whoever follows one is known
    # on arrival. The timeline keeps the words as written, without the tokens.
    sent_body = tracked_links_in(final_body, contact)
    message = EmailMessage(subject=final_subject, body=sent_body, from_email=from_address(actor),
                           to=[formataddr((str(contact), contact.email))], reply_to=reply_to(actor))
    sent = deliver(message, kind=MailKind.CONTACT, body=sent_body, sender=actor, contact=contact, template=template)
    if sent.status != MailStatus.SENT:
        raise MailNotSent(sent)
    with transaction.atomic():
        timeline.log_activity(actor=actor, contact=contact, source=source, data={
            "kind": "email", "subject": final_subject, "body": final_body, "direction": "outbound"})
    return sent
