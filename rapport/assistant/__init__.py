"""The seller's assistant: tasks and follow-up rules, the daily agenda, meetings and calendar feeds, reminders and e-mail."""
