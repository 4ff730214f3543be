"""Settings → API tokens in the web UI, and the admin's view of tokens."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rapport.api import services
from rapport.api.models import ApiToken

pytestmark = pytest.mark.django_db

URL = "/settings/api-tokens/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_url_name():
    assert reverse("api_tokens") == URL


def test_anonymous_is_sent_to_log_in():
    response = Client().get(URL, secure=True)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_page_lists_own_tokens_without_secrets(seller, other_seller):
    mine = services.create_token(actor=seller, name="Newsletter sync")
    theirs = services.create_token(actor=other_seller, name="Their robot")
    response = signed_in(seller).get(URL, secure=True)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Newsletter sync" in html and mine.token.prefix in html
    assert mine.raw not in html and mine.token.token_hash not in html
    assert "Their robot" not in html and theirs.token.prefix not in html
    assert "Token name" in html and "Create token" in html


def test_empty_page_explains_next_step(seller):
    html = signed_in(seller).get(URL, secure=True).content.decode()
    assert "No tokens yet" in html


def test_create_shows_the_token_once(seller):
    client = signed_in(seller)
    response = client.post(URL, {"name": "Zapier"}, secure=True)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=seller)
    raw = response.context["new_token"].raw
    assert raw.startswith("rpt_") and raw in response.content.decode()
    assert token.name == "Zapier"
    # The shown token works, and is not shown again.
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/contacts", secure=True).status_code == 200
    assert raw not in client.get(URL, secure=True).content.decode()


def test_create_without_a_name_shows_the_error(seller):
    response = signed_in(seller).post(URL, {"name": "  "}, secure=True)
    assert response.status_code == 422
    assert "give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_create_needs_csrf(seller):
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller)
    assert client.post(URL, {"name": "x"}, secure=True).status_code == 403
    assert not ApiToken.objects.exists()


def test_revoke(seller):
    created = services.create_token(actor=seller, name="Old")
    client = signed_in(seller)
    response = client.post(reverse("revoke_api_token", args=[created.token.pk]), secure=True)
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=created.token.pk).revoked_at is not None
    assert "revoked" in client.get(URL, secure=True).content.decode()
    api = Client(headers={"Authorization": f"Bearer {created.raw}"})
    assert api.get("/api/v1/contacts", secure=True).status_code == 401


def test_revoke_is_post_only_and_own_tokens_only(seller, other_seller):
    theirs = services.create_token(actor=other_seller, name="Theirs")
    client = signed_in(seller)
    url = reverse("revoke_api_token", args=[theirs.token.pk])
    assert client.get(url, secure=True).status_code == 405
    assert client.post(url, secure=True).status_code == 404
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None


def test_admin_lists_tokens_without_the_hash_and_cannot_add(admin_user, seller):
    created = services.create_token(actor=seller, name="Visible to admin")
    client = signed_in(admin_user)
    listing = client.get("/admin/api/apitoken/", secure=True)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Visible to admin" in html and created.token.token_hash not in html
    change = client.get(f"/admin/api/apitoken/{created.token.pk}/change/", secure=True)
    assert change.status_code == 200 and created.token.token_hash not in change.content.decode()
    assert client.get("/admin/api/apitoken/add/", secure=True).status_code == 403
