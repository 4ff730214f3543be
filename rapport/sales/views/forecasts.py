"""Pages for forecasts: thin views over the forecasts services and selectors."""

from __future__ import annotations

from django.urls import path  # noqa: F401

urlpatterns: list = []
