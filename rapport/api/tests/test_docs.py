"""The OpenAPI description and the interactive docs page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

EXPECTED_PATHS = {
    "/api/v1/contacts": {"get", "post"},
    "/api/v1/contacts/{contact_id}": {"get", "patch", "delete"},
    "/api/v1/companies": {"get", "post"},
    "/api/v1/companies/{company_id}": {"get", "patch", "delete"},
    "/api/v1/activities": {"post"},
    "/api/v1/activities/{activity_id}": {"get", "patch", "delete"},
    "/api/v1/events": {"get"},
    "/api/v1/search": {"get"},
}


@pytest.mark.django_db
def test_openapi_json_lists_every_path_and_the_bearer_scheme():
    response = Client().get("/api/v1/openapi.json", secure=True)
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Rapport API"
    assert schema["info"]["version"] == "1"
    for path, methods in EXPECTED_PATHS.items():
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) == methods, path
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())


@pytest.mark.django_db
def test_openapi_documents_that_inputs_reject_unknown_fields():
    schemas = Client().get("/api/v1/openapi.json", secure=True).json()["components"]["schemas"]
    for name in ("ContactCreate", "ContactUpdate", "CompanyCreate", "ActivityCreate"):
        assert schemas[name].get("additionalProperties") is False, name
        assert "team" not in schemas[name]["properties"]
        assert "created_by" not in schemas[name]["properties"]


@pytest.mark.django_db
def test_docs_page_renders_within_the_content_security_policy():
    response = Client().get("/api/v1/docs", secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    # Every executable script is a same-origin file; the only inline <script> is JSON data,
    # which browsers do not execute and CSP does not govern.
    for attrs, _body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        assert 'src="/static/' in attrs or 'type="application/json"' in attrs, attrs
    assert "style=" not in html


@pytest.mark.django_db
def test_swagger_assets_are_served():
    client = Client()
    for asset in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        response = client.get(f"/static/{asset}", secure=True)
        assert response.status_code == 200, asset
