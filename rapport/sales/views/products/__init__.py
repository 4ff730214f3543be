"""Pages for the product catalogue, categories, exchange rates and cost rates."""

from __future__ import annotations

from django.urls import path

from . import catalogue, rates

urlpatterns = [
    path("products/", catalogue.product_list, name="product_list"),
    path("products/new/", catalogue.product_create, name="product_create"),
    path("products/trash/", catalogue.product_trash, name="product_trash"),
    path("products/categories/", catalogue.product_categories, name="product_categories"),
    path("products/categories/<int:category_id>/rename/", catalogue.product_category_rename,
         name="product_category_rename"),
    path("products/categories/<int:category_id>/delete/", catalogue.product_category_delete,
         name="product_category_delete"),
    path("products/exchange-rates/", rates.product_exchange_rates, name="product_exchange_rates"),
    path("products/exchange-rates/<int:rate_id>/delete/", rates.product_exchange_rate_delete,
         name="product_exchange_rate_delete"),
    path("products/cost-rates/", rates.product_cost_rates, name="product_cost_rates"),
    path("products/cost-rates/remove/", rates.product_cost_rate_remove, name="product_cost_rate_remove"),
    path("products/<int:product_id>/", catalogue.product_detail, name="product_detail"),
    path("products/<int:product_id>/edit/", catalogue.product_edit, name="product_edit"),
    path("products/<int:product_id>/active/", catalogue.product_set_active, name="product_set_active"),
    path("products/<int:product_id>/delete/", catalogue.product_delete, name="product_delete"),
    path("products/<int:product_id>/restore/", catalogue.product_restore, name="product_restore"),
]
