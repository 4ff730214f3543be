"""The leads app's pages: one module of views per part."""

from .views import capture, leads, routing, scoring

urlpatterns = [
    *capture.urlpatterns,
    *leads.urlpatterns,
    *routing.urlpatterns,
    *scoring.urlpatterns,
]
