"""Pages for proposals: thin views over the proposals services and selectors."""

from __future__ import annotations

from django.urls import path  # noqa: F401

urlpatterns: list = []
