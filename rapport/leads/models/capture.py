"""Capture: web forms, their submissions, anonymous visitors and their page views."""

from __future__ import annotations
