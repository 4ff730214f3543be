"""Lead capture pages: the public collector and forms (`public`), and their set-up (`builder`)."""

from django.urls import path

from . import builder, public

urlpatterns = [
    path("t/collect", public.collect, name="capture_collect"),
    path("f/<str:slug>/", public.public_form, name="capture_public_form"),
    path("f/<str:slug>/start", public.form_start, name="capture_form_start"),
    path("f/<str:slug>/thanks/", public.form_thanks, name="capture_form_thanks"),
    path("capture/", builder.capture_home, name="capture_home"),
    path("capture/forms/new/", builder.form_edit, name="capture_form_new"),
    path("capture/forms/<int:pk>/", builder.form_detail, name="capture_form_detail"),
    path("capture/forms/<int:pk>/edit/", builder.form_edit, name="capture_form_edit"),
    path("capture/sites/new/", builder.site_edit, name="capture_site_new"),
    path("capture/sites/<int:pk>/", builder.site_edit, name="capture_site_edit"),
]
