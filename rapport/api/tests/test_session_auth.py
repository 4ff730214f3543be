"""A signed-in browser may use the API with its session, but writes must carry the CSRF token."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from rapport.people.models import Contact

NEW_CONTACT = {"first_name": "Ann", "email": "ann@example.com"}


def browser(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_session_reads_need_no_csrf_token(seller, make_contact):
    make_contact(seller, first_name="Seen")
    response = browser(seller).get("/api/v1/contacts", secure=True)
    assert response.status_code == 200
    assert [c["first_name"] for c in response.json()["items"]] == ["Seen"]


@pytest.mark.django_db
def test_session_post_without_csrf_token_is_refused(seller):
    response = browser(seller).post("/api/v1/contacts", NEW_CONTACT, content_type="application/json", secure=True)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Contact.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_session_patch_and_delete_without_csrf_token_are_refused(seller, make_contact, method):
    contact = make_contact(seller, first_name="Kept")
    client = browser(seller)
    url = f"/api/v1/contacts/{contact.pk}"
    if method == "patch":
        response = client.patch(url, {"first_name": "Changed"}, content_type="application/json", secure=True)
    else:
        response = client.delete(url, secure=True)
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Kept" and contact.deleted_at is None


@pytest.mark.django_db
def test_session_post_with_csrf_token_works(seller):
    client = browser(seller)
    secret = get_random_string(32)
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    response = client.post(
        "/api/v1/contacts", NEW_CONTACT, content_type="application/json", secure=True,
        headers={"X-CSRFToken": secret, "Referer": "https://testserver/contacts/"},
    )
    assert response.status_code == 201, response.content
    assert Contact.objects.get().created_by == seller


@pytest.mark.django_db
def test_anonymous_write_is_401_not_403():
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/contacts", NEW_CONTACT, content_type="application/json", secure=True)
    assert response.status_code == 401
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_bearer_writes_need_no_csrf_token(seller, api_as):
    # Tokens are not sent by browsers on their own, so CSRF does not apply to them.
    api = api_as(seller)
    api.client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {api.token.raw}"})
    assert api.post("/contacts", NEW_CONTACT).status_code == 201
