from .views import deals, forecasts, orders, pipelines, products, proposals

urlpatterns = [
    *deals.urlpatterns,
    *pipelines.urlpatterns,
    *products.urlpatterns,
    *orders.urlpatterns,
    *proposals.urlpatterns,
    *forecasts.urlpatterns,
]
