from .views import deals, forecasts, orders, products, proposals

urlpatterns = [
    *deals.urlpatterns,
    *products.urlpatterns,
    *orders.urlpatterns,
    *proposals.urlpatterns,
    *forecasts.urlpatterns,
]
