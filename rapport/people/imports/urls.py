from django.urls import path

from . import views

urlpatterns = [
    path("", views.import_start, name="import_start"),
    path("<int:job_id>/", views.import_job, name="import_job"),
    path("<int:job_id>/map/", views.import_map, name="import_map"),
    path("<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("<int:job_id>/rejects.csv", views.import_rejects, name="import_rejects"),
]
