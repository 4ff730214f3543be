"""The sales part of /api/v1/: one router per area, mounted together."""

from ninja import Router

from . import costs, deals, forecasts, orders, products, proposals

router = Router()
for area in (deals, products, orders, proposals, forecasts, costs):
    router.add_router("/", area.router)
