"""Scoring: the ideal-customer fit rules, engagement settings and trained predictive models."""

from __future__ import annotations
