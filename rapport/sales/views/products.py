"""Pages for products: thin views over the products services and selectors."""

from __future__ import annotations

from django.urls import path  # noqa: F401

urlpatterns: list = []
