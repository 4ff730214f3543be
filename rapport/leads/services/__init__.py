"""Writes to leads: create, edit, qualify, convert to a deal, disqualify or nurture, reopen.

Callers import from here: `from rapport.leads.services import create_lead`.
"""

from .leads import LEAD_FIELDS, create_lead, record_lead_event, update_lead
from .outcomes import bulk_leads, convert_lead, deal_defaults, disqualify_lead, qualify_lead, reopen_lead
from .prospects import find_or_create_prospect

__all__ = [
    "LEAD_FIELDS", "bulk_leads", "convert_lead", "create_lead", "deal_defaults", "disqualify_lead",
    "find_or_create_prospect", "qualify_lead", "record_lead_event", "reopen_lead", "update_lead",
]
