"""The reports app's pages: the insights dashboards and the balanced scorecard."""

from .views import analytics, scorecard

urlpatterns = [
    *analytics.urlpatterns,
    *scorecard.urlpatterns,
]
