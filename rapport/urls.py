from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("rapport.api.urls")),
    path("settings/", include("rapport.api.web_urls")),
    path("", include("rapport.people.urls")),
    path("import/", include("rapport.people.imports.urls")),
    path("", include("rapport.timeline.urls")),
    path("", include("rapport.sales.urls")),
    path("", include("rapport.leads.urls")),
    path("", include("rapport.assistant.urls")),
    path("", include("rapport.reports.urls")),
    path("", include("rapport.web.urls")),
]
