"""Fixtures of the assistant's tests. `smtp_server`: a real local SMTP server (see smtp.py)."""

from .smtp import smtp_server  # noqa: F401 - a fixture, offered to every test module here
