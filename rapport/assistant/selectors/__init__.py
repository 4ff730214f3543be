"""Reads, filtered to what the user may see: the agenda, tasks, meetings and calendar feeds."""
