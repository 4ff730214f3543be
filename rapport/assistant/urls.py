"""The assistant app's pages: one module of views per part."""

from .views import cadences, follow_up_rules, meetings, task_page, tasks

urlpatterns = [
    *meetings.urlpatterns,
    *tasks.urlpatterns,
    *task_page.urlpatterns,
    *cadences.urlpatterns,
    *follow_up_rules.urlpatterns,
]
