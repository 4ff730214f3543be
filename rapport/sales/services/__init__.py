"""Sales writes, one module per area (deals, products, orders, proposals, forecasts/targets).

Import the area module: `from rapport.sales.services import deals as deal_services`."""
