"""Reads for products, always narrowed to what the acting user may see."""

from __future__ import annotations
