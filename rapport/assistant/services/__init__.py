"""Writes: tasks and rules in tasks.py/rules.py, meetings and e-mail in meetings.py/mail.py."""
