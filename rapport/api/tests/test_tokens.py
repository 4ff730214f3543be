"""Personal API tokens: hashed at rest, shown once, revocable, and the only key a script needs."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from rapport.api import selectors, services
from rapport.api.models import ApiToken
from rapport.core.errors import NotVisible, ValidationFailed


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def list_contacts(client: Client):
    return client.get("/api/v1/contacts", secure=True)


@pytest.mark.django_db
def test_only_the_hash_is_stored_and_the_token_is_greppable(seller):
    created = services.create_token(actor=seller, name="Newsletter sync")

    assert created.raw.startswith("rpt_")
    assert len(created.raw) >= 44  # "rpt_" + 40+ random characters
    row = ApiToken.objects.get(pk=created.token.pk)
    assert row.token_hash == hashlib.sha256(created.raw.encode()).hexdigest()
    assert row.prefix == created.raw[:12]
    stored = [str(v) for v in ApiToken.objects.filter(pk=row.pk).values().get().values()]
    assert created.raw not in stored
    assert all(created.raw[12:] not in value for value in stored)


@pytest.mark.django_db
def test_tokens_are_unique(seller):
    raws = {services.create_token(actor=seller, name=f"t{i}").raw for i in range(20)}
    assert len(raws) == 20


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_token_needs_a_sensible_name(seller, name):
    with pytest.raises(ValidationFailed) as exc:
        services.create_token(actor=seller, name=name)
    assert "name" in exc.value.errors
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_bearer_token_authenticates_as_its_user(seller, make_contact):
    make_contact(seller, first_name="Visible")
    raw = services.create_token(actor=seller, name="t").raw

    response = list_contacts(bearer(raw))

    assert response.status_code == 200
    assert [c["first_name"] for c in response.json()["items"]] == ["Visible"]


@pytest.mark.django_db
def test_missing_token_is_401_with_a_challenge(seller):
    response = list_contacts(Client())
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("header", [
    "Bearer rpt_not-a-real-token-at-all-0000000000000000000",
    "Bearer ",
    "Bearer something-without-our-prefix",
    "Token rpt_whatever",
    "Basic c2FtOnNlY3JldA==",
])
def test_wrong_or_malformed_tokens_are_401(seller, header):
    services.create_token(actor=seller, name="real one")
    response = Client(headers={"Authorization": header}).get("/api/v1/contacts", secure=True)
    assert response.status_code == 401


@pytest.mark.django_db
def test_revoked_token_is_401(seller):
    created = services.create_token(actor=seller, name="t")
    assert list_contacts(bearer(created.raw)).status_code == 200

    services.revoke_token(actor=seller, token_id=created.token.pk)

    assert list_contacts(bearer(created.raw)).status_code == 401
    assert ApiToken.objects.get(pk=created.token.pk).revoked_at is not None


@pytest.mark.django_db
def test_token_of_a_deactivated_user_is_401(seller):
    raw = services.create_token(actor=seller, name="t").raw
    seller.is_active = False
    seller.save()
    assert list_contacts(bearer(raw)).status_code == 401


@pytest.mark.django_db
def test_a_user_cannot_revoke_someone_elses_token(seller, other_seller):
    created = services.create_token(actor=seller, name="t")
    with pytest.raises(NotVisible):
        services.revoke_token(actor=other_seller, token_id=created.token.pk)
    assert ApiToken.objects.get(pk=created.token.pk).revoked_at is None


@pytest.mark.django_db
def test_last_used_is_recorded_at_most_once_a_minute(seller):
    created = services.create_token(actor=seller, name="t")
    client = bearer(created.raw)
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at is None

    list_contacts(client)
    first_use = ApiToken.objects.get(pk=created.token.pk).last_used_at
    assert first_use is not None

    recent = timezone.now() - dt.timedelta(seconds=30)
    ApiToken.objects.filter(pk=created.token.pk).update(last_used_at=recent)
    list_contacts(client)
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at == recent

    stale = timezone.now() - dt.timedelta(minutes=5)
    ApiToken.objects.filter(pk=created.token.pk).update(last_used_at=stale)
    list_contacts(client)
    assert ApiToken.objects.get(pk=created.token.pk).last_used_at > stale


@pytest.mark.django_db
def test_tokens_of_lists_only_the_users_own(seller, other_seller):
    mine = services.create_token(actor=seller, name="mine").token
    services.create_token(actor=other_seller, name="theirs")
    assert list(selectors.tokens_of(seller)) == [mine]


# --- the create_token command -----------------------------------------------------------------

@pytest.mark.django_db
def test_create_token_command_prints_a_working_token_once(seller):
    out, err = StringIO(), StringIO()
    call_command("create_token", "sam_seller", "--name", "CI sync", stdout=out, stderr=err)

    raw = out.getvalue().strip()
    token = ApiToken.objects.get(user=seller)
    assert token.name == "CI sync"
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in err.getvalue()
    assert list_contacts(bearer(raw)).status_code == 200


@pytest.mark.django_db
def test_create_token_command_default_name(seller):
    call_command("create_token", "sam_seller", stdout=StringIO(), stderr=StringIO())
    assert ApiToken.objects.get(user=seller).name == "command line"


@pytest.mark.django_db
def test_create_token_command_refuses_unknown_and_inactive_users(seller):
    with pytest.raises(CommandError, match="no user"):
        call_command("create_token", "nobody", stdout=StringIO(), stderr=StringIO())
    seller.is_active = False
    seller.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_token", "sam_seller", stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()
