"""Writes for orders (what customers actually bought): validate, audit and record the purchase
event in one transaction.

An order comes from a won deal, the API or a file import; the rules are the same for all three.
Its owner and team are those of the customer (the contact, or the company when there is no
contact) when it is recorded, and each order is exactly one "purchase" event on the customer's
timeline.

Shops and ERPs re-send orders: on retries, and when an order changes after it was placed
(a line cancelled, a quantity corrected). So an order carrying an `external_id` that Rapport
already has is an upsert: the same content again changes nothing (no second order, no second
event), different content replaces the order's content, updates its purchase event in place (it
stays one event per order) and leaves an audit entry with the old and new values. Refusing a
changed order (409) would leave the integration no way to correct it; creating a second one
would count the purchase twice.

values.py judges single values (shared with the file importer), cleaning.py a whole order's
input, purchases.py writes.
"""

from .purchases import (
    Recorded,
    WonDealOrder,
    create_order_for_won_deal,
    delete_order,
    purchase_event,
    record_purchase,
    restore_order,
)
from .values import (
    CHANNEL_LABELS,
    EXTERNAL_ID_LIMIT,
    check_not_future,
    clean_quantity,
    line_total,
    parse_ordered_at,
    purchase_payload,
    purchase_summary,
)

__all__ = [
    "CHANNEL_LABELS", "EXTERNAL_ID_LIMIT", "Recorded", "WonDealOrder", "check_not_future", "clean_quantity",
    "create_order_for_won_deal", "delete_order", "line_total", "parse_ordered_at", "purchase_event",
    "purchase_payload", "purchase_summary", "record_purchase", "restore_order",
]
