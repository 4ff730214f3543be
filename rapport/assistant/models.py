"""The assistant's records: tasks, follow-up rules, cadences, meetings and calendar feeds."""

from __future__ import annotations
