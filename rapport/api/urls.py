"""/api/v1/ (included by rapport/urls.py)."""

from django.urls import path

from .api import api

urlpatterns = [path("", api.urls)]
