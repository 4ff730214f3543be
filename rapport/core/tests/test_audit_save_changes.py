"""`audit.save_changes`: the one way services save an edit and log what really changed."""

from __future__ import annotations

import pytest

from rapport.assistant.services import mail
from rapport.core import audit
from rapport.core.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def test_an_edit_is_saved_and_logs_only_what_changed_and_nothing_when_nothing_did(seller):
    template = mail.create_template(actor=seller, data={"name": "Thanks", "subject": "Thanks", "body": "Hello"})
    stamped = template.updated_at
    changes = audit.save_changes(actor=seller, instance=template, values={"subject": "Thank you", "body": "Hello"},
                                 fields=["name", "subject", "body"], source="api")
    assert changes == {"subject": ["Thanks", "Thank you"]}
    template.refresh_from_db()
    assert template.subject == "Thank you" and template.updated_at >= stamped
    [entry] = AuditEntry.objects.filter(action=AuditAction.UPDATE, record_id=template.pk)
    assert entry.changes == {"subject": ["Thanks", "Thank you"]} and entry.source == "api"
    assert entry.actor_id == seller.pk and entry.record_type == "assistant.emailtemplate"

    assert audit.save_changes(actor=seller, instance=template, values={"subject": "Thank you"},
                              fields=["name", "subject", "body"]) == {}
    assert AuditEntry.objects.filter(action=AuditAction.UPDATE, record_id=template.pk).count() == 1
