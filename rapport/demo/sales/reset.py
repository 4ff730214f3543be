"""Undo a demo load's sales data, leaving users' own records and the reference rows they use."""

from __future__ import annotations

from django.db import connection

from rapport.core.models import AuditEntry
from rapport.sales.models import (
    CostRate,
    Deal,
    DealContact,
    DealLineItem,
    ExchangeRate,
    Order,
    OrderLine,
    Pipeline,
    Product,
    ProductCategory,
    ProductPrice,
    Proposal,
    ProposalLine,
    Stage,
    Target,
)
from rapport.timeline.models import Activity, Event


def reset_sales(dataset, cursor) -> None:
    """Remove what `load_sales` wrote for this dataset. Users' own records stay: their deals and
    orders on demo contacts or companies lose the link (as the models' SET_NULL would), their
    events and activities on demo deals too; their roles on demo deals, and proposals and lines
    on demo deals, go with the deal (CASCADE). Reference rows the demo made go unless a user's
    record still uses them."""
    ranges, created = dataset.id_ranges, dataset.created
    q = connection.ops.quote_name

    def t(model) -> str:
        return q(model._meta.db_table)

    none = [0, -1]
    deal, order = ranges.get("deal"), ranges.get("order")
    contact, company = ranges.get("contact"), ranges.get("company")
    if deal:
        for model, own in ((Event, ranges.get("event")), (Activity, ranges.get("activity")), (Order, order)):
            cursor.execute(f"UPDATE {t(model)} SET deal_id = NULL WHERE deal_id BETWEEN %s AND %s "
                           "AND NOT (id BETWEEN %s AND %s)", [*deal, *(own or none)])
        cursor.execute(f"DELETE FROM {t(ProposalLine)} WHERE proposal_id IN "
                       f"(SELECT id FROM {t(Proposal)} WHERE deal_id BETWEEN %s AND %s)", deal)
        for model in (Proposal, DealLineItem, DealContact):
            cursor.execute(f"DELETE FROM {t(model)} WHERE deal_id BETWEEN %s AND %s", deal)
    if contact:
        cursor.execute(f"UPDATE {t(Order)} SET contact_id = NULL WHERE contact_id BETWEEN %s AND %s "
                       "AND NOT (id BETWEEN %s AND %s)", [*contact, *(order or none)])
        cursor.execute(f"DELETE FROM {t(DealContact)} WHERE contact_id BETWEEN %s AND %s", contact)
    if company:
        for model, own in ((Order, order), (Deal, deal)):
            cursor.execute(f"UPDATE {t(model)} SET company_id = NULL WHERE company_id BETWEEN %s AND %s "
                           "AND NOT (id BETWEEN %s AND %s)", [*company, *(own or none)])
    if order:
        cursor.execute(f"DELETE FROM {t(OrderLine)} WHERE order_id BETWEEN %s AND %s", order)
        cursor.execute(f"DELETE FROM {t(Order)} WHERE id BETWEEN %s AND %s", order)
    if deal:
        cursor.execute(f"DELETE FROM {t(Deal)} WHERE id BETWEEN %s AND %s", deal)
    for record_type, key in (("sales.deal", "deal"), ("sales.order", "order"), ("sales.proposal", "proposal")):
        if ranges.get(key):
            cursor.execute(f"DELETE FROM {t(AuditEntry)} WHERE record_type = %s AND record_id BETWEEN %s AND %s",
                           [record_type, *ranges[key]])

    products = set(created.get("products", []))
    if products:
        used = set()
        for model in (DealLineItem, ProposalLine, OrderLine):
            used |= set(model.objects.filter(product_id__in=products).values_list("product_id", flat=True))
        gone = products - used
        ProductPrice.objects.filter(product_id__in=gone).delete()
        Product.objects.filter(pk__in=gone).delete()
        AuditEntry.objects.filter(record_type="sales.product", record_id__in=gone).delete()
    categories = set(created.get("product_categories", []))
    if categories:
        used = set(Product.objects.filter(category_id__in=categories).values_list("category_id", flat=True))
        ProductCategory.objects.filter(pk__in=categories - used).delete()
    pipelines = set(created.get("pipelines", []))
    if pipelines:
        used = set(Deal.objects.filter(pipeline_id__in=pipelines).values_list("pipeline_id", flat=True))
        Stage.objects.filter(pipeline_id__in=pipelines - used).delete()
        Pipeline.objects.filter(pk__in=pipelines - used).delete()
    ExchangeRate.objects.filter(pk__in=created.get("exchange_rates", [])).delete()
    CostRate.objects.filter(pk__in=created.get("cost_rates", [])).delete()
    Target.objects.filter(pk__in=created.get("targets", [])).delete()
