"""The assistant app's pages: one module of views per part."""

from .views import meetings, tasks

urlpatterns = [
    *meetings.urlpatterns,
    *tasks.urlpatterns,
]
