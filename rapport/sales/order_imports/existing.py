"""Orders of a file that Rapport already has (the same external id): left alone when unchanged,
corrected through the order service when changed, refused when in the trash or hidden."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from rapport.core.errors import ValidationFailed

from ..models import Order, OrderLine
from ..selectors import orders as order_selectors
from ..services import orders as order_services

LOOKUP_CHUNK = 900
IN_TRASH = "an order with this id is in Rapport's trash; restore it (Orders → Deleted orders) to import it again"
HIDDEN = "an order with this id belongs to a customer you cannot see"


class KnownOrders:
    def __init__(self, actor, summary, column: Callable[[str], str]):
        self.actor, self.summary, self.column = actor, summary, column

    def find(self, external_ids: list[str]) -> dict[str, tuple[int, Any]]:
        """external id -> (order id, deleted_at) for those Rapport already has, whoever owns them."""
        found: dict[str, tuple[int, Any]] = {}
        table = connection.ops.quote_name(Order._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(external_ids), LOOKUP_CHUNK):
                part = external_ids[start:start + LOOKUP_CHUNK]
                cursor.execute(f"SELECT external_id, id, deleted_at FROM {table} WHERE external_id IN "
                               f"({', '.join(['%s'] * len(part))})", part)
                found.update({external_id: (order_id, deleted) for external_id, order_id, deleted in cursor.fetchall()})
        return found

    def settle(self, items: list[tuple], existing: dict[str, tuple[int, Any]]) -> list[tuple]:
        """Leave unchanged orders alone, correct changed ones; returns the rejected lines of the others.
        `items` are (draft, contact id, company id, owner id)."""
        rejected = []
        ids = [existing[item[0][1]][0] for item in items if existing[item[0][1]][1] is None]
        visible = set(order_selectors.order_queryset(self.actor).filter(pk__in=ids).values_list("pk", flat=True))
        stored = {}
        for order_id, *values in Order.objects.filter(pk__in=visible).values_list(
                "id", "contact_id", "company_id", "ordered_at", "channel", "currency"):
            stored[order_id] = (*values, [])
        for order_id, product_id, quantity, unit_price in OrderLine.objects.filter(order_id__in=visible).values_list(
                "order_id", "product_id", "quantity", "unit_price"):
            stored[order_id][5].append((product_id, quantity, unit_price))
        for draft, contact_id, company_id, _owner_id in items:
            order_id, deleted = existing[draft[1]]
            problem = None
            if deleted is not None:
                problem = (self.column("external_id"), IN_TRASH)
            elif order_id not in visible:
                problem = (self.column("external_id"), HIDDEN)
            elif self._same(draft, contact_id, company_id, stored[order_id]):
                self.summary.orders_unchanged += 1
            else:
                problem = self._correct(draft, contact_id, company_id)
            if problem:
                rejected.extend((number, *problem) for number in draft[2])
                self.summary.orders_rejected += 1
        return rejected

    @staticmethod
    def _same(draft: tuple, contact_id, company_id, stored: tuple) -> bool:
        stored_contact, stored_company, when, channel, currency, lines = stored
        wanted = sorted((product_id, Decimal(quantity), Decimal(price)) for product_id, quantity, price, _ in draft[11])
        return ((stored_contact, stored_company, when.isoformat(), channel, currency)
                == (contact_id, company_id, draft[6], draft[7], draft[8]) and sorted(lines) == wanted)

    def _correct(self, draft: tuple, contact_id, company_id) -> tuple[str, str] | None:
        """A changed order goes through the service: rare, and its rules (event in place, audit of
        old and new values) are better not written twice."""
        data = {"external_id": draft[1], "contact": contact_id, "company": company_id, "ordered_at": draft[6],
                "channel": draft[7], "currency": draft[8],
                "lines": [{"product": product_id, "quantity": quantity, "unit_price": price}
                          for product_id, quantity, price, _ in draft[11]]}
        try:
            with transaction.atomic():
                order_services.record_purchase(actor=self.actor, data=data, source="import")
        except ValidationFailed as exc:
            return ", ".join(exc.errors), "; ".join(exc.errors.values())
        self.summary.orders_updated += 1
        return None
