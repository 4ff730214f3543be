"""The reports app's pages: the insights dashboards, the balanced scorecard and the scores' refreshes."""

from .views import analytics, scorecard, scores

urlpatterns = [
    *analytics.urlpatterns,
    *scorecard.urlpatterns,
    *scores.urlpatterns,
]
