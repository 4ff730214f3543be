"""Importing orders from shop and ERP exports: `rapport import orders FILE.csv` (see engine.py)."""

from .engine import OrderImportSummary, import_orders

__all__ = ["OrderImportSummary", "import_orders"]
