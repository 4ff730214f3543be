from django.urls import path

from . import exports, views

urlpatterns = [
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/export/", exports.contact_export, name="contact_export"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/bulk/", views.contact_bulk, name="contact_bulk"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:contact_id>/restore/", views.contact_restore, name="contact_restore"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/export/", exports.company_export, name="company_export"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/options/", views.company_options, name="company_options"),
    path("companies/<int:company_id>/", views.company_detail, name="company_detail"),
    path("companies/<int:company_id>/edit/", views.company_edit, name="company_edit"),
    path("companies/<int:company_id>/delete/", views.company_delete, name="company_delete"),
    path("companies/<int:company_id>/restore/", views.company_restore, name="company_restore"),
]
