from .views import costs, deals, forecasts, orders, pipelines, products, proposals

urlpatterns = [
    *deals.urlpatterns,
    *pipelines.urlpatterns,
    *products.urlpatterns,
    *orders.urlpatterns,
    *proposals.urlpatterns,
    *forecasts.urlpatterns,
    *costs.urlpatterns,
]
