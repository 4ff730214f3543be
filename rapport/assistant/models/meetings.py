"""Meetings, e-mail templates and sent messages, calendar feed tokens."""

from __future__ import annotations
