"""Sales demo data: pipelines, products, deals, proposals and 24 months of orders that tell one
consistent, true story, so reports and the insights engine have something real to find.

- Catalogue (`catalogue.py`): "New business" (the installation's default), "Renewals" and
  "Upsell" pipelines with their stages; 51 products in 8 categories priced in EUR, USD and GBP
  (4 retired); monthly exchange rates for 24 months; a cost per hour for every role.
- Deals (`deals.py`), one per 8 contacts, owned like their contacts. New-business deals win with
  probability base x seller multiplier x source multiplier; every deal spends a lognormal time in
  each stage it passes, and its events, `stage_entered_at` and days-in-stage agree.
- Orders (`orders.py`): each customer (lifecycle stage customer, advocate or former customer, or
  the winner of a new-business deal) buys from a BG/NBD process with a Gamma-Gamma spend. Won
  deals are purchases: the new-business win is the customer's first purchase, won renewals
  (subscriptions) and upsells are some of their repeat purchases. Lifecycle stages follow: a
  customer with no purchase for a year becomes a former customer.
- Proposals for deals that reached the proposal stage: accepted (won), sent (open) or declined
  (lost), some with an earlier version superseded.

The drawn parameters are stored in `DemoDataset.parameters` (see `loader._parameters`).
Everything is drawn from the load's seed and "now": the same seed gives the same data.
"""

from .loader import SalesSummary, load_sales
from .reset import reset_sales

__all__ = ["SalesSummary", "load_sales", "reset_sales"]
