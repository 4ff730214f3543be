from django.urls import path

from . import views

urlpatterns = [
    path("contacts/<int:contact_id>/activities/", views.contact_log_activity, name="contact_log_activity"),
    path("companies/<int:company_id>/activities/", views.company_log_activity, name="company_log_activity"),
]
