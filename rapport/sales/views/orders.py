"""Pages for orders: thin views over the orders services and selectors."""

from __future__ import annotations

from django.urls import path  # noqa: F401

urlpatterns: list = []
