"""Fixtures shared by every app's tests: teams, users of each role, and record factories.

Records are made through the services, so tests exercise the same rules as the product.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAPPORT_DEBUG", "true")


@pytest.fixture(autouse=True)
def _own_media_folder(settings, tmp_path):
    # Each test keeps uploads and rejects files apart: parallel workers each have their own
    # database, so two of them can both make import job 1 and would share its rejects file.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is deliberately slow; tests that check hashing ask for it explicitly.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.Argon2PasswordHasher"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def teams(db):
    from rapport.core.models import Team

    return {"north": Team.objects.create(name="North"), "south": Team.objects.create(name="South")}


def _user(username, role, team, **extra):
    from django.contrib.auth import get_user_model

    from rapport.core.models import Profile

    user = get_user_model().objects.create_user(
        username=username, password="correct horse battery staple", email=f"{username}@example.com",
        first_name=username.split("_")[0].title(), **extra,
    )
    Profile.objects.filter(user=user).update(role=role, team=team)
    user.refresh_from_db()
    return user


@pytest.fixture
def admin_user(teams):
    return _user("ada_admin", "admin", teams["north"], is_staff=True, is_superuser=True)


@pytest.fixture
def manager(teams):
    return _user("mona_manager", "manager", teams["north"])


@pytest.fixture
def seller(teams):
    return _user("sam_seller", "seller", teams["north"])


@pytest.fixture
def teammate(teams):
    return _user("tia_seller", "seller", teams["north"])


@pytest.fixture
def other_seller(teams):
    """A seller in another team: must never see the north team's records."""
    return _user("otto_seller", "seller", teams["south"])


@pytest.fixture
def marketer(teams):
    return _user("mara_marketer", "marketer", teams["south"])


@pytest.fixture
def make_contact(db):
    from rapport.people import services

    counter = {"n": 0}

    def make(actor, **data):
        counter["n"] += 1
        data.setdefault("first_name", "Casey")
        data.setdefault("last_name", f"Customer{counter['n']}")
        data.setdefault("email", f"casey{counter['n']}@example.com")
        return services.create_contact(actor=actor, data=data)

    return make


@pytest.fixture
def make_company(db):
    from rapport.people import services

    counter = {"n": 0}

    def make(actor, **data):
        counter["n"] += 1
        data.setdefault("name", f"Acme {counter['n']}")
        data.setdefault("domain", f"acme{counter['n']}.example")
        return services.create_company(actor=actor, data=data)

    return make


@pytest.fixture
def api_as(db):
    """api_as(user) -> a client of /api/v1 acting as that user with a real personal token."""
    from rapport.api.testing import ApiClient

    return ApiClient
