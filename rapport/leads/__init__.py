"""Leads: capture (forms, tracking, API, import), anonymous to known, qualification, scoring, routing and hand-off."""
