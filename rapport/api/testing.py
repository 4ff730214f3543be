"""Helpers for tests of any app's API: a client with a real personal token, and the 422 shape.

Importable from every app's tests (`from rapport.api.testing import field_errors`); the root
conftest offers `api_as` as a fixture.
"""

from __future__ import annotations

from django.test import Client

from rapport.api import services


class ApiClient:
    """JSON in, JSON out, with `Authorization: Bearer` for the given user."""

    def __init__(self, user):
        self.token = services.create_token(actor=user, name="tests")
        self.client = Client(headers={"Authorization": f"Bearer {self.token.raw}"})

    # secure=True: the suite runs with production settings, which redirect plain HTTP to HTTPS.
    def get(self, path, params=None):
        return self.client.get(f"/api/v1{path}", params or {}, secure=True)

    def post(self, path, data):
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", secure=True)

    def patch(self, path, data):
        return self.client.patch(f"/api/v1{path}", data, content_type="application/json", secure=True)

    def put(self, path, data):
        return self.client.put(f"/api/v1{path}", data, content_type="application/json", secure=True)

    def delete(self, path):
        return self.client.delete(f"/api/v1{path}", secure=True)


def field_errors(response) -> dict[tuple, str]:
    """{loc tuple: msg} of a 422 reply, checking it has the one error shape clients rely on."""
    assert response.status_code == 422, response.content
    body = response.json()
    assert isinstance(body["detail"], list) and body["detail"], body
    for item in body["detail"]:
        assert set(item) == {"loc", "msg", "type"}, item
    return {tuple(item["loc"]): item["msg"] for item in body["detail"]}
