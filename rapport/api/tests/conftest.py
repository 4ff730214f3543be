"""API test helpers live in rapport.api.testing so every app's tests can use them."""

from rapport.api.testing import ApiClient, field_errors  # noqa: F401
